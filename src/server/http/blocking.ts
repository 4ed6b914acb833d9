/**
 * Consul's blocking queries: `?index=N&wait=D` holds a read until something it depends on changes past N, or D
 * (default 5 min, at most 10 min, plus up to D/16 jitter so herds spread out) elapses. The read is recomputed after
 * each wake-up, and its index is what X-Consul-Index reports (never below 1).
 *
 * ACLs: a read checks its permissions in `run()`, through `ctx.authorizer()`, which resolves the token afresh each
 * time — so a denied read is refused before it waits, and every wake-up re-checks. A token deleted while the query
 * waits also wakes it (the resolver's revocation watch): the token is resolved again, fails with 403 "ACL not
 * found", and the client gets that at once instead of data at the end of its `wait`. Consul's blocking RPCs resolve
 * the token once before they block (agent/consul/kvs_endpoint.go KVS.Get) and keep answering with that authorizer
 * until the wait ends; ending the wait on revocation is a stronger guarantee than Consul's.
 */
import { parseDuration } from '../../lib/duration.ts';
import { Errors } from '../../lib/errors.ts';
import type { StateStore } from '../store/state-store.ts';
import type { ApiResponse, BlockingRead, RequestContext } from './router.ts';

export const DEFAULT_WAIT_MS = 5 * 60_000;
export const MAX_WAIT_MS = 10 * 60_000;

export interface QueryOptions {
  minIndex: number;
  waitMs: number;
  stale: boolean;
  consistent: boolean;
}

/** Parses ?index, ?wait, ?stale, ?consistent with Consul's error texts. */
export function parseQueryOptions(query: URLSearchParams): QueryOptions {
  let waitMs = DEFAULT_WAIT_MS;
  const wait = query.get('wait');
  if (wait !== null && wait !== '') {
    try {
      waitMs = parseDuration(wait, 'wait');
    } catch {
      throw Errors.badRequest('Invalid wait time');
    }
    if (waitMs <= 0) waitMs = DEFAULT_WAIT_MS;
  }
  waitMs = Math.min(waitMs, MAX_WAIT_MS);
  let minIndex = 0;
  const index = query.get('index');
  if (index !== null && index !== '') {
    if (!/^\d+$/.test(index)) throw Errors.badRequest('Invalid index');
    minIndex = Number(index);
  }
  const stale = query.has('stale');
  const consistent = query.has('consistent');
  if (stale && consistent) throw Errors.badRequest('Cannot specify ?stale with ?consistent, conflicting semantics.');
  return { minIndex, waitMs, stale, consistent };
}

/**
 * Runs a read as a blocking query. Returns at once when no index was given, when the result is newer than the
 * client's index, or when the client's index is ahead of the store (the store was reset: Consul's clients then
 * start over from the index we return).
 */
export async function blockingQuery(ctx: RequestContext, store: StateStore, read: BlockingRead): Promise<ApiResponse> {
  const options = parseQueryOptions(ctx.query);
  let result = read.run();
  if (options.minIndex === 0 || result.index > options.minIndex || options.minIndex > store.index) {
    return finish(result, options);
  }
  const jitter = Math.random() * (options.waitMs / 16);
  const deadline = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.round(options.waitMs + jitter))]);
  const revocation = watchRevocationWhileWaiting(ctx, deadline);
  try {
    while (!deadline.aborted) {
      await store.waitForChange(read.watches, options.minIndex, revocation.signal);
      if (revocation.revoked()) return finish(read.run(), options);
      result = read.run();
      if (result.index > options.minIndex) break;
    }
  } finally {
    revocation.close();
  }
  return finish(result, options);
}

export interface RevocationWatch {
  /** Aborts at the deadline or when the request's token is revoked: what a wait should stop on. */
  readonly signal: AbortSignal;
  /**
   * After a wake-up: false if the token was not revoked. If it was, the token is resolved again — which throws
   * 403 "ACL not found" for a deleted or expired one — and true says the caller must stop waiting (answer now).
   */
  revoked(): boolean;
  close(): void;
}

/** Ties a wait to the request's token (see the header): used by every loop that waits for the store. */
export function watchRevocationWhileWaiting(ctx: RequestContext, deadline: AbortSignal): RevocationWatch {
  const revocation = new AbortController();
  const unwatch = ctx.watchRevocation(() => revocation.abort());
  return {
    signal: AbortSignal.any([deadline, revocation.signal]),
    revoked: () => {
      if (!revocation.signal.aborted) return false;
      ctx.authorizer();
      return true;
    },
    close: unwatch,
  };
}

function finish(result: ApiResponse & { index: number }, options: QueryOptions): ApiResponse {
  const headers = { ...result.headers, 'X-Consul-Effective-Consistency': options.stale ? 'stale' : options.consistent ? 'consistent' : 'leader' };
  return { ...result, index: Math.max(1, result.index), headers };
}
