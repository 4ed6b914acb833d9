/**
 * /v1/query (create, list), /v1/query/:id (get, update, delete), /v1/query/:id/execute and /explain, as
 * agent/prepared_query_endpoint.go serves them: create answers `{"ID": ...}`, get and list are blocking queries
 * answering lists, a missing query is a 404 "Query not found", execute and explain take an ID or a name and
 * accept `?near=`, `?limit=` and `?connect`. The domain logic is in ../query/ (README.md there).
 *
 * ACLs as agent/consul/prepared_query_endpoint.go and acl.go apply them: a named query (its name is its ACL prefix)
 * needs `query:write` on the name to be created, changed or deleted, and `query:read` to be seen; an unnamed query
 * is seen only by a management (`acl:write`) token, which alone also sees the queries' tokens (others get
 * `<hidden>`, redactPreparedQueryTokens). Execute answers the instances the query's own token — or, without one,
 * the caller's — may read (`node:read` and `service:read`), with X-Consul-Results-Filtered-By-ACLs.
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
import { ALLOW_ALL_AUTHORIZER, permissionDenied, type Authorizer } from '../acl/authorizer.ts';
import { filterByAcl, filteredMeta, requirePermission } from '../acl/enforce.ts';
import type { StoredQuery } from '../query/tables.ts';

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
    if (query.Name !== '') requirePermission(ctx.authorizer(), 'query', 'write', query.Name);
    await store.write((tx) => putQuery(tx, query, false));
    return { body: { ID: id } };
  });

  api.get('/v1/query', (ctx) =>
    blockingQuery(ctx, store, {
      watches: WATCHES,
      run: () => {
        const authz = ctx.authorizer();
        const rows = liveQueries(store);
        const readable = filterByAcl(authz, rows, (r) => canSee(authz, r.value));
        // Consul reports only named queries as filtered: unnamed ones are never listed to non-management tokens.
        const namedHidden = readable.filtered && rows.some((r) => r.value.Name !== '' && !canSee(authz, r.value));
        const body = readable.items.map((r) => redact(authz, toWire(r)));
        return { index: store.tableIndex(QUERIES_TABLE, SESSIONS_TABLE), body, ...filteredMeta(namedHidden, ctx.token, authz) };
      },
    }),
  );

  api.get('/v1/query/:id', async (ctx) => {
    const id = ctx.params.id!;
    const res = await blockingQuery(ctx, store, {
      watches: [{ table: QUERIES_TABLE, key: id }, { table: SESSIONS_TABLE }],
      run: () => {
        const row = getQuery(store, id);
        const authz = ctx.authorizer();
        if (row && !canSee(authz, row.value)) throw denied(authz, row.value);
        return { index: row?.modifyIndex ?? store.tableIndex(QUERIES_TABLE, SESSIONS_TABLE), body: row ? [redact(authz, toWire(row))] : undefined };
      },
    });
    if (res.body === undefined) throw QueryErrors.notFound();
    return res;
  });

  api.put('/v1/query/:id', async (ctx) => {
    const query = await decode(ctx, ctx.params.id!, true);
    const authz = ctx.authorizer();
    const existing = getQuery(store, query.ID)?.value;
    if (existing && existing.Name !== '') requirePermission(authz, 'query', 'write', existing.Name);
    if (query.Name !== '') requirePermission(authz, 'query', 'write', query.Name);
    await store.write((tx) => putQuery(tx, query, true));
    return { body: undefined };
  });

  api.delete('/v1/query/:id', async (ctx) => {
    const id = ctx.params.id!;
    const existing = getQuery(store, id)?.value;
    if (existing && existing.Name !== '') requirePermission(ctx.authorizer(), 'query', 'write', existing.Name);
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
    // The query's own token, when it has one, is whose permissions the answer follows (PreparedQuery.Execute).
    const authz = resolved.query.Token !== '' ? deps.acl.resolve(resolved.query.Token) : ctx.authorizer();
    const answer = executeQuery(store, resolved.query, {
      datacenter: deps.identity.datacenter,
      agentNode: deps.identity.nodeName,
      near: ctx.query.get('near') ?? '',
      sourceIp: ctx.remoteAddress.replace(/^::ffff:/, ''),
      limit: parseLimit(ctx.query.get('limit')),
      connect,
    });
    const readable = filterByAcl(authz, answer.Nodes, (e) => authz.nodeRead(e.Node.Node) && authz.serviceRead(e.Service.Service));
    // Consul's execute is not a blocking read; setMeta reports index 1 (its floor for an unset index).
    return { body: { ...answer, Nodes: readable.items }, index: 1, ...filteredMeta(readable.filtered, ctx.token, ctx.authorizer()) };
  });

  api.get('/v1/query/:id/explain', (ctx) => {
    parseLimit(ctx.query.get('limit'));
    const resolved = resolveQuery(store, ctx.params.id!);
    if (!resolved) throw QueryErrors.notFound();
    const { row, query } = resolved;
    const authz = ctx.authorizer();
    if (!canSee(authz, query)) throw denied(authz, query);
    return { body: { Query: { ...query, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex } }, index: 1 };
  });
}

/** Consul's filterPreparedQueries: a named query by `query:read` on its name, an unnamed one by management only. */
function canSee(authz: Authorizer, query: StoredQuery): boolean {
  if (authz === ALLOW_ALL_AUTHORIZER || authz.aclWrite()) return true;
  return query.Name !== '' && authz.preparedQueryRead(query.Name);
}

function denied(authz: Authorizer, query: StoredQuery) {
  return query.Name !== '' ? permissionDenied(authz, 'query', 'read', query.Name) : permissionDenied(authz, 'acl', 'write');
}

/** Consul's redactPreparedQueryTokens: only a management token sees a query's token. */
function redact<T extends { Token: string }>(authz: Authorizer, wire: T): T {
  if (authz === ALLOW_ALL_AUTHORIZER || wire.Token === '' || authz.aclWrite()) return wire;
  return { ...wire, Token: '<hidden>' };
}

/** Consul's parseLimit: strconv.Atoi; its error is "Bad limit: ..." (a 500 there; a client error here). */
function parseLimit(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  if (!/^[+-]?\d+$/.test(raw)) throw Errors.badRequest(`Bad limit: strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}
