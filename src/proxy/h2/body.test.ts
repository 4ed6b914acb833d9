import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { waitFor } from '../../lib/testing/wait-for.ts';
import { relayBody } from './body.ts';

/** A destination that records what it was given: each write, and the chunk (if any) its end() came with. */
function recorder(highWaterMark = 16_384, slow = false): { to: Writable; calls: string[] } {
  const calls: string[] = [];
  let ending = false;
  const to = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      // end(chunk) writes its chunk through here too: recorded once, as the end.
      if (!ending) calls.push(`write ${chunk.toString()}`);
      if (slow) setTimeout(cb, 1);
      else cb();
    },
  });
  const end = to.end.bind(to) as (chunk?: unknown) => Writable;
  to.end = ((chunk?: unknown) => {
    calls.push(typeof chunk === 'string' || Buffer.isBuffer(chunk) ? `end ${chunk.toString()}` : 'end');
    ending = true;
    return end(chunk);
  }) as Writable['end'];
  return { to, calls };
}

test('a body whose end comes in the same turn as its last chunk is ended with that chunk (one write, not a write and an empty end)', async () => {
  const from = new PassThrough();
  const { to, calls } = recorder();
  let counted = 0;
  relayBody(from, to, (n) => (counted += n));
  from.write('first');
  from.end('last');
  await new Promise((r) => to.once('finish', r));
  assert.deepEqual(calls, ['write first', 'end last']);
  assert.equal(counted, 'firstlast'.length);
});

test('a chunk with no end behind it is written at the end of the turn, not held until more data comes (streaming bodies)', async () => {
  const from = new PassThrough();
  const { to, calls } = recorder();
  relayBody(from, to, () => {});
  from.write('event 1');
  await waitFor(() => calls.includes('write event 1'), 'the first event written');
  from.end();
  await new Promise((r) => to.once('finish', r));
  assert.deepEqual(calls, ['write event 1', 'end']);
});

test('a slow destination pauses the source and every byte arrives in order', async () => {
  const from = new PassThrough({ highWaterMark: 4 });
  const { to, calls } = recorder(4, true);
  relayBody(from, to, () => {});
  const parts = Array.from({ length: 50 }, (_, i) => `p${i};`);
  for (const p of parts) if (!from.write(p)) await new Promise((r) => from.once('drain', r));
  from.end();
  await new Promise((r) => to.once('finish', r));
  assert.equal(calls.map((c) => c.replace(/^(write|end) ?/, '')).join(''), parts.join(''));
});

test('a destination that is gone takes nothing more and is not ended', async () => {
  const from = new PassThrough();
  const { to, calls } = recorder();
  relayBody(from, to, () => {});
  to.destroy();
  from.end('late');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, []);
});
