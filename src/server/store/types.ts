/**
 * The state store's contract. Every part of the server reads and writes through `StateStore`; backends (SQLite now,
 * etcd next) only persist and replay. The shape is chosen so a backend that can refuse a commit (etcd's CAS on
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
}

/** A transaction ready for the backend: its index, what it read (for CAS backends) and what it writes. */
export interface PreparedCommit extends Change {
  /** `${table}\0${key}` → modifyIndex seen (0 when the row was absent). */
  readonly reads: ReadonlyMap<string, number>;
}

export interface LoadedState {
  /** Highest index ever committed; never lower after a restart. */
  readonly index: number;
  readonly tableIndexes: ReadonlyMap<string, number>;
  readonly rows: Iterable<{ table: string; row: StoredRow }>;
}

export interface StoreBackend {
  readonly name: string;
  /** Reads the durable state; called once before any commit. */
  load(): Promise<LoadedState>;
  /**
   * Makes a group of transactions durable, in order, all or nothing. Resolves only once they would survive
   * `kill -9` (and, for the embedded backend, power loss as far as fsync promises).
   */
  commit(group: readonly PreparedCommit[]): Promise<void>;
  close(): Promise<void>;
}

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
