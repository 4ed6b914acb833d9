/**
 * The state store's contract. Every part of the server reads and writes through `StateStore`; backends (SQLite,
 * etcd) only persist and replay. The shape is chosen so a backend that can refuse a commit (etcd's CAS on
 * mod_revision) fits: a write transaction records what it read, and a backend may answer "conflict", upon which the
 * store re-runs the transaction against the newer view.
 */

export interface StoredRow<V = unknown> {
  readonly key: string;
  readonly value: V;
  /** Raft-style indexes, as Consul reports them: the index of the write that created / last modified the row. */
  readonly createIndex: number;
  readonly modifyIndex: number;
}

export type Mutation =
  | { readonly op: 'put'; readonly table: string; readonly key: string; readonly row: StoredRow }
  | { readonly op: 'delete'; readonly table: string; readonly key: string };

/** One committed write transaction: everything in it carries the same index. */
export interface Change {
  readonly index: number;
  readonly mutations: readonly Mutation[];
  /**
   * Tables whose index moves to `index`, when a replicated backend knows them apart from the mutations (a delete of
   * a row another replica removed first changes no row but still moved the table's index); default: the mutations'.
   */
  readonly tables?: readonly string[];
  /**
   * A snapshot restore: the whole state is replaced by the rows `mutations` put (every one at `index`); rows not
   * among them are gone, and every table's index moves to `index`. Listeners get the deletes spelled out as well.
   */
  readonly restored?: boolean;
}

/** A consistent copy of the whole store at one index: what a snapshot saves and a restore puts back. */
export interface StoreSnapshot {
  readonly index: number;
  readonly tableIndexes: ReadonlyMap<string, number>;
  readonly rows: ReadonlyArray<{ readonly table: string; readonly row: StoredRow }>;
}

/** A transaction ready for a local backend: its index and what it writes. */
export type PreparedCommit = Change;

/**
 * What a write transaction depended on, for a backend that commits with compare-and-swap (etcd): the first read of
 * every key it did not write itself, with the modifyIndex seen; the index seen of every table it read at all; and
 * which tables it scanned (list, listBy, count), whose result an insert anywhere in the table could change. The
 * store hands the backend real indexes: rows staged by an earlier transaction of the same group carry provisional
 * ones until that transaction commits, and are mapped to its revision before the set is passed on.
 */
export interface ReadSet {
  /** `${table}\0${key}` → modifyIndex seen (0 when the row was absent). */
  readonly keys: ReadonlyMap<string, number>;
  /** table → table index seen (0 when the table was never written), for every table read. */
  readonly tables: ReadonlyMap<string, number>;
  readonly scanned: ReadonlySet<string>;
}

/** One transaction for a replicated backend: what it read and what it writes. */
export interface ReplicatedCommit {
  readonly reads: ReadSet;
  readonly mutations: readonly Mutation[];
}

export type ReplicatedCommitResult =
  /** Committed at `index`; the change arrives through the follower like any other replica's. */
  | { readonly committed: true; readonly index: number }
  /** Something read changed meanwhile; re-run once the view has applied `index`, which includes that change. */
  | { readonly committed: false; readonly index: number };

export interface LoadedState {
  /** Highest index ever committed; never lower after a restart. */
  readonly index: number;
  readonly tableIndexes: ReadonlyMap<string, number>;
  readonly rows: Iterable<{ table: string; row: StoredRow }>;
}

/** A backend that persists what this process decides, in the order it decides it (SQLite). */
export interface StoreBackend {
  readonly name: string;
  readonly replicated?: false;
  /** Reads the durable state; called once before any commit. */
  load(): Promise<LoadedState>;
  /**
   * Makes a group of transactions durable, in order, all or nothing. Resolves only once they would survive
   * `kill -9` (and, for the embedded backend, power loss as far as fsync promises).
   */
  commit(group: readonly PreparedCommit[]): Promise<void>;
  /**
   * Replaces the whole durable state, atomically, by `rows` at `index` (every table in `tables` gets that index);
   * called with no commit in flight.
   */
  restore(index: number, tables: readonly string[], rows: ReadonlyArray<{ table: string; row: StoredRow }>): Promise<void>;
  close(): Promise<void>;
}

/**
 * A backend shared by several server replicas (etcd): it assigns indexes itself, may refuse a commit whose reads
 * went stale, and delivers every committed change — this replica's and the others' — in index order through the
 * follower, which is the only way changes reach the view.
 */
export interface ReplicatedBackend {
  readonly name: string;
  readonly replicated: true;
  /** Reads a snapshot, then calls `apply` with every later change in index order until closed. */
  follow(apply: (change: Change) => void): Promise<LoadedState>;
  commitOne(commit: ReplicatedCommit): Promise<ReplicatedCommitResult>;
  /**
   * Replaces the whole shared state by `rows` (their values; the backend assigns indexes), atomically for every
   * replica, and resolves with the index the restore committed at; the follower then delivers it as one `restored`
   * change. Every table in `tables` (the rows' and those the state had) reports that index afterwards.
   */
  restore(rows: ReadonlyArray<{ table: string; row: StoredRow }>, tables: readonly string[]): Promise<number>;
  /** The index of the latest change committed by any replica (a linearizable read), for a consistent snapshot. */
  latestIndex(): Promise<number>;
  /** Marks `name` alive until `untilMs` (epoch ms) where every replica can read it (a session renewal). */
  touch(name: string, untilMs: number): Promise<void>;
  /** Until when (epoch ms) any replica last marked `name` alive; 0 when never or long expired. */
  touchedUntil(name: string): Promise<number>;
  /**
   * Runs `candidate` for leadership of the leader-only duties among the replicas until closed, calling `onLeading`
   * when it wins and when it loses (and campaigns again).
   */
  campaign(candidate: string, onLeading: (leading: boolean) => void): void;
  /** The candidates of every live replica's campaign (each held by its lease), oldest — the leader — first. */
  campaigners?(): Promise<Array<{ candidate: string; leader: boolean }>>;
  close(): Promise<void>;
}

export type AnyStoreBackend = StoreBackend | ReplicatedBackend;

/** Read access shared by the live view and a write transaction's staged view. */
export interface StoreReader {
  get<V = unknown>(table: string, key: string): StoredRow<V> | undefined;
  /** Rows whose key starts with `prefix`, in key order. */
  list<V = unknown>(table: string, prefix?: string): StoredRow<V>[];
  /**
   * Rows whose secondary index `index` (declared with `defineIndex`) maps their value to `value`, in key order;
   * costs the number of such rows, not the table's size.
   */
  listBy<V = unknown>(table: string, index: string, value: string): StoredRow<V>[];
  /** Number of rows in a table. */
  count(table: string): number;
}

export interface WriteTxn extends StoreReader {
  /** The index this transaction will commit at. */
  readonly index: number;
  /** Inserts or replaces; keeps createIndex of an existing row. Returns the row as it will be stored. */
  put<V>(table: string, key: string, value: V): StoredRow<V>;
  /** Removes a row; returns whether it existed. */
  delete(table: string, key: string): boolean;
}

/** Which keys a reader depends on: a whole table, a key prefix, or one exact key. */
export interface WatchSpec {
  readonly table: string;
  readonly prefix?: string;
  readonly key?: string;
}
