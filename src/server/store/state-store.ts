/**
 * The state store: an in-memory view that every read comes from, one global index, watches per table and prefix,
 * and a backend that makes writes durable. Writes are group-committed: transactions that arrive while a commit is
 * being made durable are run one after the other against a staged view and made durable together, so throughput
 * grows with concurrency instead of being capped at one fsync per write. Readers never see a write before it is
 * durable; a writer's promise resolves only after its write is durable and visible.
 *
 * A replicated backend (etcd) changes two things: the backend, not this store, assigns indexes, and changes reach
 * the view only through the backend's follower — this replica's writes as well as the other replicas'. A group is
 * still run against one staged view, but its transactions are committed one by one, each with compare-and-swap on
 * what it read; a refused one, and every transaction queued after it, runs again once the view has caught up.
 */
import { defineError } from '../../lib/errors.ts';
import { indexFunction } from './secondary-index.ts';
import { SortedTable } from './sorted-table.ts';
import { WatchRegistry } from './watch-registry.ts';
import type {
  AnyStoreBackend, Change, LoadedState, Mutation, PreparedCommit, ReadSet, ReplicatedBackend, StoreBackend, StoreReader,
  StoredRow, WatchSpec, WriteTxn,
} from './types.ts';

export const ErrStoreClosed = defineError('MG_STORE_CLOSED', 503, () => 'state store is closed');
export const ErrStoreConflict = defineError('MG_STORE_CONFLICT', 503, (attempts: number) =>
  `state store: transaction still conflicted with other replicas' writes after ${attempts} attempts`);
export const ErrStoreBehind = defineError('MG_STORE_BEHIND', 503, (index: number, applied: number) =>
  `state store: the view did not catch up with index ${index} (applied ${applied})`);

/** How often a transaction refused for stale reads is run again before its writer gets MG_STORE_CONFLICT. */
export const MAX_WRITE_ATTEMPTS = 25;
/** How long a commit waits for the replicated view to apply an index it knows exists. */
const CATCH_UP_TIMEOUT_MS = 30_000;

interface QueuedWrite {
  run: (tx: WriteTxn) => unknown;
  resolve: (value: { index: number; result: unknown }) => void;
  reject: (err: unknown) => void;
  /** Runs refused by a replicated backend so far. */
  attempts?: number;
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
  /** Longest group committed so far and totals, for metrics and the benchmark; `conflicts` counts refused runs. */
  readonly stats = { commits: 0, transactions: 0, largestGroup: 0, conflicts: 0 };

  private readonly backend: AnyStoreBackend;
  /** Replicated only: changes that arrived before the snapshot was in place, then callers waiting for an index. */
  private early: Change[] | undefined = [];
  private readonly catchUps = new Set<{ index: number; done: () => void }>();
  /** A lone store is always the leader; a replica is one only after winning the backend's election. */
  private leading: boolean;
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();

  private constructor(backend: AnyStoreBackend) {
    this.backend = backend;
    this.leading = backend.replicated !== true;
  }

  static async open(backend: AnyStoreBackend): Promise<StateStore> {
    const store = new StateStore(backend);
    const loaded: LoadedState = backend.replicated ? await backend.follow((c) => store.follow(c)) : await backend.load();
    for (const { table, row } of loaded.rows) store.table(table).set(row);
    for (const [table, index] of loaded.tableIndexes) store.tableIndexes.set(table, index);
    store.lastIndex = loaded.index;
    const early = store.early ?? [];
    store.early = undefined;
    for (const change of early) store.follow(change);
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

  /** Whether this server should run the leader-only duties (session TTL expiry); see `campaign`. */
  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Enters this server in the election for the leader-only duties. A store on a local backend is the only one and
   * leads already; a replica leads once the backend's election (etcd) says so.
   */
  campaign(candidate: string): void {
    if (!this.backend.replicated) return;
    this.backend.campaign(candidate, (leading) => {
      if (leading === this.leading) return;
      this.leading = leading;
      for (const fn of this.leadershipListeners) fn(leading);
    });
  }

  /** Called when this server gains or loses leadership. */
  onLeadership(listener: (leading: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
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

  /** Replicated backends: one committed change, from any replica, in index order. */
  private follow(change: Change): void {
    if (this.early) {
      this.early.push(change);
      return;
    }
    if (change.index <= this.lastIndex) return; // the snapshot already has it, or a resumed watch repeats it
    this.apply(change);
    if (change.mutations.length > 0) {
      this.watches.notify(change.index, change.mutations);
      for (const listener of this.listeners) listener(change);
    }
    for (const c of this.catchUps) if (c.index <= this.lastIndex) c.done();
  }

  /** Resolves once the view has applied `index` (replicated backends, whose changes arrive through `follow`). */
  private caughtUp(index: number): Promise<void> {
    if (index <= this.lastIndex) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const entry = {
        index,
        done: () => {
          clearTimeout(timer);
          this.catchUps.delete(entry);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.catchUps.delete(entry);
        reject(ErrStoreBehind(index, this.lastIndex));
      }, CATCH_UP_TIMEOUT_MS);
      this.catchUps.add(entry);
    });
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
    if (this.backend.replicated) return this.commitReplicated(this.backend, batch);
    const local = this.backend;
    const staged = new StagedView(this, this.tableIndexes);
    const prepared: PreparedCommit[] = [];
    const settled: Array<{ write: QueuedWrite; index: number; result: unknown }> = [];
    let nextIndex = this.lastIndex;
    for (const write of batch) {
      const tx = new Transaction(staged, nextIndex + 1, false);
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
      prepared.push({ index: nextIndex, mutations: tx.mutations });
      settled.push({ write, index: nextIndex, result });
    }
    if (prepared.length > 0) {
      try {
        await local.commit(prepared);
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

  /**
   * A group against a replicated backend: every transaction runs against one staged view with provisional indexes
   * (above any real one), then they are committed in order, each as one CAS transaction whose reads of earlier
   * staged rows are mapped to the revisions those committed at. When one is refused, it and everything after it
   * in the batch — whose results may rest on it — go back to the head of the queue and run again once the view
   * holds the change that refused it. Writers are answered only after the view has applied their revision.
   */
  private async commitReplicated(backend: ReplicatedBackend, batch: QueuedWrite[]): Promise<void> {
    const base = this.lastIndex;
    const staged = new StagedView(this, this.tableIndexes);
    type Outcome = { write: QueuedWrite; tx?: Transaction; result?: unknown; error?: unknown; index?: number };
    const outcomes: Outcome[] = [];
    let provisional = base;
    for (const write of batch) {
      const tx = new Transaction(staged, provisional + 1, true);
      try {
        const result = write.run(tx);
        if (tx.mutations.length === 0) {
          outcomes.push({ write, result });
          continue;
        }
        provisional++;
        staged.wroteTables(tx.mutations, provisional);
        outcomes.push({ write, tx, result });
      } catch (err) {
        tx.discard();
        outcomes.push({ write, error: err });
      }
    }

    const real = new Map<number, number>(); // provisional index → revision committed at
    const toReal = (seen: number): number => (seen > base ? real.get(seen)! : seen);
    let settle = outcomes.length;
    let highest = 0;
    let failure: unknown;
    let retryAfter = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i]!;
      if (!o.tx) continue;
      const reads = o.tx.readSet();
      const mapped: ReadSet = {
        keys: new Map([...reads.keys].map(([k, v]) => [k, toReal(v)])),
        tables: new Map([...reads.tables].map(([t, v]) => [t, toReal(v)])),
        scanned: reads.scanned,
      };
      try {
        const r = await backend.commitOne({ reads: mapped, mutations: o.tx.mutations });
        if (r.committed) {
          real.set(o.tx.index, r.index);
          o.index = r.index;
          highest = r.index;
          continue;
        }
        retryAfter = r.index;
      } catch (err) {
        failure = err;
      }
      settle = i;
      break;
    }
    // Everything after a refused or failed commit may rest on it: run again (refused) or fail with it.
    const rest = outcomes.slice(settle);
    if (failure !== undefined) for (const o of rest) o.write.reject(failure);
    else if (rest.length > 0) {
      this.stats.conflicts++;
      const again: QueuedWrite[] = [];
      for (const o of rest) {
        const attempts = (o.write.attempts ?? 0) + 1;
        if (attempts >= MAX_WRITE_ATTEMPTS) o.write.reject(ErrStoreConflict(attempts));
        else again.push({ ...o.write, attempts });
      }
      this.queue = [...again, ...this.queue];
    }
    try {
      await this.caughtUp(Math.max(highest, retryAfter));
    } catch (err) {
      for (const o of outcomes.slice(0, settle)) o.write.reject(err);
      return;
    }
    let committed = 0;
    for (const o of outcomes.slice(0, settle)) {
      if (o.error !== undefined) o.write.reject(o.error);
      else o.write.resolve({ index: o.index ?? this.lastIndex, result: o.result });
      if (o.index !== undefined) committed++;
    }
    if (committed > 0) {
      this.stats.commits++;
      this.stats.transactions += committed;
      this.stats.largestGroup = Math.max(this.stats.largestGroup, committed);
    }
  }

  private apply(change: Change): void {
    for (const m of change.mutations) {
      if (m.op === 'put') this.table(m.table).set(m.row);
      else this.tables.get(m.table)?.delete(m.key);
      if (!change.tables) this.tableIndexes.set(m.table, change.index);
    }
    if (change.tables) for (const t of change.tables) this.tableIndexes.set(t, change.index);
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
  private readonly baseTableIndexes: ReadonlyMap<string, number>;
  /** table → provisional index of the last staged transaction that wrote it (replicated groups only). */
  private readonly stagedTableIndexes = new Map<string, number>();
  constructor(base: StoreReader, tableIndexes: ReadonlyMap<string, number>) {
    this.base = base;
    this.baseTableIndexes = tableIndexes;
  }

  tableIndex(table: string): number {
    return this.stagedTableIndexes.get(table) ?? this.baseTableIndexes.get(table) ?? 0;
  }

  wroteTables(mutations: readonly Mutation[], index: number): void {
    for (const m of mutations) this.stagedTableIndexes.set(m.table, index);
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
    return mergeStaged(rows, keys, staged, () => true);
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
    return mergeStaged(rows, keys, staged, (row) => of(row.value) === value);
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

class Transaction implements WriteTxn {
  readonly mutations: Mutation[] = [];
  /**
   * The read set, recorded only for a CAS backend (etcd): the local backend commits what this process decided, in
   * order, so it never asks, and the sqlite path pays nothing for it. A scan records its table (one compare on the
   * table's index guards every row it returned and every row it did not), not its rows.
   */
  private readonly recording: boolean;
  private readonly readKeys = new Map<string, number>();
  private readonly readTables = new Map<string, number>();
  private readonly scanned = new Set<string>();
  private readonly mutationAt = new Map<string, number>();
  private readonly view: StagedView;
  readonly index: number;
  /** What the overlay held before this transaction touched a key, to undo on failure. */
  private readonly undo: Array<{ table: string; key: string; previous: StoredRow | null | undefined }> = [];

  constructor(view: StagedView, index: number, recordReads: boolean) {
    this.view = view;
    this.index = index;
    this.recording = recordReads;
  }

  /** What this transaction depended on (empty unless recording). */
  readSet(): ReadSet {
    return { keys: this.readKeys, tables: this.readTables, scanned: this.scanned };
  }

  get<V>(table: string, key: string): StoredRow<V> | undefined {
    const row = this.view.get<V>(table, key);
    if (this.recording) this.recordKey(table, key, row);
    return row;
  }

  list<V>(table: string, prefix = ''): StoredRow<V>[] {
    if (this.recording) this.recordScan(table);
    return this.view.list<V>(table, prefix);
  }

  listBy<V>(table: string, index: string, value: string): StoredRow<V>[] {
    if (this.recording) this.recordScan(table);
    return this.view.listBy<V>(table, index, value);
  }

  count(table: string): number {
    if (this.recording) this.recordScan(table);
    return this.view.count(table);
  }

  /**
   * Only the first read of a key counts, and none after this transaction wrote it: what it sees then is its own
   * write, not something another replica could have changed.
   */
  private recordKey(table: string, key: string, row: StoredRow | undefined): void {
    const id = `${table}\0${key}`;
    if (this.readKeys.has(id) || this.mutationAt.has(id)) return;
    this.readKeys.set(id, row?.modifyIndex ?? 0);
    if (!this.readTables.has(table)) this.readTables.set(table, this.view.tableIndex(table));
  }

  private recordScan(table: string): void {
    this.scanned.add(table);
    if (!this.readTables.has(table)) this.readTables.set(table, this.view.tableIndex(table));
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
    const existing = this.view.get(table, key);
    if (this.recording) this.recordKey(table, key, existing); // the answer depends on it
    if (existing === undefined) return false;
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

/**
 * Merges key-ordered base rows with the staged versions of `keys` (unsorted; sorted here): a staged key replaces its
 * base row, and is kept only when it is not a tombstone and `keep` accepts it. Linear in rows plus the staged keys.
 */
function mergeStaged<V>(
  rows: StoredRow<V>[],
  keys: string[],
  staged: Map<string, StoredRow | typeof TOMBSTONE>,
  keep: (row: StoredRow) => boolean,
): StoredRow<V>[] {
  keys.sort(compareKeys);
  const merged: StoredRow<V>[] = [];
  let i = 0;
  for (const key of keys) {
    while (i < rows.length && rows[i]!.key < key) merged.push(rows[i++]!);
    if (i < rows.length && rows[i]!.key === key) i++;
    const row = staged.get(key)!;
    if (row !== TOMBSTONE && keep(row)) merged.push(row as StoredRow<V>);
  }
  while (i < rows.length) merged.push(rows[i++]!);
  return merged;
}
