/**
 * One table of the in-memory view: a hash map for point reads plus a sorted key array for prefix scans, and the
 * table's secondary indexes (index value → sorted keys). Key arrays are maintained by binary insertion so listing a
 * prefix is O(log n + matches) and listing by an index value O(matches), never a full scan.
 */
import { indexFunction, type IndexFunction } from './secondary-index.ts';
import type { StoredRow } from './types.ts';

interface BuiltIndex {
  readonly of: IndexFunction;
  readonly keys: Map<string, string[]>;
}

export class SortedTable {
  readonly rows = new Map<string, StoredRow>();
  private readonly keys: string[] = [];
  private readonly indexes = new Map<string, BuiltIndex>();
  private readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  get size(): number {
    return this.rows.size;
  }

  get(key: string): StoredRow | undefined {
    return this.rows.get(key);
  }

  set(row: StoredRow): void {
    const previous = this.rows.get(row.key);
    if (!previous) insertSorted(this.keys, row.key);
    this.rows.set(row.key, row);
    for (const index of this.indexes.values()) {
      const before = previous ? index.of(previous.value) : undefined;
      const after = index.of(row.value);
      if (before === after && previous) continue;
      if (before !== undefined) removeFrom(index.keys, before, row.key);
      if (after !== undefined) addTo(index.keys, after, row.key);
    }
  }

  delete(key: string): boolean {
    const previous = this.rows.get(key);
    if (!previous) return false;
    this.rows.delete(key);
    removeSorted(this.keys, key);
    for (const index of this.indexes.values()) {
      const before = index.of(previous.value);
      if (before !== undefined) removeFrom(index.keys, before, key);
    }
    return true;
  }

  /** Keys starting with prefix, in order. */
  keysWithPrefix(prefix: string): string[] {
    if (prefix === '') return this.keys.slice();
    const out: string[] = [];
    for (let i = lowerBound(this.keys, prefix); i < this.keys.length; i++) {
      const key = this.keys[i]!;
      if (!key.startsWith(prefix)) break;
      out.push(key);
    }
    return out;
  }

  list(prefix: string): StoredRow[] {
    return this.keysWithPrefix(prefix).map((key) => this.rows.get(key)!);
  }

  /** Rows whose value index `index` maps to `value`, in key order. */
  listBy(index: string, value: string): StoredRow[] {
    const keys = this.index(index).keys.get(value);
    return keys ? keys.map((key) => this.rows.get(key)!) : [];
  }

  /** The built index, built from the current rows on first use. */
  private index(name: string): BuiltIndex {
    let built = this.indexes.get(name);
    if (built) return built;
    built = { of: indexFunction(this.name, name), keys: new Map() };
    for (const key of this.keys) {
      const value = built.of(this.rows.get(key)!.value);
      if (value === undefined) continue;
      const keys = built.keys.get(value);
      if (keys) keys.push(key); // this.keys is in order, so each array is built in order
      else built.keys.set(value, [key]);
    }
    this.indexes.set(name, built);
    return built;
  }
}

function addTo(index: Map<string, string[]>, value: string, key: string): void {
  const keys = index.get(value);
  if (keys) insertSorted(keys, key);
  else index.set(value, [key]);
}

function removeFrom(index: Map<string, string[]>, value: string, key: string): void {
  const keys = index.get(value);
  if (!keys) return;
  removeSorted(keys, key);
  if (keys.length === 0) index.delete(value);
}

function insertSorted(keys: string[], key: string): void {
  const at = lowerBound(keys, key);
  if (keys[at] !== key) keys.splice(at, 0, key);
}

function removeSorted(keys: string[], key: string): void {
  const at = lowerBound(keys, key);
  if (keys[at] === key) keys.splice(at, 1);
}

export function lowerBound(keys: readonly string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
