/**
 * /v1/kv/:key — Consul's KV endpoint: GET (?recurse, ?keys, ?separator, ?raw), PUT (?cas, ?flags, ?acquire,
 * ?release; the body is the value, at most 512 KiB), DELETE (?recurse, ?cas). Reads are blocking queries that watch
 * only the key or prefix they read, and report that key's or prefix's own index as Consul does (agent/consul/
 * kvs_endpoint.go: `reply.Index = ent.ModifyIndex` for one key; kvsListTxn's entries-and-tombstones maximum for a
 * prefix), so a write elsewhere neither wakes them nor changes what they report.
 *
 * ACLs as agent/consul/kvs_endpoint.go applies them: a single key needs `key:read` (403 otherwise), `?recurse` and
 * `?keys` list only the keys the token may read (FilterDirEnt, with X-Consul-Results-Filtered-By-ACLs; `key:list`
 * on the prefix is asked only under Consul's `acl.enable_key_list_policy`, which Meshgate does not have, so it is
 * not asked), writes need `key:write` on the key (kvsPreApply) and a recursive delete `key:write` on the whole
 * prefix (KeyWritePrefixAllowed).
 */
import { Errors } from '../../lib/errors.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import type { ApiResponse, ApiRouter, RequestContext } from '../http/router.ts';
import {
  KV_MAX_VALUE_SIZE, KV_TABLE, KV_TOMBSTONES_TABLE, kvCas, kvDelete, kvDeleteCas, kvDeleteTree, kvKeys, kvLock,
  kvPrefixIndex, kvSet, kvUnlock, toKVPair, validateKey, type KvValue,
} from '../kv/entries.ts';
import type { KvServices } from '../kv/services.ts';
import { startTombstoneReaper } from '../kv/tombstones.ts';
import { filterByAcl, filteredMeta, requireKeyWritePrefix, requirePermission } from '../acl/enforce.ts';

export function registerKvEndpoints(api: ApiRouter, deps: ServerDeps, kv: KvServices): void {
  api.get('/v1/kv/*key', (ctx) => kvGet(ctx, deps));
  api.put('/v1/kv/*key', (ctx) => kvPut(ctx, deps, kv));
  api.delete('/v1/kv/*key', (ctx) => kvDeleteEndpoint(ctx, deps));
  deps.onClose(startTombstoneReaper(deps.store, deps.logger.child({ component: 'kv-tombstones' })));
}

function keyOf(ctx: RequestContext): string {
  if (ctx.path.includes('../') || ctx.path.includes('..\\')) throw Errors.badRequest('URL path contains invalid traversal sequence');
  const key = ctx.params.key ?? '';
  if (key !== '') {
    const problem = validateKey(key);
    if (problem) throw Errors.badRequest(problem);
  }
  return key;
}

/** Consul answers conflicting query flags with 400 `Conflicting flags: <query>`. */
function refuseConflicting(ctx: RequestContext, ...flags: string[]): void {
  if (flags.filter((f) => ctx.query.has(f)).length > 1) throw Errors.badRequest(`Conflicting flags: ${ctx.query.toString()}\n`);
}

function uintParam(ctx: RequestContext, name: string): number {
  const raw = ctx.query.get(name) ?? '';
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw Errors.badRequest(`strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax (query parameter "${name}")`);
  }
  return Number(raw);
}

function kvGet(ctx: RequestContext, deps: ServerDeps): Promise<ApiResponse> {
  const key = keyOf(ctx);
  const { store } = deps;
  if (ctx.query.has('keys')) {
    const separator = ctx.query.get('separator') ?? ctx.query.get('seperator') ?? '';
    return blockingQuery(ctx, store, {
      watches: [{ table: KV_TABLE, prefix: key }],
      run: () => {
        const authz = ctx.authorizer();
        const all = store.list<KvValue>(KV_TABLE, key);
        const { items: rows, filtered } = filterByAcl(authz, all, (r) => authz.keyRead(r.key));
        const keys = kvKeys(rows, key, separator);
        const index = kvPrefixIndex(store, key, all);
        const meta = filteredMeta(filtered, ctx.token, authz);
        if (keys.length === 0 && key !== '') return { status: 404, index, ...meta };
        return { body: keys, index, ...meta };
      },
    });
  }
  if (ctx.query.has('recurse')) {
    return blockingQuery(ctx, store, {
      watches: [{ table: KV_TABLE, prefix: key }],
      run: () => {
        const authz = ctx.authorizer();
        const all = store.list<KvValue>(KV_TABLE, key);
        const { items: rows, filtered } = filterByAcl(authz, all, (r) => authz.keyRead(r.key));
        const index = kvPrefixIndex(store, key, all);
        const meta = filteredMeta(filtered, ctx.token, authz);
        if (rows.length === 0) return { status: 404, index, ...meta };
        return { body: rows.map((r) => toKVPair(r)), index, ...meta };
      },
    });
  }
  if (key === '') throw Errors.badRequest('Missing key name');
  const raw = ctx.query.has('raw');
  return blockingQuery(ctx, store, {
    watches: [{ table: KV_TABLE, key }],
    run: () => {
      requirePermission(ctx.authorizer(), 'key', 'read', key);
      const row = store.get<KvValue>(KV_TABLE, key);
      // A missing key reports the KV tables' index (kvsGetTxn's kvsMaxIndex) and still waits for that key alone.
      if (!row) return { status: 404, index: store.tableIndex(KV_TABLE, KV_TOMBSTONES_TABLE) };
      const index = row.modifyIndex;
      if (raw) {
        return {
          index,
          body: Buffer.from(row.value.Value ?? '', 'base64'),
          headers: { 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': 'sandbox' },
        };
      }
      return { body: [toKVPair(row)], index };
    },
  });
}

async function kvPut(ctx: RequestContext, deps: ServerDeps, kv: KvServices): Promise<ApiResponse> {
  const key = keyOf(ctx);
  if (key === '') throw Errors.badRequest('Missing key name');
  refuseConflicting(ctx, 'cas', 'acquire', 'release');
  const flags = ctx.query.has('flags') ? uintParam(ctx, 'flags') : 0;
  const cas = ctx.query.has('cas') ? uintParam(ctx, 'cas') : undefined;
  requirePermission(ctx.authorizer(), 'key', 'write', key);
  const declared = Number(ctx.headers['content-length'] ?? 0);
  if (declared > KV_MAX_VALUE_SIZE) throw tooLarge(declared);
  const body = await ctx.body();
  if (body.length > KV_MAX_VALUE_SIZE) throw tooLarge(body.length);
  const write = { key, flags, value: body.length > 0 ? body.toString('base64') : null };

  const done = deps.metrics.kvsApply.time();
  const { result } = await deps.store.write((tx) => {
    if (ctx.query.has('acquire')) return kvLock(tx, write, ctx.query.get('acquire') ?? '', (k) => kv.lockDelays.isDelayed(k)) !== undefined;
    if (ctx.query.has('release')) return kvUnlock(tx, write, ctx.query.get('release') ?? '') !== undefined;
    if (cas !== undefined) return kvCas(tx, write, cas) !== undefined;
    kvSet(tx, write);
    return true;
  });
  done();
  return { body: result };
}

async function kvDeleteEndpoint(ctx: RequestContext, deps: ServerDeps): Promise<ApiResponse> {
  const key = keyOf(ctx);
  refuseConflicting(ctx, 'recurse', 'cas');
  const recurse = ctx.query.has('recurse');
  if (!recurse && key === '') throw Errors.badRequest('Missing key name');
  const cas = ctx.query.has('cas') ? uintParam(ctx, 'cas') : undefined;
  const authz = ctx.authorizer();
  if (recurse) requireKeyWritePrefix(authz, key);
  else requirePermission(authz, 'key', 'write', key);
  const done = deps.metrics.kvsApply.time();
  const { result } = await deps.store.write((tx) => {
    if (cas !== undefined) return kvDeleteCas(tx, key, cas);
    if (recurse) kvDeleteTree(tx, key);
    else kvDelete(tx, key);
    return true;
  });
  done();
  return { body: result };
}

function tooLarge(size: number) {
  return Errors.payloadTooLarge(
    `Request body(${size} bytes) too large, max size: ${KV_MAX_VALUE_SIZE} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
  );
}
