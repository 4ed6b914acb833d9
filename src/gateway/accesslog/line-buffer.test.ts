/**
 * The access log's byte buffer and timestamp cache (line-buffer.ts, iso-millis.ts): what reaches the file is every
 * line, whole and in order, whatever their sizes and however the writes interleave with reuse of the buffers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { LineBuffer, FLUSH_BYTES } from './line-buffer.ts';
import { IsoMillis } from './iso-millis.ts';

test('IsoMillis writes what Date#toISOString writes, across seconds, out of order and at the edges', () => {
  const iso = new IsoMillis();
  const base = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
  const times = [base, base + 5, base + 15, base - 3, base + 1_010, base + 2_000.7, base + 9, 0, 999, 1_000, -1, 253402300799999, 253402300800000];
  for (const t of times) assert.equal(iso.of(t), new Date(Math.floor(t)).toISOString(), `t=${t}`);
});

test('a recycled buffer never changes bytes already handed to the file: many flushes, long and non-ASCII lines, in order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-linebuf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'access.log');
  const out = createWriteStream(file);
  const buffer = new LineBuffer(true);
  const expected: string[] = [];
  for (let i = 0; i < 3000; i++) {
    // Mostly short lines, some that cross FLUSH_BYTES and some larger than a whole buffer.
    const body = i % 997 === 0 ? 'x'.repeat(3 * FLUSH_BYTES) : i % 101 === 0 ? 'é€😀'.repeat(2000) : `line ${i} ${'y'.repeat(i % 300)}`;
    const line = `${i} ${body}\n`;
    expected.push(line);
    buffer.append(line, out);
    if (buffer.size >= FLUSH_BYTES || i % 7 === 0) buffer.write(out);
    // Let some writes complete (and their buffers return) between batches.
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  buffer.write(out);
  await new Promise<void>((resolve) => out.end(resolve));
  assert.equal(readFileSync(file, 'utf8'), expected.join(''));
});

test('a stream we were given gets a buffer of its own at every write (it may keep it after the callback)', async () => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (d: Buffer) => chunks.push(d));
  const buffer = new LineBuffer(false);
  buffer.append('first\n', out);
  buffer.write(out);
  await new Promise((resolve) => setImmediate(resolve));
  buffer.append('second\n', out);
  buffer.write(out);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(chunks.map((c) => c.toString()), ['first\n', 'second\n']);
});
