/** The archive format on its own: a round trip byte by byte, and each way an archive can be wrong, named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { StoreSnapshot } from '../store/types.ts';
import { decodeSnapshot, encodeSnapshot } from './format.ts';

const snapshot: StoreSnapshot = {
  index: 42,
  tableIndexes: new Map([['kv', 40], ['nodes', 42]]),
  rows: [
    { table: 'nodes', row: { key: 'n1', value: { Node: 'n1' }, createIndex: 3, modifyIndex: 42 } },
    { table: 'kv', row: { key: 'ünï/ćødé/🚀', value: { Value: 'eA==', Flags: 0 }, createIndex: 5, modifyIndex: 40 } },
    { table: 'kv', row: { key: 'a', value: null, createIndex: 1, modifyIndex: 1 } },
  ],
};

async function archive(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of encodeSnapshot(snapshot, 'sqlite')) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('round trip, even fed one byte at a time (characters split across chunks stay whole)', async () => {
  const bytes = await archive();
  const oneByOne = (async function* () {
    for (const b of bytes) yield Buffer.from([b]);
  })();
  const { header, rows } = await decodeSnapshot(oneByOne);
  assert.equal(header.index, 42);
  assert.deepEqual(header.tables, { kv: 40, nodes: 42 });
  assert.deepEqual(rows.map((r) => r.row.key), ['a', 'ünï/ćødé/🚀', 'n1'], 'tables and keys in order');
  assert.deepEqual(rows[1]!.row, snapshot.rows[1]!.row);
});

test('each fault is MG_SNAPSHOT_INVALID with its reason', async () => {
  const text = gunzipSync(await archive()).toString();
  const lines = text.trimEnd().split('\n');
  const cases: Array<[string, Buffer, RegExp]> = [
    ['not gzip', Buffer.from('plain'), /not a gzip stream/],
    ['another format', gzipSync('{"format":"consul"}\n'), /not a meshgate-snapshot archive/],
    ['a later version', gzipSync(text.replace('"version":1', '"version":2')), /format version 2 is not supported/],
    ['an edited value', gzipSync(text.replace('"Node":"n1"', '"Node":"n2"')), /checksum mismatch/],
    ['no trailer', gzipSync(`${lines.slice(0, -1).join('\n')}\n`), /truncated/],
    ['a row dropped', gzipSync(`${[lines[0], ...lines.slice(2)].join('\n')}\n`), /trailer counts 3 rows, the archive holds 2/],
    ['data after the trailer', gzipSync(`${text}{"t":"kv","k":"x","v":1,"c":1,"m":1}\n`), /after the trailer/],
    ['cut mid-line', gzipSync(text.slice(0, -5)), /cut short/],
  ];
  for (const [what, bytes, reason] of cases) {
    await assert.rejects(decodeSnapshot([bytes]), (err: Error & { code?: string; statusCode?: number }) => {
      assert.equal(err.code, 'MG_SNAPSHOT_INVALID', what);
      assert.equal(err.statusCode, 400, what);
      assert.match(err.message, reason, what);
      return true;
    });
  }
});
