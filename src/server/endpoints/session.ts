/**
 * /v1/session/* — create, destroy, info, list, node, renew. Bodies are decoded as Consul does: field names match
 * case-insensitively (python-consul sends `name`, `ttl`, `behavior`), TTL and LockDelay take Go durations, and a
 * numeric LockDelay below 1000 means seconds (Consul's FixupLockDelay).
 */
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody, ErrRequestDecode } from '../http/decode.ts';
import { pathName, type ApiRouter, type RequestContext } from '../http/router.ts';
import { z } from 'zod';
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
