/**
 * The KV graveyard's reaper. Tombstones keep a prefix's index from sliding back after a delete; once every blocking
 * query that could have seen the deleted key has long returned, they only cost memory. Consul reaps them after
 * `TombstoneTTL` (15 min, with a 30 s granularity; agent/consul/state/tombstone_gc.go); so does this, on the
 * leader only (the reap is a store write that every replica applies).
 */
import type { Logger } from '../../lib/logger.ts';
import type { StateStore } from '../store/state-store.ts';
import { KV_TOMBSTONES_TABLE, type KvTombstone } from './entries.ts';

export const TOMBSTONE_TTL_MS = 15 * 60_000;
export const TOMBSTONE_GRANULARITY_MS = 30_000;

/** Deletes the tombstones older than `ttlMs`; returns how many. */
export async function reapTombstones(store: StateStore, now: number, ttlMs = TOMBSTONE_TTL_MS): Promise<number> {
  if (!store.list<KvTombstone>(KV_TOMBSTONES_TABLE).some((t) => now - t.value.At >= ttlMs)) return 0;
  const { result } = await store.write((tx) => {
    let reaped = 0;
    for (const t of tx.list<KvTombstone>(KV_TOMBSTONES_TABLE)) {
      if (now - t.value.At < ttlMs) continue;
      tx.delete(KV_TOMBSTONES_TABLE, t.key);
      reaped++;
    }
    return reaped;
  });
  return result;
}

/** Runs the reaper every granularity period while this server leads; returns the stop function. */
export function startTombstoneReaper(store: StateStore, logger: Logger, ttlMs = TOMBSTONE_TTL_MS): () => void {
  const timer = setInterval(() => {
    if (!store.isLeader) return;
    reapTombstones(store, Date.now(), ttlMs).catch((err: unknown) => logger.warn({ err }, 'reaping KV tombstones failed'));
  }, Math.min(TOMBSTONE_GRANULARITY_MS, ttlMs));
  timer.unref();
  return () => clearInterval(timer);
}
