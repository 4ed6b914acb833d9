/**
 * KV entries in the state store (table `kv`, key = the KV key) and the operations on them that both `/v1/kv` and
 * `/v1/txn` use, with the semantics of Consul's state store: check-and-set on ModifyIndex, locks held by sessions
 * (LockIndex counts acquisitions), lock-delay after a lock is lost. Values are kept base64-encoded, as on the wire.
 */
import type { KVPair } from '../../api/types.ts';
import { defineError } from '../../lib/errors.ts';
import type { StoreReader, StoredRow, WriteTxn } from '../store/types.ts';

export const KV_TABLE = 'kv';
/**
 * Consul's KV graveyard (`tombstonesTableSchema` in agent/consul/state/kvs.go): one row per deleted key (one per
 * prefix for a tree delete) at the index of the delete, so a prefix's index — the highest index of its entries and
 * tombstones — never slides back when a key under it disappears. Reaped after a while (see tombstones.ts).
 */
export const KV_TOMBSTONES_TABLE = 'kv-tombstones';
export const SESSIONS_TABLE = 'sessions';
/** Consul's kv_max_value_size default. */
export const KV_MAX_VALUE_SIZE = 512 * 1024;

export interface KvValue {
  Flags: number;
  /** base64, or null for a key written with an empty body. */
  Value: string | null;
  LockIndex: number;
  Session?: string;
}

export const ErrInvalidSession = defineError('MG_KV_INVALID_SESSION', 500, (id: string) => `invalid session "${id}"`);
export const ErrMissingSession = defineError('MG_KV_MISSING_SESSION', 400, () => 'Missing session');

export function toKVPair(row: StoredRow<KvValue>, withValue = true): KVPair {
  const v = row.value;
  const pair: KVPair = {
    LockIndex: v.LockIndex,
    Key: row.key,
    Flags: v.Flags,
    Value: withValue ? v.Value : null,
    CreateIndex: row.createIndex,
    ModifyIndex: row.modifyIndex,
  };
  if (v.Session) pair.Session = v.Session;
  return pair;
}

/** A graveyard row's value: when the delete happened, for the reaper. */
export interface KvTombstone {
  At: number;
}

export interface KvWrite {
  key: string;
  value: string | null;
  flags: number;
}

/** Plain set; keeps the lock holder and LockIndex of an existing entry, as Consul's kvsSetTxn does. */
export function kvSet(tx: WriteTxn, w: KvWrite): StoredRow<KvValue> {
  const existing = tx.get<KvValue>(KV_TABLE, w.key);
  const next: KvValue = { Flags: w.flags, Value: w.value, LockIndex: existing?.value.LockIndex ?? 0 };
  if (existing?.value.Session) next.Session = existing.value.Session;
  return tx.put(KV_TABLE, w.key, next);
}

/** Check-and-set: index 0 writes only when absent; otherwise ModifyIndex must match. */
export function kvCas(tx: WriteTxn, w: KvWrite, index: number): StoredRow<KvValue> | undefined {
  const existing = tx.get<KvValue>(KV_TABLE, w.key);
  if (index === 0 ? existing !== undefined : existing?.modifyIndex !== index) return undefined;
  return kvSet(tx, w);
}

/**
 * Acquire: the session must exist; a lock held by another session, or a key in lock-delay, refuses (undefined).
 * Re-acquiring with the holding session updates the value without bumping LockIndex.
 */
export function kvLock(tx: WriteTxn, w: KvWrite, session: string, lockDelayed: (key: string) => boolean): StoredRow<KvValue> | undefined {
  if (!session) throw ErrMissingSession();
  if (!tx.get(SESSIONS_TABLE, session)) throw ErrInvalidSession(session);
  const existing = tx.get<KvValue>(KV_TABLE, w.key);
  if (existing?.value.Session === session) {
    return tx.put(KV_TABLE, w.key, { ...existing.value, Flags: w.flags, Value: w.value });
  }
  if (existing?.value.Session) return undefined;
  if (lockDelayed(w.key)) return undefined;
  return tx.put(KV_TABLE, w.key, { Flags: w.flags, Value: w.value, LockIndex: (existing?.value.LockIndex ?? 0) + 1, Session: session });
}

/** Release: only the holding session can; the value is updated and the holder cleared. */
export function kvUnlock(tx: WriteTxn, w: KvWrite, session: string): StoredRow<KvValue> | undefined {
  if (!session) throw ErrMissingSession();
  const existing = tx.get<KvValue>(KV_TABLE, w.key);
  if (!existing || existing.value.Session !== session) return undefined;
  return tx.put(KV_TABLE, w.key, { Flags: w.flags, Value: w.value, LockIndex: existing.value.LockIndex });
}

/** Deletes one key and leaves its tombstone (Consul's kvsDeleteTxn); a missing key changes nothing. */
export function kvDelete(tx: WriteTxn, key: string): boolean {
  if (!tx.delete(KV_TABLE, key)) return false;
  tx.put<KvTombstone>(KV_TOMBSTONES_TABLE, key, { At: Date.now() });
  return true;
}

/** Delete-CAS: succeeds when the entry is absent or its ModifyIndex matches. */
export function kvDeleteCas(tx: WriteTxn, key: string, index: number): boolean {
  const existing = tx.get<KvValue>(KV_TABLE, key);
  if (!existing) return true;
  if (existing.modifyIndex !== index) return false;
  kvDelete(tx, key);
  return true;
}

/** Deletes a subtree with one tombstone for the prefix, as Consul's kvsDeleteTreeTxn does. */
export function kvDeleteTree(tx: WriteTxn, prefix: string): number {
  const rows = tx.list(KV_TABLE, prefix);
  for (const r of rows) tx.delete(KV_TABLE, r.key);
  if (rows.length > 0) tx.put<KvTombstone>(KV_TOMBSTONES_TABLE, prefix, { At: Date.now() });
  return rows.length;
}

/**
 * The index a read of a prefix reports (Consul's kvsListTxn): the highest index among the entries and tombstones
 * under the prefix, so writes elsewhere leave it alone; for the empty prefix, or a prefix with neither, the index
 * of the KV and graveyard tables.
 */
export function kvPrefixIndex(reader: StoreReader & { tableIndex(...tables: string[]): number }, prefix: string, rows: readonly StoredRow[]): number {
  if (prefix === '') return reader.tableIndex(KV_TABLE, KV_TOMBSTONES_TABLE);
  let max = 0;
  for (const r of rows) if (r.modifyIndex > max) max = r.modifyIndex;
  for (const t of reader.list(KV_TOMBSTONES_TABLE, prefix)) if (t.modifyIndex > max) max = t.modifyIndex;
  return max > 0 ? max : reader.tableIndex(KV_TABLE, KV_TOMBSTONES_TABLE);
}

/** `?keys&separator=`: the keys of `rows` (listed under prefix), rolled up at the first separator after the prefix. */
export function kvKeys(rows: readonly StoredRow[], prefix: string, separator: string): string[] {
  const out: string[] = [];
  let last = '';
  for (const row of rows) {
    let key = row.key;
    if (separator) {
      const at = key.indexOf(separator, prefix.length);
      if (at >= 0) key = key.slice(0, at + separator.length);
    }
    if (key !== last) out.push(key);
    last = key;
  }
  return out;
}

/**
 * Refuses keys that would be unsafe or ambiguous on the path: empty where a key is needed, a leading '/',
 * traversal ('../'), control characters. Consul's newest releases also refuse file-like extensions; we do not,
 * because existing clients store keys such as `config/app.json` (see docs/compatibility.md).
 */
export function validateKey(key: string): string | undefined {
  if (key.startsWith('/')) return "key must not begin with a '/'";
  if (key.includes('../') || key.includes('..\\')) return 'key contains path traversal sequence';
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u001f\u007f]/.exec(key);
  if (bad) return `key contains invalid character at position ${bad.index}`;
  return undefined;
}
