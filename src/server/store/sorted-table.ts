/**
 * One table of the in-memory view: a hash map for point reads plus a sorted key array for prefix scans.
 * The key array is maintained by binary insertion so listing a prefix is O(log n + matches), never a full scan.
 */
import type { StoredRow } from './types.ts';

export class SortedTable {
  readonly rows = new Map<string, StoredRow>();
  private readonly keys: string[] = [];

  get size(): number {
    return this.rows.size;
  }

  get(key: string): StoredRow | undefined {
    return this.rows.get(key);
  }

  set(row: StoredRow): void {
    if (!this.rows.has(row.key)) this.keys.splice(lowerBound(this.keys, row.key), 0, row.key);
    this.rows.set(row.key, row);
  }

  delete(key: string): boolean {
    if (!this.rows.delete(key)) return false;
    const at = lowerBound(this.keys, key);
    if (this.keys[at] === key) this.keys.splice(at, 1);
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
}

function lowerBound(keys: string[], target: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
