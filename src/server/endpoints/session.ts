/**
 * /v1/session/* — create, destroy, info, list, node, renew. Bodies are decoded as Consul does: field names match
 * case-insensitively (python-consul sends `name`, `ttl`, `behavior`), TTL and LockDelay take Go durations, and a
 * numeric LockDelay below 1000 means seconds (Consul's FixupLockDelay).
 *
 * ACLs as agent/consul/session_endpoint.go applies them: create, destroy and renew need `session:write` on the
 * session's node (403 otherwise); info, list and node list only the sessions whose node the token has
 * `session:read` on (filterSessions), with X-Consul-Results-Filtered-By-ACLs.
 */
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody, ErrRequestDecode } from '../http/decode.ts';
import { pathName, type ApiRouter, type RequestContext } from '../http/router.ts';
import { z } from 'zod';
import { Errors } from '../../lib/errors.ts';
import { parseDuration } from '../../lib/duration.ts';
import { SESSIONS_TABLE } from '../kv/entries.ts';
import { filterByAcl, filteredMeta, requirePermission } from '../acl/enforce.ts';
import type { StoredRow } from '../store/types.ts';
import { toSessionEntry, type SessionManager, type SessionRequest, type StoredSession } from '../session/manager.ts';

export function registerSessionEndpoints(api: ApiRouter, deps: ServerDeps, sessions: SessionManager): void {
  const { store } = deps;
  const all = () => store.list<StoredSession>(SESSIONS_TABLE);

  api.put('/v1/session/create', async (ctx) => {
    const request = decodeSessionRequest(await ctx.json());
    requirePermission(ctx.authorizer(), 'session', 'write', request.Node || deps.identity.nodeName);
    const id = await sessions.create(request, deps.identity.nodeName);
    return { body: { ID: id } };
  });

  // The session's own node decides; a session that does not exist is left to the manager's own answer.
  const requireWrite = (ctx: RequestContext, id: string): void => {
    const row = store.get<StoredSession>(SESSIONS_TABLE, id);
    if (row) requirePermission(ctx.authorizer(), 'session', 'write', row.value.Node);
  };

  api.put('/v1/session/destroy/:id', async (ctx) => {
    const id = requireId(ctx);
    requireWrite(ctx, id);
    await sessions.destroy(id);
    return { body: true };
  });
  api.put('/v1/session/destroy/', () => {
    throw Errors.badRequest('Missing session');
  });

  api.put('/v1/session/renew/:id', async (ctx) => {
    const id = requireId(ctx);
    requireWrite(ctx, id);
    const row = await sessions.renew(id);
    return { body: [toSessionEntry(row)], index: store.tableIndex(SESSIONS_TABLE) };
  });

  api.get('/v1/session/info/:id', (ctx) => {
    const id = requireId(ctx);
    return blockingQuery(ctx, store, {
      watches: [{ table: SESSIONS_TABLE, key: id }],
      run: () => {
        const row = store.get<StoredSession>(SESSIONS_TABLE, id);
        return { ...readable(ctx, row ? [row] : []), index: store.tableIndex(SESSIONS_TABLE) };
      },
    });
  });

  api.get('/v1/session/list', (ctx) =>
    blockingQuery(ctx, store, {
      watches: [{ table: SESSIONS_TABLE }],
      run: () => ({ ...readable(ctx, all()), index: store.tableIndex(SESSIONS_TABLE) }),
    }),
  );

  api.get('/v1/session/node/:node', (ctx) => {
    const node = pathName(ctx, 'node', 'Missing node name');
    return blockingQuery(ctx, store, {
      watches: [{ table: SESSIONS_TABLE }],
      run: () => ({ ...readable(ctx, all().filter((r) => r.value.Node === node)), index: store.tableIndex(SESSIONS_TABLE) }),
    });
  });
}

/** Consul's filterSessions: the sessions on nodes the token has `session:read` on, as wire entries. */
function readable(ctx: RequestContext, rows: StoredRow<StoredSession>[]) {
  const authz = ctx.authorizer();
  const kept = filterByAcl(authz, rows, (r) => authz.sessionRead(r.value.Node));
  return { body: kept.items.map(toSessionEntry), ...filteredMeta(kept.filtered, ctx.token, authz) };
}

function requireId(ctx: RequestContext): string {
  const id = ctx.params.id ?? '';
  if (id === '') throw Errors.badRequest('Missing session');
  return id;
}

/** structs.SessionRequest's Session, as the create endpoint decodes it (decode.ts does case and aliases). */
const SessionBodySchema = z.object({
  Name: z.string().optional(),
  Node: z.string().optional(),
  Behavior: z.string().optional(),
  TTL: z.string().optional(),
  LockDelay: z.union([z.number(), z.string()]).optional(),
  NodeChecks: z.array(z.string()).nullable().optional(),
  // Consul's older spelling of NodeChecks, still read by its decoder.
  Checks: z.array(z.string()).nullable().optional(),
  ServiceChecks: z.array(z.object({ ID: z.string(), Namespace: z.string().optional() })).nullable().optional(),
});
const SESSION_ALIASES = { lock_delay: 'LockDelay', node_checks: 'NodeChecks', service_checks: 'ServiceChecks' };

function decodeSessionRequest(raw: unknown): SessionRequest {
  if (raw === undefined || raw === null) return {};
  const body = decodeBody(SessionBodySchema, raw, { aliases: SESSION_ALIASES });
  const out: SessionRequest = {};
  if (body.Name !== undefined) out.Name = body.Name;
  if (body.Node !== undefined) out.Node = body.Node;
  if (body.Behavior !== undefined) out.Behavior = body.Behavior;
  if (body.TTL !== undefined && body.TTL !== '') {
    out.TtlMs = durationField(body.TTL, 'TTL');
    out.TTL = body.TTL;
  }
  if (body.LockDelay !== undefined) {
    // Consul's FixupLockDelay: a number below 1000 means seconds, otherwise nanoseconds.
    const d = body.LockDelay;
    out.LockDelayMs = typeof d === 'number' ? (d < 1000 ? d * 1000 : d / 1e6) : durationField(d, 'LockDelay');
  }
  const checks = body.NodeChecks ?? body.Checks;
  if (checks !== undefined && checks !== null) out.NodeChecks = checks;
  if (body.ServiceChecks !== undefined && body.ServiceChecks !== null) out.ServiceChecks = body.ServiceChecks.map((c) => ({ ID: c.ID }));
  return out;
}

/** A Go duration string; a bad one is a decode failure naming the field, as Consul's decoder reports it. */
function durationField(text: string, field: string): number {
  try {
    return parseDuration(text, field);
  } catch (err) {
    throw ErrRequestDecode(err instanceof Error ? err.message : String(err));
  }
}
