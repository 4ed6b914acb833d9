/**
 * Watches keyed by table and key prefix: a commit wakes only the waiters whose table and prefix (or exact key)
 * it touched, so 1,000 blocking queries on one service are woken by that service's change and by nothing else.
 */
import type { Mutation, WatchSpec } from './types.ts';

interface Waiter {
  readonly afterIndex: number;
  readonly wake: () => void;
}

/** table → prefix (or "=key" for exact keys) → waiters */
type TableWatches = Map<string, Set<Waiter>>;

export class WatchRegistry {
  private readonly tables = new Map<string, TableWatches>();
  private waiting = 0;

  /** Number of callers currently blocked (exported as a metric). */
  get size(): number {
    return this.waiting;
  }

  /**
   * Resolves after a commit with index > afterIndex touches one of the specs, or when the signal aborts
   * (resolves, not rejects: a blocking query that times out answers with the current data).
   */
  wait(specs: readonly WatchSpec[], afterIndex: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const entries: Array<[TableWatches, string]> = [];
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        this.waiting--;
        signal.removeEventListener('abort', finish);
        for (const [watches, slot] of entries) {
          const set = watches.get(slot);
          if (!set) continue;
          set.delete(waiter);
          if (set.size === 0) watches.delete(slot);
        }
        resolve();
      };
      const waiter: Waiter = { afterIndex, wake: finish };
      this.waiting++;
      for (const spec of specs) {
        let watches = this.tables.get(spec.table);
        if (!watches) this.tables.set(spec.table, (watches = new Map()));
        const slot = spec.key !== undefined ? `=${spec.key}` : `^${spec.prefix ?? ''}`;
        let set = watches.get(slot);
        if (!set) watches.set(slot, (set = new Set()));
        set.add(waiter);
        entries.push([watches, slot]);
      }
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  /** Wakes every waiter behind `index` (a snapshot restore changes everything at once). */
  notifyAll(index: number): void {
    const toWake = new Set<Waiter>();
    for (const watches of this.tables.values()) for (const waiters of watches.values()) for (const w of waiters) if (index > w.afterIndex) toWake.add(w);
    for (const w of toWake) w.wake();
  }

  /** Wakes the waiters a committed change concerns. */
  notify(index: number, mutations: readonly Mutation[]): void {
    const toWake = new Set<Waiter>();
    for (const m of mutations) {
      const watches = this.tables.get(m.table);
      if (!watches) continue;
      for (const [slot, waiters] of watches) {
        const matches = slot.charCodeAt(0) === 61 /* = */ ? slot.slice(1) === m.key : m.key.startsWith(slot.slice(1));
        if (!matches) continue;
        for (const w of waiters) if (index > w.afterIndex) toWake.add(w);
      }
    }
    for (const w of toWake) w.wake();
  }
}
