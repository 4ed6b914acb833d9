/**
 * One write transaction of a group: reads and writes go through the group's staged view, and for a backend that
 * commits with compare-and-swap (etcd) it records what it read, so the backend can refuse it when another replica
 * changed any of that first.
 */
import { TOMBSTONE, type StagedView } from './staged-view.ts';
import type { Mutation, ReadSet, StoredRow, WriteTxn } from './types.ts';

export class Transaction implements WriteTxn {
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
