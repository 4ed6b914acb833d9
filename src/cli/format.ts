/** Output layouts of the consul CLI: columnize ("  " between padded columns) and the `kv get -detailed` block. */
import { kvValueBytes } from '../api/client.ts';
import type { KVPair } from '../api/types.ts';

/** Pads every column but the last to its widest cell and joins with two spaces, trailing spaces trimmed. */
export function columnize(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/**
 * Consul's prettyKVPair: a Go tabwriter with padding 6, so labels are padded to the longest label
 * ("CreateIndex"/"ModifyIndex", 11) + 6.
 */
export function prettyKVPair(pair: KVPair, base64Value: boolean, keysOnly = false): string {
  const rows: Array<[string, string]> = [
    ['CreateIndex', String(pair.CreateIndex)],
    ['Flags', String(pair.Flags)],
    ['Key', pair.Key],
    ['LockIndex', String(pair.LockIndex)],
    ['ModifyIndex', String(pair.ModifyIndex)],
    ['Session', pair.Session ? pair.Session : '-'],
  ];
  if (pair.Partition) rows.push(['Partition', pair.Partition]);
  if (pair.Namespace) rows.push(['Namespace', pair.Namespace]);
  if (!keysOnly) {
    const bytes = kvValueBytes(pair);
    rows.push(['Value', base64Value ? bytes.toString('base64') : bytes.toString('utf8')]);
  }
  const width = Math.max(...rows.map(([label]) => label.length)) + 6;
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}`).join('\n') + (keysOnly ? '\n' : '');
}

/** `k1=v1, k2=v2` sorted by key, as consul catalog nodes -detailed shows maps. */
export function mapString(map: Record<string, string> | null | undefined): string {
  return Object.keys(map ?? {}).sort().map((k) => `${k}=${map![k]}`).join(', ');
}
