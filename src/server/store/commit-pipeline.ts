/**
 * What a commit pipeline (one per kind of backend: `commit-local.ts`, `commit-replicated.ts`) needs from the store:
 * the queued writes it commits, the live view and indexes it stages them against, and the store's hooks to apply,
 * publish, re-queue and wait. The store owns the state; a pipeline only decides how a group becomes durable.
 */
import type { Change, StoreReader, WriteTxn } from './types.ts';

/** How often a transaction refused for stale reads is run again before its writer gets MG_STORE_CONFLICT. */
export const MAX_WRITE_ATTEMPTS = 25;

export interface QueuedWrite {
  run: (tx: WriteTxn) => unknown;
  resolve: (value: { index: number; result: unknown }) => void;
  reject: (err: unknown) => void;
  /** Runs refused by a replicated backend so far. */
  attempts?: number;
  /**
   * Set for work that must run alone, with no group in flight (a snapshot restore): the queue drains up to it, runs
   * it, and resolves the writer with its result; `run` is not called.
   */
  exclusive?: () => Promise<{ index: number; result: unknown }>;
}

/** Longest group committed so far and totals, for metrics and the benchmark; `conflicts` counts refused runs. */
export interface CommitStats {
  commits: number;
  transactions: number;
  largestGroup: number;
  conflicts: number;
}

export interface CommitHost {
  /** The live view a group is staged against. */
  readonly view: StoreReader;
  readonly tableIndexes: ReadonlyMap<string, number>;
  /** The index of the last change in the view. */
  lastIndex(): number;
  readonly stats: CommitStats;
  /** Local backends: puts a durable change into the view. */
  apply(change: Change): void;
  /** Wakes the watches and listeners a change in the view concerns. */
  publish(change: Change): void;
  /** Puts writes back at the head of the queue, to run again in the next group. */
  requeue(writes: QueuedWrite[]): void;
  /** Resolves once the view has applied `index` (replicated backends). */
  caughtUp(index: number): Promise<void>;
}

export function recordGroup(stats: CommitStats, transactions: number): void {
  stats.commits++;
  stats.transactions += transactions;
  stats.largestGroup = Math.max(stats.largestGroup, transactions);
}
