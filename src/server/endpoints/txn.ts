/**
 * PUT /v1/txn — Consul's transaction endpoint for KV verbs: at most 64 operations, applied all or nothing. Every
 * operation is tried so the answer lists every failure (409 with `Errors: [{OpIndex, What}]`); a transaction of
 * reads only is served from the view as a blocking-free read with the index headers.
 *
 * ACLs per operation, as agent/consul/txn_endpoint.go vets them with kvsPreApply: `check-index` and
 * `check-session` need `key:read`, `delete-tree` `key:write` on the whole prefix, every other verb (writes and
 * `check-not-exists`) `key:write`;
 * a denied operation is one of the transaction's errors (409, nothing applied). Reads are filtered on the way out
 * (FilterTxnResults): a result for a key the token may not read is left out.
 */
import type { KVTxnOp, TxnError, TxnResultEntry } from '../../api/types.ts';
import { z } from 'zod';
import { Errors, MeshgateError } from '../../lib/errors.ts';
import type { ServerDeps } from '../deps.ts';
import { parseQueryOptions } from '../http/blocking.ts';
import { decodeBody, ErrRequestDecode } from '../http/decode.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import {
  KV_MAX_VALUE_SIZE, KV_TABLE, kvCas, kvDelete, kvDeleteCas, kvDeleteTree, kvLock, kvSet, kvUnlock, toKVPair,
  validateKey, type KvValue,
} from '../kv/entries.ts';
import type { StoreReader, StoredRow } from '../store/types.ts';
import { ALLOW_ALL_AUTHORIZER, permissionDenied, type Authorizer } from '../acl/authorizer.ts';

export const MAX_TXN_OPS = 64;
const READ_VERBS = new Set(['get', 'get-tree', 'check-index', 'check-session', 'check-not-exists']);

/** Thrown inside the store transaction to roll it back; answered as Consul's 409 with every operation's error. */
class TxnRollback extends MeshgateError {
  readonly errors: TxnError[];
  constructor(errors: TxnError[]) {
    super('MG_TXN_ROLLBACK', 409, 'transaction rolled back');
    this.errors = errors;
  }
}

export function registerTxnEndpoints(api: ApiRouter, deps: ServerDeps): void {
  api.put('/v1/txn', (ctx) => txn(ctx, deps));
}

async function txn(ctx: RequestContext, deps: ServerDeps) {
  parseQueryOptions(ctx.query);
  const ops = decodeOps(await ctx.json());
  if (ops.length > MAX_TXN_OPS) {
    throw Errors.payloadTooLarge(`Transaction contains too many operations (${ops.length} > ${MAX_TXN_OPS})`);
  }
  const { store } = deps;
  const authz = ctx.authorizer();
  const denied = vetOps(authz, ops);
  if (denied.length > 0) return { status: 409, body: { Results: null, Errors: denied } };
  const readable = (results: TxnResultEntry[]): TxnResultEntry[] =>
    authz === ALLOW_ALL_AUTHORIZER ? results : results.filter((r) => r.KV === undefined || authz.keyRead(r.KV.Key));
  if (ops.every((op) => READ_VERBS.has(op.Verb))) {
    const results: TxnResultEntry[] = [];
    const errors: TxnError[] = [];
    ops.forEach((op, i) => {
      try {
        results.push(...runRead(store, op));
      } catch (err) {
        errors.push({ OpIndex: i, What: whatOf(err) });
      }
    });
    const index = store.tableIndex(KV_TABLE);
    if (errors.length > 0) return { status: 409, body: { Results: null, Errors: errors }, index };
    return { body: { Results: readable(results), Errors: null }, index };
  }
  try {
    const { result } = await store.write((tx) => {
      const results: TxnResultEntry[] = [];
      const errors: TxnError[] = [];
      ops.forEach((op, i) => {
        try {
          results.push(...(READ_VERBS.has(op.Verb) ? runRead(tx, op) : runWrite(tx, op)));
        } catch (err) {
          errors.push({ OpIndex: i, What: whatOf(err) });
        }
      });
      if (errors.length > 0) throw new TxnRollback(errors);
      return results;
    });
    return { body: { Results: readable(result), Errors: null } };
  } catch (err) {
    if (err instanceof TxnRollback) return { status: 409, body: { Results: null, Errors: err.errors } };
    throw err;
  }
}

/** Consul's kvsPreApply per operation: every denial becomes that operation's error, before anything is applied. */
function vetOps(authz: Authorizer, ops: readonly KVTxnOp[]): TxnError[] {
  if (authz === ALLOW_ALL_AUTHORIZER) return [];
  const errors: TxnError[] = [];
  ops.forEach((op, i) => {
    // Reads are filtered on the way out; check-not-exists falls to kvsPreApply's default (a write check) in Consul.
    if (op.Verb === 'get' || op.Verb === 'get-tree') return;
    const read = op.Verb === 'check-index' || op.Verb === 'check-session';
    const ok = read ? authz.keyRead(op.Key) : op.Verb === 'delete-tree' ? authz.keyWritePrefix(op.Key) : authz.keyWrite(op.Key);
    if (!ok) errors.push({ OpIndex: i, What: permissionDenied(authz, 'key', read ? 'read' : 'write', op.Key).message });
  });
  return errors;
}

function whatOf(err: unknown): string {
  if (err instanceof MeshgateError || err instanceof Error) return err.message;
  return String(err);
}

function withoutValue(row: StoredRow<KvValue> | undefined): TxnResultEntry[] {
  return row ? [{ KV: toKVPair(row, false) }] : [];
}

function runRead(reader: StoreReader, op: KVTxnOp): TxnResultEntry[] {
  const entry = reader.get<KvValue>(KV_TABLE, op.Key);
  switch (op.Verb) {
    case 'get':
      if (!entry) throw new Error(`key "${op.Key}" doesn't exist`);
      return [{ KV: toKVPair(entry) }];
    case 'get-tree':
      return reader.list<KvValue>(KV_TABLE, op.Key).map((r) => ({ KV: toKVPair(r) }));
    case 'check-index':
      if (!entry || entry.modifyIndex !== (op.Index ?? 0)) {
        throw new Error(`failed index check for key "${op.Key}", current modify index ${entry?.modifyIndex ?? 0} != ${op.Index ?? 0}`);
      }
      return withoutValue(entry);
    case 'check-session':
      if (!entry || entry.value.Session !== op.Session) {
        throw new Error(`failed session check for key "${op.Key}", current session "${entry?.value.Session ?? ''}" != "${op.Session ?? ''}"`);
      }
      return withoutValue(entry);
    case 'check-not-exists':
      if (entry) throw new Error(`key "${op.Key}" exists`);
      return [];
    default:
      throw new Error(`unknown KV verb "${op.Verb}"`);
  }
}

function runWrite(tx: import('../store/types.ts').WriteTxn, op: KVTxnOp): TxnResultEntry[] {
  const write = { key: op.Key, value: op.Value ?? null, flags: op.Flags ?? 0 };
  switch (op.Verb) {
    case 'set':
      return withoutValue(kvSet(tx, write));
    case 'cas': {
      const row = kvCas(tx, write, op.Index ?? 0);
      if (!row) throw new Error(`failed to set key "${op.Key}", index is stale`);
      return withoutValue(row);
    }
    case 'lock': {
      const row = kvLock(tx, write, op.Session ?? '', () => false);
      if (!row) throw new Error(`failed to lock key "${op.Key}", lock is already held`);
      return withoutValue(row);
    }
    case 'unlock': {
      const row = kvUnlock(tx, write, op.Session ?? '');
      if (!row) throw new Error(`failed to unlock key "${op.Key}", lock isn't held, or is held by another session`);
      return withoutValue(row);
    }
    case 'delete':
      kvDelete(tx, op.Key);
      return [];
    case 'delete-tree':
      kvDeleteTree(tx, op.Key);
      return [];
    case 'delete-cas':
      if (!kvDeleteCas(tx, op.Key, op.Index ?? 0)) throw new Error(`failed to delete key "${op.Key}", index is stale`);
      return [];
    default:
      throw new Error(`unknown KV verb "${op.Verb}"`);
  }
}

/** api.KVTxnOp as Consul decodes it (case-insensitive names through decode.ts). */
const KVOpSchema = z.object({
  Verb: z.string(),
  Key: z.string(),
  Value: z.string().nullable().optional(),
  Flags: z.number().int().nonnegative().nullable().optional(),
  Index: z.number().int().nonnegative().nullable().optional(),
  Session: z.string().nullable().optional(),
});
/** One TxnOp: only its KV member is served; the others (Node, Service, Check) are kept to be refused by name. */
const TxnOpSchema = z.looseObject({ KV: KVOpSchema.nullable().optional() });
const TxnBodySchema = z.array(TxnOpSchema);

/** Decodes the body into KV operations with Consul's 400 texts ("Failed to parse body: …"); other kinds are refused by name. */
function decodeOps(raw: unknown): KVTxnOp[] {
  const ops = decodeBody(TxnBodySchema, raw, { lead: 'Failed to parse body' });
  return ops.map((item, i) => {
    const kv = item.KV;
    if (kv === undefined || kv === null) {
      const kind = Object.keys(item).find((k) => k !== 'KV') ?? 'empty';
      throw ErrRequestDecode(`operation ${i}: only KV operations are supported, got "${kind}"`, 'Failed to parse body');
    }
    const problem = kv.Key === '' ? undefined : validateKey(kv.Key);
    if (problem) throw ErrRequestDecode(`[${i}].KV.Key: ${problem}`, 'Failed to parse body');
    const op: KVTxnOp = { Verb: kv.Verb as KVTxnOp['Verb'], Key: kv.Key };
    if (kv.Value !== undefined && kv.Value !== null) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(kv.Value)) throw ErrRequestDecode(`[${i}].KV.Value: illegal base64 data`, 'Failed to parse body');
      const size = Buffer.byteLength(kv.Value, 'base64');
      if (size > KV_MAX_VALUE_SIZE) {
        throw Errors.payloadTooLarge(`Value for key "${kv.Key}" is too large (${size} > ${KV_MAX_VALUE_SIZE} bytes)`);
      }
      op.Value = kv.Value;
    }
    if (kv.Flags !== undefined && kv.Flags !== null) op.Flags = kv.Flags;
    if (kv.Index !== undefined && kv.Index !== null) op.Index = kv.Index;
    if (kv.Session !== undefined && kv.Session !== null) op.Session = kv.Session;
    return op;
  });
}
