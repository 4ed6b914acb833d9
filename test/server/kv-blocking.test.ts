/**
 * Blocking reads of KV keys and prefixes report and wait on the key's or the prefix's own index, as Consul does:
 * agent/consul/kvs_endpoint.go (KVS.Get: `reply.Index = ent.ModifyIndex` for an existing key, the KV tables'
 * index for a missing one) and agent/consul/state/kvs.go (kvsListTxn: the highest index of the entries and of the
 * graveyard's tombstones under the prefix; kvsDeleteTxn/kvsDeleteTreeTxn insert the tombstones).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';

let server: RunningServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

async function put(key: string, value: string): Promise<void> {
  const res = await fetch(`${server.url}/v1/kv/${key}`, { method: 'PUT', body: value });
  assert.equal(await res.text(), 'true');
}

async function get(path: string): Promise<{ status: number; index: number; body: string }> {
  const res = await fetch(`${server.url}/v1/kv/${path}`);
  return { status: res.status, index: Number(res.headers.get('x-consul-index')), body: await res.text() };
}

async function modifyIndex(key: string): Promise<number> {
  const res = await get(key);
  const [entry] = JSON.parse(res.body) as Array<{ ModifyIndex: number }>;
  return entry!.ModifyIndex;
}

describe('KV blocking index per key', () => {
  test('a key reports its own ModifyIndex, not the table index', async () => {
    await put('idx/a', '1');
    await put('idx/b', '2');
    const a = await get('idx/a');
    assert.equal(a.index, await modifyIndex('idx/a'));
    assert.ok(a.index < (await get('idx/b')).index, 'a later write elsewhere does not move a key\'s index');
  });

  test('GET key?index=<ModifyIndex> is held for the whole wait while 1,000 other keys are written, and a write to the key wakes it', async () => {
    await put('leader/key', 'me');
    const index = await modifyIndex('leader/key');
    const waitMs = 2_000;
    const started = Date.now();
    const shortWait = get(`leader/key?index=${index}&wait=${waitMs}ms`).then((r) => ({ ...r, heldMs: Date.now() - started }));
    let longDone = false;
    const longWait = get(`leader/key?index=${index}&wait=60s`).then((r) => {
      longDone = true;
      return { ...r, at: Date.now() };
    });
    // 1,000 writes to other keys, 25 at a time.
    for (let i = 0; i < 1_000; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, j) => put(`noise/${i + j}`, String(i + j))));
    }
    const writesTookMs = Date.now() - started;
    assert.equal(longDone, false, 'writes to other keys must not wake a wait on this key');
    const short = await shortWait;
    const heldMs = short.heldMs; // when its answer arrived, not when the writes were done
    assert.equal(short.status, 200);
    assert.equal(short.index, index, 'after the wait the key\'s index is unchanged');
    assert.ok(heldMs >= waitMs - 50, `held ${heldMs} ms for a ${waitMs} ms wait`);
    assert.equal(longDone, false);

    const wroteAt = Date.now();
    await put('leader/key', 'someone-else');
    const long = await longWait;
    const wakeMs = long.at - wroteAt;
    assert.ok(long.index > index);
    // Generous bound (the issue asks for 50 ms; a shared CI machine gets 1 s); the figure is printed for the report.
    assert.ok(wakeMs < 1_000, `woke ${wakeMs} ms after the write`);
    console.log(`kv-blocking: 1,000 other writes in ${writesTookMs} ms; short wait held ${heldMs} ms; woke ${wakeMs} ms after the write`);
  });

  test('a missing key waits until that key is written', async () => {
    const missing = await get('absent/key');
    assert.equal(missing.status, 404);
    let done = false;
    const waiting = get(`absent/key?index=${missing.index}&wait=30s`).then((r) => ((done = true), r));
    await put('absent/other', 'x');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(done, false, 'a write to another key does not wake a wait on a missing key');
    await put('absent/key', 'here');
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.equal(res.index, await modifyIndex('absent/key'));
  });
});

describe('KV blocking index per prefix', () => {
  test('?recurse and ?keys report the prefix\'s highest index and a write elsewhere does not wake them', async () => {
    await put('pfx/one', '1');
    await put('pfx/two', '2');
    await put('elsewhere/x', 'x');
    const two = await modifyIndex('pfx/two');
    const recurse = await get('pfx/?recurse');
    const keys = await get('pfx/?keys');
    assert.equal(recurse.index, two);
    assert.equal(keys.index, two);

    let woken = 0;
    const waits = [
      get(`pfx/?recurse&index=${two}&wait=30s`).then((r) => ((woken++), r)),
      get(`pfx/?keys&index=${two}&wait=30s`).then((r) => ((woken++), r)),
    ];
    await put('elsewhere/y', 'y');
    await put('pfx-sibling', 'not under pfx/');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(woken, 0, 'writes outside the prefix do not wake prefix watchers');
    await put('pfx/three', '3');
    const [r, k] = await Promise.all(waits);
    const three = await modifyIndex('pfx/three');
    assert.equal(r!.index, three);
    assert.equal(k!.index, three);
  });

  test('a delete under the prefix raises its index (tombstone) and wakes it; the index never goes back', async () => {
    await put('tomb/a', '1');
    await put('tomb/b', '2');
    const before = (await get('tomb/?recurse')).index;
    const waiting = get(`tomb/?recurse&index=${before}&wait=30s`);
    const del = await fetch(`${server.url}/v1/kv/tomb/b`, { method: 'DELETE' });
    assert.equal(await del.text(), 'true');
    const after = await waiting;
    assert.ok(after.index > before, `index ${after.index} after the delete, ${before} before`);
    const keys = await get('tomb/?keys');
    assert.equal(keys.index, after.index, 'the tombstone of tomb/b holds the prefix index above tomb/a\'s ModifyIndex');
    await put('other/after-delete', 'x');
    assert.equal((await get('tomb/?keys')).index, after.index, 'a later write elsewhere does not move it');

    // A tree delete leaves one tombstone for the prefix (kvsDeleteTreeTxn).
    await put('tree/x/1', '1');
    await put('tree/x/2', '2');
    const treeBefore = (await get('tree/?recurse')).index;
    await fetch(`${server.url}/v1/kv/tree/x/?recurse`, { method: 'DELETE' });
    const gone = await get('tree/x/?recurse');
    assert.equal(gone.status, 404);
    assert.ok(gone.index > treeBefore);
    assert.equal((await get('tree/?keys')).index, gone.index);
  });
});
