/**
 * /v1/query (create, list), /v1/query/:id (get, update, delete), /v1/query/:id/execute and /explain, as
 * agent/prepared_query_endpoint.go serves them: create answers `{"ID": ...}`, get and list are blocking queries
 * answering lists, a missing query is a 404 "Query not found", execute and explain take an ID or a name and
 * accept `?near=`, `?limit=` and `?connect`. The domain logic is in ../query/ (README.md there).
 */
import { randomUUID } from 'node:crypto';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody, parseJsonBody } from '../http/decode.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import { PreparedQuerySchema, toStoredQuery } from '../query/decode.ts';
import { executeQuery } from '../query/execute.ts';
import { resolveQuery } from '../query/resolve.ts';
import { QUERIES_TABLE, QueryErrors, getQuery, liveQueries, putQuery, toWire } from '../query/tables.ts';
import { compileTemplate, isTemplate } from '../query/template.ts';
import { parseGoBool } from '../catalog/params.ts';
import { Errors } from '../../lib/errors.ts';

/** Sessions decide whether a bound query still exists, so query reads watch them and report their index too. */
const SESSIONS_TABLE = 'sessions';
const WATCHES = [{ table: QUERIES_TABLE }, { table: SESSIONS_TABLE }];

export function registerQueryEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;

  const decode = async (ctx: RequestContext, id: string, allowEmpty: boolean) => {
    const text = (await ctx.body()).toString('utf8');
    const raw = allowEmpty && text.trim() === '' ? {} : parseJsonBody(text);
    const query = toStoredQuery(decodeBody(PreparedQuerySchema, raw), id);
    if (isTemplate(query)) compileTemplate(query);
    return query;
  };

  api.post('/v1/query', async (ctx) => {
    const text = (await ctx.body()).toString('utf8');
    const raw = parseJsonBody(text);
    if (raw && typeof raw === 'object' && typeof (raw as Record<string, unknown>).ID === 'string' && (raw as Record<string, unknown>).ID !== '') {
      throw QueryErrors.invalid('ID must be empty when creating a new prepared query');
    }
    const id = randomUUID();
    const query = toStoredQuery(decodeBody(PreparedQuerySchema, raw), id);
    if (isTemplate(query)) compileTemplate(query);
    await store.write((tx) => putQuery(tx, query, false));
    return { body: { ID: id } };
  });

  api.get('/v1/query', (ctx) =>
    blockingQuery(ctx, store, {
      watches: WATCHES,
      run: () => ({ index: store.tableIndex(QUERIES_TABLE, SESSIONS_TABLE), body: liveQueries(store).map(toWire) }),
    }),
  );

  api.get('/v1/query/:id', async (ctx) => {
    const id = ctx.params.id!;
    const res = await blockingQuery(ctx, store, {
      watches: [{ table: QUERIES_TABLE, key: id }, { table: SESSIONS_TABLE }],
      run: () => {
        const row = getQuery(store, id);
        return { index: row?.modifyIndex ?? store.tableIndex(QUERIES_TABLE, SESSIONS_TABLE), body: row ? [toWire(row)] : undefined };
      },
    });
    if (res.body === undefined) throw QueryErrors.notFound();
    return res;
  });

  api.put('/v1/query/:id', async (ctx) => {
    const query = await decode(ctx, ctx.params.id!, true);
    await store.write((tx) => putQuery(tx, query, true));
    return { body: undefined };
  });

  api.delete('/v1/query/:id', async (ctx) => {
    const id = ctx.params.id!;
    await store.write((tx) => {
      if (!getQuery(tx, id)) throw QueryErrors.invalid(`Cannot modify non-existent prepared query: '${id}'`);
      tx.delete(QUERIES_TABLE, id);
    });
    return { body: undefined };
  });

  api.get('/v1/query/:id/execute', (ctx) => {
    const resolved = resolveQuery(store, ctx.params.id!);
    if (!resolved) throw QueryErrors.notFound();
    const connect = ctx.query.has('connect') ? (parseGoBool(ctx.query.get('connect') || 'true') ?? false) : false;
    const body = executeQuery(store, resolved.query, {
      datacenter: deps.identity.datacenter,
      agentNode: deps.identity.nodeName,
      near: ctx.query.get('near') ?? '',
      sourceIp: ctx.remoteAddress.replace(/^::ffff:/, ''),
      limit: parseLimit(ctx.query.get('limit')),
      connect,
    });
    // Consul's execute is not a blocking read; setMeta reports index 1 (its floor for an unset index).
    return { body, index: 1 };
  });

  api.get('/v1/query/:id/explain', (ctx) => {
    parseLimit(ctx.query.get('limit'));
    const resolved = resolveQuery(store, ctx.params.id!);
    if (!resolved) throw QueryErrors.notFound();
    const { row, query } = resolved;
    return { body: { Query: { ...query, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex } }, index: 1 };
  });
}

/** Consul's parseLimit: strconv.Atoi; its error is "Bad limit: ..." (a 500 there; a client error here). */
function parseLimit(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  if (!/^[+-]?\d+$/.test(raw)) throw Errors.badRequest(`Bad limit: strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}
