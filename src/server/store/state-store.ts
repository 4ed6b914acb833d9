/**
 * The state store: an in-memory view that every read comes from, one global index, watches per table and prefix,
 * and a backend that makes writes durable. Writes are group-committed: transactions that arrive while a commit is
 * being made durable are run one after the other against a staged view and made durable together, so throughput
 * grows with concurrency instead of being capped at one fsync per write. Readers never see a write before it is
 * durable; a writer's promise resolves only after its write is durable and visible.
 */
import { defineError } from '../../lib/errors.ts';
import { indexFunction } from './secondary-index.ts';
import { SortedTable } from './sorted-table.ts';
import { WatchRegistry } from './watch-registry.ts';
import type {
  Change, Mutation, PreparedCommit, StoreBackend, StoreReader, StoredRow, WatchSpec, WriteTxn,
} from './types.ts';

export const ErrStoreClosed = defineError('MG_STORE_CLOSED', 503, () => 'state store is closed');

interface QueuedWrite {
  run: (tx: WriteTxn) => unknown;
  resolve: (value: { index: number; result: unknown }) => void;
  reject: (err: unknown) => void;
}

export interface ChangeListener {
  (change: Change): void;
}

export class StateStore implements StoreReader {
  private readonly tables = new Map<string, SortedTable>();
  private readonly tableIndexes = new Map<string, number>();
  private readonly watches = new WatchRegistry();
  private readonly listeners = new Set<ChangeListener>();
  private queue: QueuedWrite[] = [];
  private committing = false;
  private closed = false;
  private lastIndex = 0;
  /** Longest group committed so far and totals, for metrics and the benchmark. */
  readonly stats = { commits: 0, transactions: 0, largestGroup: 0 };

  private readonly backend: StoreBackend;

  private constructor(backend: StoreBackend) {
    this.backend = backend;
  }

  static async open(backend: StoreBackend): Promise<StateStore> {
    const store = new StateStore(backend);
    const loaded = await backend.load();
    for (const { table, row } of loaded.rows) store.table(table).set(row);
    for (const [table, index] of loaded.tableIndexes) store.tableIndexes.set(table, index);
    store.lastIndex = loaded.index;
    return store;
  }

  get backendName(): string {
    return this.backend.name;
  }

  /** The global index: the index of the last durable write (X-Consul-Index's ceiling). */
  get index(): number {
    return this.lastIndex;
  }

  /** Highest index of a write that touched any of the tables; at least 1, as Consul never reports 0. */
  tableIndex(...tables: string[]): number {
    let max = 0;
    for (const t of tables) max = Math.max(max, this.tableIndexes.get(t) ?? 0);
    return Math.max(max, 1);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  get<V = unknown>(table: string, key: string): StoredRow<V> | undefined {
    return this.tables.get(table)?.get(key) as StoredRow<V> | undefined;
  }

  list<V = unknown>(table: string, prefix = ''): StoredRow<V>[] {
    return (this.tables.get(table)?.list(prefix) ?? []) as StoredRow<V>[];
  }

  listBy<V = unknown>(table: string, index: string, value: string): StoredRow<V>[] {
    const t = this.tables.get(table);
    if (!t) {
      indexFunction(table, index); // an unknown index is an error even before the table has rows
      return [];
    }
    return t.listBy(index, value) as StoredRow<V>[];
  }

  count(table: string): number {
    return this.tables.get(table)?.size ?? 0;
  }

  /**
   * Runs `fn` as one atomic write transaction. `fn` runs synchronously against the latest state (including writes
   * queued ahead of it); if it throws, nothing it did is written and the promise rejects with that error.
   * A transaction that changes nothing resolves at the current index without a commit.
   */
  write<R>(fn: (tx: WriteTxn) => R): Promise<{ index: number; result: R }> {
    if (this.closed) return Promise.reject(ErrStoreClosed());
    return new Promise((resolve, reject) => {
      this.queue.push({ run: fn, resolve: resolve as QueuedWrite['resolve'], reject });
      if (!this.committing) queueMicrotask(() => void this.drain());
    });
  }

  /** Resolves when a durable write with index > afterIndex touches one of the specs, or the signal aborts. */
  waitForChange(specs: readonly WatchSpec[], afterIndex: number, signal: AbortSignal): Promise<void> {
    return this.watches.wait(specs, afterIndex, signal);
  }

  /** Every committed change, in order (replication, metrics, the UI's event stream). */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.committing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.backend.close();
  }

  private table(name: string): SortedTable {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new SortedTable(name)));
    return t;
  }

  private async drain(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.commitGroup(batch);
      }
    } finally {
      this.committing = false;
    }
  }

  private async commitGroup(batch: QueuedWrite[]): Promise<void> {
    const staged = new StagedView(this);
    const prepared: PreparedCommit[] = [];
    const settled: Array<{ write: QueuedWrite; index: number; result: unknown }> = [];
    let nextIndex = this.lastIndex;
    for (const write of batch) {
      const tx = new Transaction(staged, nextIndex + 1);
      let result: unknown;
      try {
        result = write.run(tx);
      } catch (err) {
        tx.discard();
        write.reject(err);
        continue;
      }
      if (tx.mutations.length === 0) {
        settled.push({ write, index: nextIndex, result });
        continue;
      }
      nextIndex++;
      const done = tx;
      prepared.push({ index: nextIndex, mutations: tx.mutations, get reads() { return done.reads; } });
      settled.push({ write, index: nextIndex, result });
    }
    if (prepared.length > 0) {
      try {
        await this.backend.commit(prepared);
      } catch (err) {
        for (const s of settled) s.write.reject(err);
        return;
      }
      for (const change of prepared) this.apply(change);
      this.stats.commits++;
      this.stats.transactions += prepared.length;
      this.stats.largestGroup = Math.max(this.stats.largestGroup, prepared.length);
    }
    for (const s of settled) s.write.resolve({ index: s.index === 0 ? this.lastIndex : s.index, result: s.result });
    for (const change of prepared) {
      this.watches.notify(change.index, change.mutations);
      for (const listener of this.listeners) listener(change);
    }
  }

  private apply(change: Change): void {
    for (const m of change.mutations) {
      if (m.op === 'put') this.table(m.table).set(m.row);
      else this.tables.get(m.table)?.delete(m.key);
      this.tableIndexes.set(m.table, change.index);
    }
    this.lastIndex = change.index;
  }
}

const TOMBSTONE = null;

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The live view plus the writes of transactions staged in the current group but not yet durable. */
class StagedView implements StoreReader {
  /** table → key → row (or TOMBSTONE for a staged delete) */
  readonly overlay = new Map<string, Map<string, StoredRow | typeof TOMBSTONE>>();
  private readonly base: StoreReader;
  constructor(base: StoreReader) {
    this.base = base;
  }

  get<V>(table: string, key: string): StoredRow<V> | undefined {
    const staged = this.overlay.get(table)?.get(key);
    if (staged !== undefined) return staged === TOMBSTONE ? undefined : (staged as StoredRow<V>);
    return this.base.get<V>(table, key);
  }

  /**
   * The base rows merged with the staged ones. Both sides are in key order, so this is one linear merge over the
   * base plus a sort of only the staged keys under the prefix (a group of 64 writes stages 64 keys, while the
   * table may hold tens of thousands).
   */
  list<V>(table: string, prefix = ''): StoredRow<V>[] {
    const rows = this.base.list<V>(table, prefix);
    const staged = this.overlay.get(table);
    if (!staged || staged.size === 0) return rows;
    const keys: string[] = [];
    for (const key of staged.keys()) if (key.startsWith(prefix)) keys.push(key);
    if (keys.length === 0) return rows;
    keys.sort(compareKeys);
    const merged: StoredRow<V>[] = [];
    let i = 0;
    for (const key of keys) {
      while (i < rows.length && rows[i]!.key < key) merged.push(rows[i++]!);
      if (i < rows.length && rows[i]!.key === key) i++;
      const row = staged.get(key)!;
      if (row !== TOMBSTONE) merged.push(row as StoredRow<V>);
    }
    while (i < rows.length) merged.push(rows[i++]!);
    return merged;
  }

  /**
   * The base rows with that index value, merged with the staged rows that have it and without the base rows whose
   * staged version no longer has it (or is deleted): linear in the matches plus the group's staged keys.
   */
  listBy<V>(table: string, index: string, value: string): StoredRow<V>[] {
    const rows = this.base.listBy<V>(table, index, value);
    const staged = this.overlay.get(table);
    if (!staged || staged.size === 0) return rows;
    const of = indexFunction(table, index);
    const keys: string[] = [];
    for (const [key, row] of staged) {
      if (row !== TOMBSTONE && of(row.value) === value) keys.push(key);
      else {
        const base = this.base.get(table, key);
        if (base && of(base.value) === value) keys.push(key);
      }
    }
    if (keys.length === 0) return rows;
    keys.sort(compareKeys);
    const merged: StoredRow<V>[] = [];
    let i = 0;
    for (const key of keys) {
      while (i < rows.length && rows[i]!.key < key) merged.push(rows[i++]!);
      if (i < rows.length && rows[i]!.key === key) i++;
      const row = staged.get(key)!;
      if (row !== TOMBSTONE && of(row.value) === value) merged.push(row as StoredRow<V>);
    }
    while (i < rows.length) merged.push(rows[i++]!);
    return merged;
  }

  count(table: string): number {
    const staged = this.overlay.get(table);
    let n = this.base.count(table);
    if (!staged) return n;
    for (const [key, row] of staged) {
      const existed = this.base.get(table, key) !== undefined;
      if (row === TOMBSTONE && existed) n--;
      else if (row !== TOMBSTONE && !existed) n++;
    }
    return n;
  }

  stage(table: string, key: string, row: StoredRow | typeof TOMBSTONE): void {
    let t = this.overlay.get(table);
    if (!t) this.overlay.set(table, (t = new Map()));
    t.set(key, row);
  }

  unstage(table: string, key: string, previous: StoredRow | typeof TOMBSTONE | undefined): void {
    const t = this.overlay.get(table)!;
    if (previous === undefined) t.delete(key);
    else t.set(key, previous);
  }
}

/** One read a transaction made: a point read's row (or its absence) or the rows a list returned. */
type ReadEvent = { table: string; key: string; row: StoredRow | undefined } | { table: string; rows: readonly StoredRow[] };

class Transaction implements WriteTxn {
  readonly mutations: Mutation[] = [];
  /**
   * The read set is logged, not built: only a CAS backend (etcd) asks for it, and building a map entry per row a
   * list returned made a whole-table scan inside a transaction cost far more than the scan itself. Rows are
   * immutable, so the log holds exactly what was seen.
   */
  private readonly readLog: ReadEvent[] = [];
  private readSet: Map<string, number> | undefined;
  private readonly mutationAt = new Map<string, number>();
  private readonly view: StagedView;
  readonly index: number;
  /** What the overlay held before this transaction touched a key, to undo on failure. */
  private readonly undo: Array<{ table: string; key: string; previous: StoredRow | null | undefined }> = [];

  constructor(view: StagedView, index: number) {
    this.view = view;
    this.index = index;
  }

  /** `${table}\0${key}` → modifyIndex seen (0 when absent); a later read of a key replaces an earlier one. */
  get reads(): ReadonlyMap<string, number> {
    if (this.readSet) return this.readSet;
    const set = new Map<string, number>();
    for (const e of this.readLog) {
      if ('rows' in e) for (const r of e.rows) set.set(`${e.table}\0${r.key}`, r.modifyIndex);
      else set.set(`${e.table}\0${e.key}`, e.row?.modifyIndex ?? 0);
    }
    return (this.readSet = set);
  }

  get<V>(table: string, key: string): StoredRow<V> | undefined {
    const row = this.view.get<V>(table, key);
    this.readLog.push({ table, key, row });
    return row;
  }

  list<V>(table: string, prefix = ''): StoredRow<V>[] {
    const rows = this.view.list<V>(table, prefix);
    // The caller gets its own array; the log keeps one it cannot mutate.
    this.readLog.push({ table, rows: rows.slice() });
    return rows;
  }

  listBy<V>(table: string, index: string, value: string): StoredRow<V>[] {
    const rows = this.view.listBy<V>(table, index, value);
    this.readLog.push({ table, rows: rows.slice() });
    return rows;
  }

  count(table: string): number {
    return this.view.count(table);
  }

  put<V>(table: string, key: string, value: V): StoredRow<V> {
    const existing = this.view.get(table, key);
    const row: StoredRow<V> = { key, value, createIndex: existing?.createIndex ?? this.index, modifyIndex: this.index };
    this.remember(table, key);
    this.view.stage(table, key, row);
    this.record({ op: 'put', table, key, row });
    return row;
  }

  delete(table: string, key: string): boolean {
    if (this.view.get(table, key) === undefined) return false;
    this.remember(table, key);
    this.view.stage(table, key, TOMBSTONE);
    this.record({ op: 'delete', table, key });
    return true;
  }

  discard(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) {
      const u = this.undo[i]!;
      this.view.unstage(u.table, u.key, u.previous);
    }
  }

  private remember(table: string, key: string): void {
    this.undo.push({ table, key, previous: this.view.overlay.get(table)?.get(key) });
  }

  /** Keeps only the last mutation per key: a transaction that writes a key twice commits its final state. */
  private record(m: Mutation): void {
    const id = `${m.table}\0${m.key}`;
    const at = this.mutationAt.get(id);
    if (at !== undefined) {
      this.mutations[at] = m;
      return;
    }
    this.mutationAt.set(id, this.mutations.length);
    this.mutations.push(m);
  }
}
