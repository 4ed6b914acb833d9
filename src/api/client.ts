/**
 * The typed client every part outside the server uses (gateway catalog provider, agent, proxy, kubernetes, CLI):
 *
 *   const consul = new ConsulClient({ address: '127.0.0.1:8500', token });
 *   const { value: entries, meta } = await consul.health.service('web', { passing: true });
 *   for await (const { value } of consul.watch((q) => consul.health.service('web', { ...q, passing: true }))) …
 *
 * Groups mirror Consul's Go `api` package: kv, catalog, health, agent, session, status, plus txn().
 */
import { AclEndpoint } from './acl.ts';
import { AgentEndpoint } from './agent.ts';
import { DEFAULT_HTTP_ADDR, addressFromEnv, normalizeAddress, tokenFromEnv } from './address.ts';
import { Catalog } from './catalog.ts';
import { ConfigEntries } from './config.ts';
import { ConnectEndpoint } from './connect.ts';
import { Health } from './health.ts';
import { KV } from './kv.ts';
import { SessionEndpoint } from './session.ts';
import { SnapshotEndpoint } from './snapshot.ts';
import { StatusEndpoint } from './status.ts';
import { Transport, type FetchLike } from './transport.ts';
import { runTxn, type TxnOutcome } from './txn.ts';
import type { QueryOptions, QueryResult, TxnOp } from './types.ts';
import { watch, watchEach, type BlockingQuery, type WatchOptions } from './watch.ts';

export interface ClientOptions {
  /** `http://host:port`, `https://host:port` or `host:port`. Default: $MESHGATE_HTTP_ADDR, $CONSUL_HTTP_ADDR, 127.0.0.1:8500. */
  address?: string;
  /** ACL token sent as X-Consul-Token. Default: $MESHGATE_HTTP_TOKEN, $CONSUL_HTTP_TOKEN. */
  token?: string;
  /** `?dc=` on every catalog/health/kv/session request unless a call names another. */
  datacenter?: string;
  /** Deadline of a non-blocking request. Default 30s. */
  timeoutMs?: number;
  /** Extra time allowed on top of wait + wait/16 for a blocking request. Default 5s. */
  blockingMarginMs?: number;
  /** A fetch implementation to use instead of undici's (tests, instrumentation). */
  fetch?: FetchLike;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Environment to read defaults from (tests); default process.env. */
  env?: Record<string, string | undefined>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_BLOCKING_MARGIN_MS = 5_000;

export class ConsulClient {
  /** The base URL requests go to, e.g. `http://127.0.0.1:8500`. */
  readonly address: string;
  readonly kv: KV;
  readonly catalog: Catalog;
  readonly health: Health;
  readonly agent: AgentEndpoint;
  readonly session: SessionEndpoint;
  readonly status: StatusEndpoint;
  readonly configEntries: ConfigEntries;
  readonly connect: ConnectEndpoint;
  readonly snapshot: SnapshotEndpoint;
  readonly acl: AclEndpoint;
  readonly transport: Transport;

  constructor(options: ClientOptions = {}) {
    const env = options.env ?? process.env;
    this.address = normalizeAddress(options.address ?? addressFromEnv(env) ?? DEFAULT_HTTP_ADDR, env);
    const token = options.token ?? tokenFromEnv(env);
    this.transport = new Transport({
      baseUrl: this.address,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      blockingMarginMs: options.blockingMarginMs ?? DEFAULT_BLOCKING_MARGIN_MS,
      ...(token ? { token } : {}),
      ...(options.datacenter ? { datacenter: options.datacenter } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    this.kv = new KV(this.transport);
    this.catalog = new Catalog(this.transport);
    this.health = new Health(this.transport);
    this.agent = new AgentEndpoint(this.transport);
    this.session = new SessionEndpoint(this.transport);
    this.status = new StatusEndpoint(this.transport);
    this.configEntries = new ConfigEntries(this.transport);
    this.acl = new AclEndpoint(this.transport);
    this.connect = new ConnectEndpoint(this.transport);
    this.snapshot = new SnapshotEndpoint(this.transport);
  }

  /** `PUT /v1/txn` — `ok` is false when Consul rolled the transaction back (409); `value.Errors` says why. */
  txn(ops: readonly TxnOp[], opts: Omit<QueryOptions, 'index' | 'waitMs'> = {}): Promise<TxnOutcome> {
    return runTxn(this.transport, ops, opts);
  }

  /** Follows a blocking query; see watch.ts for the rules. */
  watch<T>(query: BlockingQuery<T>, options: WatchOptions = {}): AsyncGenerator<QueryResult<T>, void, undefined> {
    return watch(query, options);
  }

  /** Callback form of `watch`. */
  watchEach<T>(query: BlockingQuery<T>, onChange: (result: QueryResult<T>) => void | Promise<void>, options: WatchOptions = {}) {
    return watchEach(query, onChange, options);
  }
}

export function createClient(options: ClientOptions = {}): ConsulClient {
  return new ConsulClient(options);
}

export * from './types.ts';
export { ApiErrors, ApiStatusError, isApiStatusError, isAbortError, isTransportError } from './errors.ts';
export { DEFAULT_HTTP_ADDR, addressFromEnv, normalizeAddress, tokenFromEnv } from './address.ts';
export { encodeKVValue, kvValueBytes, kvValueText, KV } from './kv.ts';
export { Catalog } from './catalog.ts';
export { ConfigEntries } from './config.ts';
export { ConnectEndpoint } from './connect.ts';
export { Health } from './health.ts';
export { AgentEndpoint } from './agent.ts';
export { SessionEndpoint } from './session.ts';
export { SnapshotEndpoint } from './snapshot.ts';
export { StatusEndpoint } from './status.ts';
export type { TxnOutcome } from './txn.ts';
export { backoffDelay, watch, watchEach, type BlockingParams, type BlockingQuery, type WatchOptions } from './watch.ts';
export { parseQueryMeta, DEFAULT_BLOCKING_WAIT_MS, MAX_BLOCKING_WAIT_MS, type FetchLike } from './transport.ts';
