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
import { commitLocalGroup } from './commit-local.ts';
import type { CommitHost, CommitStats, QueuedWrite } from './commit-pipeline.ts';
import { commitReplicatedGroup } from './commit-replicated.ts';
import { ErrStoreBehind, ErrStoreClosed } from './errors.ts';
import { indexFunction } from './secondary-index.ts';
import { SortedTable } from './sorted-table.ts';
import { WatchRegistry } from './watch-registry.ts';
import type {
  AnyStoreBackend, Change, LoadedState, Mutation, StoreReader, StoreSnapshot, StoredRow, WatchSpec, WriteTxn,
} from './types.ts';

export { ErrStoreBehind, ErrStoreClosed, ErrStoreConflict } from './errors.ts';
export { MAX_WRITE_ATTEMPTS } from './commit-pipeline.ts';

/** How long a commit waits for the replicated view to apply an index it knows exists. */
const CATCH_UP_TIMEOUT_MS = 30_000;

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
  readonly stats: CommitStats = { commits: 0, transactions: 0, largestGroup: 0, conflicts: 0 };

  private readonly backend: AnyStoreBackend;
  /** Replicated only: changes that arrived before the snapshot was in place, then callers waiting for an index. */
  private early: Change[] | undefined = [];
  private readonly catchUps = new Set<{ index: number; done: () => void }>();
  /** A lone store is always the leader; a replica is one only after winning the backend's election. */
  private leading: boolean;
  private readonly leadershipListeners = new Set<(leading: boolean) => void>();
  /** A lone store's liveness marks (`touch`): name → until (epoch ms). */
  private readonly touches = new Map<string, number>();

  /** The store as its commit pipelines see it (commit-local.ts, commit-replicated.ts). */
  private readonly host: CommitHost;

  private constructor(backend: AnyStoreBackend) {
    this.backend = backend;
    this.leading = backend.replicated !== true;
    this.host = {
      view: this,
      tableIndexes: this.tableIndexes,
      lastIndex: () => this.lastIndex,
      stats: this.stats,
      apply: (change) => this.apply(change),
      publish: (change) => this.publish(change),
      requeue: (writes) => {
        this.queue = [...writes, ...this.queue];
      },
      caughtUp: (index) => this.caughtUp(index),
    };
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

  /**
   * The server replicas sharing this store, by the candidate each campaigns with, the leader first; undefined for
   * a local backend (this server is the only one).
   */
  async replicas(): Promise<Array<{ candidate: string; leader: boolean }> | undefined> {
    return this.backend.replicated ? ((await this.backend.campaigners?.()) ?? []) : undefined;
  }

  /** Called when this server gains or loses leadership. */
  onLeadership(listener: (leading: boolean) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  /**
   * Marks `name` alive until `untilMs` (epoch ms) for every replica: a session renewal sent to any replica counts
   * with the leader, which expires sessions. A lone store keeps the mark in memory.
   */
  async touch(name: string, untilMs: number): Promise<void> {
    if (this.backend.replicated) await this.backend.touch(name, untilMs);
    else this.touches.set(name, Math.max(untilMs, this.touches.get(name) ?? 0));
  }

  /** Until when (epoch ms) `name` was last marked alive by any replica; 0 when never. */
  async touchedUntil(name: string): Promise<number> {
    if (this.backend.replicated) return this.backend.touchedUntil(name);
    return this.touches.get(name) ?? 0;
  }

  /** Forgets a mark (a lone store's only; a replicated one expires with its lease). */
  untouch(name: string): void {
    this.touches.delete(name);
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

  /**
   * A consistent copy of the whole view at one index, taken synchronously (no write lands in the middle of it), so
   * it is a state that existed even under write load. Rows are immutable and shared, not copied.
   */
  snapshot(): StoreSnapshot {
    const rows: Array<{ table: string; row: StoredRow }> = [];
    for (const [name, table] of this.tables) for (const row of table.list('')) rows.push({ table: name, row });
    return { index: this.lastIndex, tableIndexes: new Map(this.tableIndexes), rows };
  }

  /**
   * Like `snapshot`, but first brings a replica's view up to the latest change any replica committed, so the copy
   * is not older than a write acknowledged anywhere before the call (`?stale` skips this, as Consul's does).
   */
  async consistentSnapshot(): Promise<StoreSnapshot> {
    if (this.closed) throw ErrStoreClosed();
    if (this.backend.replicated) await this.caughtUp(await this.backend.latestIndex());
    return this.snapshot();
  }

  /**
   * Replaces the whole state by a snapshot's rows, atomically: once no write group is in flight, every row comes
   * back at one new index above every index this store (or, replicated, any replica) has handed out, every table's
   * index moves to it, and every blocking query wakes. Writes queued behind the restore run against the restored
   * state. Resolves with the new index.
   */
  restore(rows: ReadonlyArray<{ table: string; row: StoredRow }>, snapshotIndex = 0): Promise<number> {
    if (this.closed) return Promise.reject(ErrStoreClosed());
    return new Promise((resolve, reject) => {
      const exclusive = async (): Promise<{ index: number; result: unknown }> => {
        const backend = this.backend;
        const tables = new Set([...this.tables.keys(), ...this.tableIndexes.keys(), ...rows.map((r) => r.table)]);
        if (backend.replicated) {
          const index = await backend.restore(rows, [...tables]);
          await this.caughtUp(index);
          return { index, result: index };
        }
        const index = Math.max(this.lastIndex, snapshotIndex) + 1;
        const restored = rows.map(({ table, row }) => ({ table, row: { ...row, createIndex: index, modifyIndex: index } }));
        await backend.restore(index, [...tables], restored);
        const change: Change = {
          index, restored: true, tables: [...tables],
          mutations: restored.map(({ table, row }) => ({ op: 'put', table, key: row.key, row })),
        };
        this.publish(this.replaceView(change));
        return { index, result: index };
      };
      this.queue.push({ run: () => undefined, exclusive, resolve: (v) => resolve(v.index), reject });
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
    if (change.restored) this.publish(this.replaceView(change));
    else {
      this.apply(change);
      if (change.mutations.length > 0) this.publish(change);
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
        const head = this.queue[0]!;
        if (head.exclusive) {
          this.queue.shift();
          await head.exclusive().then(head.resolve, head.reject);
          continue;
        }
        // A group runs up to the next exclusive entry, which then runs alone.
        const cut = this.queue.findIndex((w) => w.exclusive !== undefined);
        const batch = cut < 0 ? this.queue : this.queue.slice(0, cut);
        this.queue = cut < 0 ? [] : this.queue.slice(cut);
        await this.commitGroup(batch);
      }
    } finally {
      this.committing = false;
    }
  }

  private async commitGroup(batch: QueuedWrite[]): Promise<void> {
    if (this.backend.replicated) await commitReplicatedGroup(this.host, this.backend, batch);
    else await commitLocalGroup(this.host, this.backend, batch);
  }

  /**
   * Puts a restored state in place of the view: every table's rows replaced, every table's index (old and new
   * tables alike) moved to the restore's index. Returns the change as listeners see it, with the deletes of the
   * rows that are gone spelled out before the puts.
   */
  private replaceView(change: Change): Change {
    const next = new Map<string, SortedTable>();
    const kept = new Set<string>();
    for (const m of change.mutations) {
      if (m.op !== 'put') continue;
      let t = next.get(m.table);
      if (!t) next.set(m.table, (t = new SortedTable(m.table)));
      t.set(m.row);
      kept.add(`${m.table}\0${m.key}`);
    }
    const deletes: Mutation[] = [];
    for (const [name, table] of this.tables) {
      for (const row of table.list('')) if (!kept.has(`${name}\0${row.key}`)) deletes.push({ op: 'delete', table: name, key: row.key });
    }
    const tables = new Set([...this.tableIndexes.keys(), ...this.tables.keys(), ...next.keys(), ...(change.tables ?? [])]);
    this.tables.clear();
    for (const [name, t] of next) this.tables.set(name, t);
    for (const t of tables) this.tableIndexes.set(t, change.index);
    this.lastIndex = change.index;
    return { index: change.index, restored: true, tables: [...tables], mutations: [...deletes, ...change.mutations] };
  }

  private publish(change: Change): void {
    if (change.restored) this.watches.notifyAll(change.index);
    else this.watches.notify(change.index, change.mutations);
    for (const listener of this.listeners) listener(change);
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
