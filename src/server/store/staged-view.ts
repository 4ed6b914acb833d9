/**
 * A write group's staged view: the live view plus the writes of the group's transactions that ran but are not yet
 * durable, so each later transaction of the group reads what the earlier ones wrote. Reads merge the overlay into
 * the base in key order at the cost of the group's staged keys, not the table's size.
 */
import { indexFunction } from './secondary-index.ts';
import type { Mutation, StoreReader, StoredRow } from './types.ts';

/** A staged delete in the overlay. */
export const TOMBSTONE = null;

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The live view plus the writes of transactions staged in the current group but not yet durable. */
export class StagedView implements StoreReader {
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
