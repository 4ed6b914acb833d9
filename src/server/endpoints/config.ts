/**
 * /v1/config — Consul's configuration entries (agent/config_endpoint.go): `GET /v1/config/:kind` (blocking list),
 * `GET /v1/config/:kind/:name` (blocking), `DELETE /v1/config/:kind/:name[?cas=]`, `PUT /v1/config[?cas=]` with
 * the entry (its Kind inside) as the body, and `PUT /v1/config/:kind/:name` as the same apply addressed by path.
 * A write answers `true`/`false` (false: a check-and-set that lost); a plain delete answers `{}` and a CAS delete
 * `true`/`false`, as Consul does. ACLs per kind (../config-entries/authorizer.ts): a read or write of one entry is a
 * 403 without the kind's permission, a list keeps the entries the token may read (with
 * X-Consul-Results-Filtered-By-ACLs), each check made again on every wake of a blocking read.
 */
import { Errors } from '../../lib/errors.ts';
import { canReadEntry, requireEntryRead, requireEntryWrite } from '../config-entries/authorizer.ts';
import { filterByAcl, filteredMeta } from '../acl/enforce.ts';
import { ErrEntryDecode } from '../config-entries/decode.ts';
import { decodeConfigEntry, kindOf } from '../config-entries/entry.ts';
import { kindSpec } from '../config-entries/kinds.ts';
import { applyEntry, deleteEntry } from '../config-entries/store.ts';
import { CONFIG_ENTRIES_TABLE, entryKey, entryToWire, getEntry, listEntries } from '../config-entries/table.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import type { ApiResponse, ApiRouter, RequestContext } from '../http/router.ts';

export function registerConfigEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;

  api.get('/v1/config/:kind', (ctx) => {
    const kind = ctx.params.kind!;
    kindSpec(kind);
    return blockingQuery(ctx, store, {
      watches: [{ table: CONFIG_ENTRIES_TABLE, prefix: `${kind}/` }],
      run: () => {
        const authz = ctx.authorizer();
        const readable = filterByAcl(authz, listEntries(store, kind), (r) => canReadEntry(authz, kind, r.value.Name));
        return { index: store.tableIndex(CONFIG_ENTRIES_TABLE), body: readable.items.map(entryToWire), ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
  });

  api.get('/v1/config/:kind/:name', (ctx) => {
    const { kind, name } = ctx.params as { kind: string; name: string };
    kindSpec(kind);
    return blockingQuery(ctx, store, {
      watches: [{ table: CONFIG_ENTRIES_TABLE, key: entryKey(kind, name) }],
      run: () => {
        requireEntryRead(ctx.authorizer(), kind, name);
        const row = getEntry(store, kind, name);
        const index = store.tableIndex(CONFIG_ENTRIES_TABLE);
        if (!row) return { status: 404, index, body: `Config entry not found for ${JSON.stringify(kind)} / ${JSON.stringify(name)}`, text: true };
        return { index, body: entryToWire(row) };
      },
    });
  });

  api.delete('/v1/config/:kind/:name', async (ctx) => {
    const { kind, name } = ctx.params as { kind: string; name: string };
    kindSpec(kind);
    requireEntryWrite(ctx.authorizer(), kind, name);
    const cas = casParam(ctx);
    const { result } = await store.write((tx) => deleteEntry(tx, kind, name, cas));
    return { body: cas === undefined ? {} : result };
  });

  api.put('/v1/config', (ctx) => apply(ctx, undefined));
  api.put('/v1/config/:kind/:name', (ctx) => apply(ctx, ctx.params as { kind: string; name: string }));

  async function apply(ctx: RequestContext, addressed: { kind: string; name: string } | undefined): Promise<ApiResponse> {
    const raw = await ctx.json();
    if (raw === undefined) throw ErrEntryDecode('EOF');
    if (addressed) {
      const body = raw as Record<string, unknown>;
      const kind = typeof body === 'object' && body !== null && ('Kind' in body || 'kind' in body) ? kindOf(body) : addressed.kind;
      if (kind !== addressed.kind) throw Errors.badRequest(`Kind ${JSON.stringify(kind)} in the body does not match ${JSON.stringify(addressed.kind)} in the path`);
      if (typeof body === 'object' && body !== null && !('Kind' in body) && !('kind' in body)) body.Kind = kind;
      if (typeof body === 'object' && body !== null && body.Name === undefined && body.name === undefined) body.Name = addressed.name;
    }
    const entry = decodeConfigEntry(raw);
    if (addressed && entry.Name !== addressed.name) {
      throw Errors.badRequest(`Name ${JSON.stringify(entry.Name)} in the body does not match ${JSON.stringify(addressed.name)} in the path`);
    }
    requireEntryWrite(ctx.authorizer(), entry.Kind, entry.Name);
    const cas = casParam(ctx);
    const { result } = await store.write((tx) => applyEntry(tx, entry, cas));
    return { body: result };
  }
}

function casParam(ctx: RequestContext): number | undefined {
  if (!ctx.query.has('cas')) return undefined;
  const raw = ctx.query.get('cas') ?? '';
  if (!/^\d+$/.test(raw)) throw Errors.badRequest(`strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}
