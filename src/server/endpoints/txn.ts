/**
 * PUT /v1/txn — Consul's transaction endpoint for KV verbs: at most 64 operations, applied all or nothing. Every
 * operation is tried so the answer lists every failure (409 with `Errors: [{OpIndex, What}]`); a transaction of
 * reads only is served from the view as a blocking-free read with the index headers.
 */
import type { KVTxnOp, TxnError, TxnResultEntry } from '../../api/types.ts';
import { Errors, MeshgateError } from '../../lib/errors.ts';
import type { ServerDeps } from '../deps.ts';
import { parseQueryOptions } from '../http/blocking.ts';
import type { ApiRouter, RequestContext } from '../http/router.ts';
import {
  KV_MAX_VALUE_SIZE, KV_TABLE, kvCas, kvDelete, kvDeleteCas, kvDeleteTree, kvLock, kvSet, kvUnlock, toKVPair,
  validateKey, type KvValue,
} from '../kv/entries.ts';
import type { StoreReader, StoredRow } from '../store/types.ts';

export const MAX_TXN_OPS = 64;
const READ_VERBS = new Set(['get', 'get-tree', 'check-index', 'check-session', 'check-not-exists']);

class TxnRollback extends Error {
  readonly errors: TxnError[];
  constructor(errors: TxnError[]) {
    super('transaction rolled back');
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
    return { body: { Results: results, Errors: null }, index };
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
    return { body: { Results: result, Errors: null } };
  } catch (err) {
    if (err instanceof TxnRollback) return { status: 409, body: { Results: null, Errors: err.errors } };
    throw err;
  }
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

/** Decodes the body into KV operations with Consul's 400 texts; non-KV operations are refused by name. */
function decodeOps(raw: unknown): KVTxnOp[] {
  if (!Array.isArray(raw)) throw Errors.badRequest('Failed to parse body: expected a JSON array of operations');
  return raw.map((item, i) => {
    if (!item || typeof item !== 'object') throw Errors.badRequest(`Failed to parse body: operation ${i} is not an object`);
    const entries = Object.entries(item as Record<string, unknown>);
    const kv = entries.find(([k]) => k.toLowerCase() === 'kv')?.[1];
    if (kv === undefined) {
      const kind = entries[0]?.[0] ?? 'empty';
      throw Errors.badRequest(`Failed to parse body: operation ${i}: only KV operations are supported, got "${kind}"`);
    }
    if (!kv || typeof kv !== 'object') throw Errors.badRequest(`Failed to parse body: operation ${i}: KV must be an object`);
    const get = (name: string): unknown => Object.entries(kv as Record<string, unknown>).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
    const verb = get('Verb');
    const key = get('Key');
    if (typeof verb !== 'string') throw Errors.badRequest(`Failed to parse body: operation ${i}: KV.Verb must be a string`);
    if (typeof key !== 'string') throw Errors.badRequest(`Failed to parse body: operation ${i}: KV.Key must be a string`);
    const problem = key === '' ? undefined : validateKey(key);
    if (problem) throw Errors.badRequest(`Failed to parse body: operation ${i}: KV.Key: ${problem}`);
    const op: KVTxnOp = { Verb: verb as KVTxnOp['Verb'], Key: key };
    const value = get('Value');
    if (value !== undefined && value !== null) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
        throw Errors.badRequest(`Failed to parse body: operation ${i}: KV.Value must be base64`);
      }
      const size = Buffer.byteLength(value, 'base64');
      if (size > KV_MAX_VALUE_SIZE) {
        throw Errors.payloadTooLarge(`Value for key "${key}" is too large (${size} > ${KV_MAX_VALUE_SIZE} bytes)`);
      }
      op.Value = value;
    }
    for (const name of ['Flags', 'Index'] as const) {
      const v = get(name);
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        throw Errors.badRequest(`Failed to parse body: operation ${i}: KV.${name} must be an unsigned integer`);
      }
      op[name] = v;
    }
    const session = get('Session');
    if (session !== undefined && session !== null) {
      if (typeof session !== 'string') throw Errors.badRequest(`Failed to parse body: operation ${i}: KV.Session must be a string`);
      op.Session = session;
    }
    return op;
  });
}
