/**
 * /v1/session/* — create, destroy, info, list, node, renew. Bodies are decoded as Consul does: field names match
 * case-insensitively (python-consul sends `name`, `ttl`, `behavior`), TTL and LockDelay take Go durations, and a
 * numeric LockDelay below 1000 means seconds (Consul's FixupLockDelay).
 */
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { pathName, type ApiRouter, type RequestContext } from '../http/router.ts';
import { Errors } from '../../lib/errors.ts';
import { parseDuration } from '../../lib/duration.ts';
import { SESSIONS_TABLE } from '../kv/entries.ts';
import { toSessionEntry, type SessionManager, type SessionRequest, type StoredSession } from '../session/manager.ts';

export function registerSessionEndpoints(api: ApiRouter, deps: ServerDeps, sessions: SessionManager): void {
  const { store } = deps;
  const all = () => store.list<StoredSession>(SESSIONS_TABLE);

  api.put('/v1/session/create', async (ctx) => {
    const request = decodeSessionRequest(await ctx.json());
    const id = await sessions.create(request, deps.identity.nodeName);
    return { body: { ID: id } };
  });

  api.put('/v1/session/destroy/:id', async (ctx) => {
    await sessions.destroy(requireId(ctx));
    return { body: true };
  });
  api.put('/v1/session/destroy/', () => {
    throw Errors.badRequest('Missing session');
  });

  api.put('/v1/session/renew/:id', async (ctx) => {
    const row = await sessions.renew(requireId(ctx));
    return { body: [toSessionEntry(row)], index: store.tableIndex(SESSIONS_TABLE) };
  });

  api.get('/v1/session/info/:id', (ctx) => {
    const id = requireId(ctx);
    return blockingQuery(ctx, store, {
      watches: [{ table: SESSIONS_TABLE, key: id }],
      run: () => {
        const row = store.get<StoredSession>(SESSIONS_TABLE, id);
        return { body: row ? [toSessionEntry(row)] : [], index: store.tableIndex(SESSIONS_TABLE) };
      },
    });
  });

  api.get('/v1/session/list', (ctx) =>
    blockingQuery(ctx, store, {
      watches: [{ table: SESSIONS_TABLE }],
      run: () => ({ body: all().map(toSessionEntry), index: store.tableIndex(SESSIONS_TABLE) }),
    }),
  );

  api.get('/v1/session/node/:node', (ctx) => {
    const node = pathName(ctx, 'node', 'Missing node name');
    return blockingQuery(ctx, store, {
      watches: [{ table: SESSIONS_TABLE }],
      run: () => ({
        body: all().filter((r) => r.value.Node === node).map(toSessionEntry),
        index: store.tableIndex(SESSIONS_TABLE),
      }),
    });
  });
}

function requireId(ctx: RequestContext): string {
  const id = ctx.params.id ?? '';
  if (id === '') throw Errors.badRequest('Missing session');
  return id;
}

/** Case-insensitive field lookup, as Go's encoding/json matches struct fields. */
function field(body: Record<string, unknown>, ...names: string[]): unknown {
  for (const name of names) {
    const lower = name.toLowerCase();
    for (const key of Object.keys(body)) if (key.toLowerCase() === lower) return body[key];
  }
  return undefined;
}

function decodeSessionRequest(raw: unknown): SessionRequest {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw Errors.badRequest('Request decode failed: body must be a JSON object');
  const body = raw as Record<string, unknown>;
  const out: SessionRequest = {};
  const name = field(body, 'Name');
  if (name !== undefined) out.Name = stringField(name, 'Name');
  const node = field(body, 'Node');
  if (node !== undefined) out.Node = stringField(node, 'Node');
  const behavior = field(body, 'Behavior');
  if (behavior !== undefined) out.Behavior = stringField(behavior, 'Behavior');
  const ttl = field(body, 'TTL');
  if (ttl !== undefined && ttl !== '') {
    const text = stringField(ttl, 'TTL');
    out.TtlMs = decodeFailed(() => parseDuration(text, 'TTL'));
    out.TTL = text;
  }
  const lockDelay = field(body, 'LockDelay', 'lock_delay');
  if (lockDelay !== undefined) {
    if (typeof lockDelay === 'number') out.LockDelayMs = lockDelay < 1000 ? lockDelay * 1000 : lockDelay / 1e6;
    else out.LockDelayMs = decodeFailed(() => parseDuration(stringField(lockDelay, 'LockDelay'), 'LockDelay'));
  }
  const checks = field(body, 'NodeChecks', 'node_checks') ?? field(body, 'Checks');
  if (checks !== undefined && checks !== null) out.NodeChecks = stringList(checks, 'NodeChecks');
  const serviceChecks = field(body, 'ServiceChecks', 'service_checks');
  if (serviceChecks !== undefined && serviceChecks !== null) {
    if (!Array.isArray(serviceChecks)) throw Errors.badRequest('Request decode failed: ServiceChecks must be an array');
    out.ServiceChecks = serviceChecks.map((c, i) => {
      const id = c && typeof c === 'object' ? field(c as Record<string, unknown>, 'ID') : undefined;
      if (typeof id !== 'string') throw Errors.badRequest(`Request decode failed: ServiceChecks[${i}].ID must be a string`);
      return { ID: id };
    });
  }
  return out;
}

function stringField(value: unknown, name: string): string {
  if (typeof value !== 'string') throw Errors.badRequest(`Request decode failed: ${name} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw Errors.badRequest(`Request decode failed: ${name} must be an array of strings`);
  }
  return value as string[];
}

function decodeFailed<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw Errors.badRequest(`Request decode failed: ${(err as Error).message}`);
  }
}
