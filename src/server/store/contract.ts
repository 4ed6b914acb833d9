/**
 * The contract every backend passes (hono's shared-suite pattern): run it with a factory that gives a fresh
 * backend and can reopen the same durable state, as `sqlite.test.ts` and `etcd.test.ts` do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StateStore } from './state-store.ts';
import type { AnyStoreBackend } from './types.ts';

export interface BackendFactory {
  /** A backend over fresh, empty state. */
  fresh(): Promise<AnyStoreBackend>;
  /** A new backend over the same durable state as the one last returned by fresh(). */
  reopen(): Promise<AnyStoreBackend>;
}

const pending = Symbol('pending');
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | typeof pending> {
  return Promise.race([p, new Promise<typeof pending>((r) => setTimeout(() => r(pending), ms))]);
}

export function runStoreContract(name: string, factory: BackendFactory): void {
  test(`${name}: a write is readable with Consul-style create and modify indexes`, async () => {
    const store = await StateStore.open(await factory.fresh());
    try {
      const first = await store.write((tx) => tx.put('kv', 'a', { v: 1 }));
      const second = await store.write((tx) => tx.put('kv', 'a', { v: 2 }));
      assert.ok(second.index > first.index);
      const row = store.get('kv', 'a')!;
      assert.deepEqual(row.value, { v: 2 });
      assert.equal(row.createIndex, first.index);
      assert.equal(row.modifyIndex, second.index);
      assert.equal(store.index, second.index);
      assert.equal(store.tableIndex('kv'), second.index);
      assert.equal(store.tableIndex('nodes'), 1, 'an untouched table reports 1, never 0');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a transaction that throws writes nothing, and does not disturb its group`, async () => {
    const store = await StateStore.open(await factory.fresh());
    try {
      const results = await Promise.allSettled([
        store.write((tx) => tx.put('kv', 'ok-1', 1)),
        store.write((tx) => {
          tx.put('kv', 'bad', 1);
          tx.delete('kv', 'ok-1');
          throw new Error('refused');
        }),
        store.write((tx) => tx.put('kv', 'ok-2', tx.get('kv', 'ok-1') ? 'saw ok-1' : 'missed ok-1')),
      ]);
      assert.equal(results[0]!.status, 'fulfilled');
      assert.equal(results[1]!.status, 'rejected');
      assert.equal(results[2]!.status, 'fulfilled');
      assert.equal(store.get('kv', 'bad'), undefined);
      assert.ok(store.get('kv', 'ok-1'));
      assert.equal(store.get('kv', 'ok-2')!.value, 'saw ok-1', 'a later transaction in a group sees earlier staged writes');
    } finally {
      await store.close();
    }
  });

  test(`${name}: concurrent writes are group-committed with distinct ascending indexes`, async () => {
    const store = await StateStore.open(await factory.fresh());
    try {
      const writes = Array.from({ length: 200 }, (_, i) => store.write((tx) => tx.put('kv', `k/${String(i).padStart(3, '0')}`, i)));
      const indexes = (await Promise.all(writes)).map((w) => w.index);
      assert.equal(new Set(indexes).size, 200);
      assert.deepEqual(indexes, [...indexes].sort((a, b) => a - b));
      assert.ok(store.stats.largestGroup > 1, 'writes queued behind a commit share the next one');
      assert.equal(store.list('kv', 'k/').length, 200);
      assert.deepEqual(store.list('kv', 'k/01').map((r) => r.key), Array.from({ length: 10 }, (_, i) => `k/01${i}`));
    } finally {
      await store.close();
    }
  });

  test(`${name}: watches wake for their prefix only`, async () => {
    const store = await StateStore.open(await factory.fresh());
    try {
      await store.write((tx) => tx.put('kv', 'web/x', 1));
      const abort = new AbortController();
      const watch = store.waitForChange([{ table: 'kv', prefix: 'web/' }], store.index, abort.signal);
      const exact = store.waitForChange([{ table: 'kv', key: 'web' }], store.index, abort.signal);
      assert.equal(store.openWatches, 2);
      await store.write((tx) => tx.put('kv', 'db/y', 1));
      await store.write((tx) => tx.put('services', 'web/x', 1));
      assert.equal(await settledWithin(watch, 50), pending, 'writes elsewhere do not wake a prefix watch');
      await store.write((tx) => tx.put('kv', 'web/z', 1));
      assert.equal(await settledWithin(watch, 2000), undefined);
      assert.equal(await settledWithin(exact, 50), pending, 'an exact-key watch is not a prefix watch');
      abort.abort();
      assert.equal(await settledWithin(exact, 2000), undefined, 'abort releases the waiter');
      assert.equal(store.openWatches, 0);
    } finally {
      await store.close();
    }
  });

  test(`${name}: deletes, counts and a reopen restore everything with the index not lower`, async () => {
    let store = await StateStore.open(await factory.fresh());
    await store.write((tx) => {
      for (let i = 0; i < 50; i++) tx.put('kv', `r/${i}`, { i });
      tx.put('nodes', 'n1', { Node: 'n1' });
    });
    const del = await store.write((tx) => tx.delete('kv', 'r/7'));
    assert.equal(del.result, true);
    const noop = await store.write((tx) => tx.delete('kv', 'missing'));
    assert.equal(noop.result, false);
    assert.equal(noop.index, del.index, 'a transaction that changes nothing does not advance the index');
    assert.equal(store.count('kv'), 49);
    const before = { index: store.index, kv: store.tableIndex('kv'), nodes: store.tableIndex('nodes'), rows: store.list('kv') };
    await store.close();

    store = await StateStore.open(await factory.reopen());
    try {
      assert.equal(store.index, before.index);
      assert.equal(store.tableIndex('kv'), before.kv);
      assert.equal(store.tableIndex('nodes'), before.nodes);
      assert.deepEqual(store.list('kv'), before.rows);
      assert.deepEqual(store.get('nodes', 'n1')!.value, { Node: 'n1' });
      const next = await store.write((tx) => tx.put('kv', 'after', 1));
      assert.ok(next.index > before.index);
    } finally {
      await store.close();
    }
  });
}
