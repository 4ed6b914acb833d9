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

  test(`${name}: a snapshot taken under write load is a state that existed, and restores whole with the index moving up`, async () => {
    const store = await StateStore.open(await factory.fresh());
    try {
      await store.write((tx) => tx.put('nodes', 'n1', { Node: 'n1' }));
      // Numbered writes, each also bumping a counter row in the same transaction: a state that existed has the
      // counter equal to the number of rows 0..counter-1, and no gaps.
      let stop = false;
      const writer = (async () => {
        for (let i = 0; !stop && i < 400; i++) {
          await store.write((tx) => {
            tx.put('kv', `w/${String(i).padStart(4, '0')}`, i);
            tx.put('kv', 'count', i + 1);
          });
        }
      })();
      await new Promise((r) => setTimeout(r, 30));
      const snap = await store.consistentSnapshot();
      stop = true;
      await writer;
      const kvRows = snap.rows.filter((r) => r.table === 'kv' && r.row.key.startsWith('w/')).map((r) => r.row.value as number);
      const count = (snap.rows.find((r) => r.table === 'kv' && r.row.key === 'count')?.row.value as number | undefined) ?? 0;
      assert.deepEqual(kvRows, Array.from({ length: count }, (_, i) => i), 'rows 0..count-1 exactly: prefix-closed');
      assert.ok(snap.rows.every((r) => r.row.modifyIndex <= snap.index));

      const seenBefore = store.index;
      const abort = new AbortController();
      const elsewhere = store.waitForChange([{ table: 'kv', prefix: 'nothing-here/' }], store.index, abort.signal);
      const restoredAt = await store.restore(snap.rows, snap.index);
      assert.ok(restoredAt > seenBefore, `restore index ${restoredAt} above every index before (${seenBefore})`);
      assert.equal(await settledWithin(elsewhere, 2000), undefined, 'a restore wakes every blocking query');
      assert.equal(store.index, restoredAt);
      assert.equal(store.tableIndex('kv'), restoredAt);
      assert.equal(store.tableIndex('nodes'), restoredAt);
      assert.equal(store.list('kv', 'w/').length, count, 'writes after the snapshot are gone');
      assert.deepEqual(store.get('nodes', 'n1')!.value, { Node: 'n1' });
      assert.ok(store.list('kv').every((r) => r.modifyIndex >= restoredAt && r.createIndex >= restoredAt));
      const after = await store.write((tx) => tx.put('kv', 'after', 1));
      assert.ok(after.index > restoredAt);
      const before = { index: store.index, rows: store.list('kv') };
      await store.close();

      const reopened = await StateStore.open(await factory.reopen());
      try {
        assert.equal(reopened.index, before.index);
        assert.deepEqual(reopened.list('kv'), before.rows, 'the restore is durable');
        assert.equal(reopened.tableIndex('nodes'), restoredAt);
      } finally {
        await reopened.close();
      }
    } finally {
      await store.close().catch(() => undefined);
    }
  });

  test(`${name}: a snapshot restores into a fresh store, every row there, indexes above the snapshot's`, async () => {
    const source = await StateStore.open(await factory.fresh());
    let snap;
    try {
      for (let b = 0; b < 10; b++) {
        await source.write((tx) => {
          for (let i = b * 30; i < b * 30 + 30; i++) tx.put(`t${i % 3}`, `k/${i}`, { i, blob: 'x'.repeat(i) });
        });
      }
      snap = await source.consistentSnapshot();
    } finally {
      await source.close();
    }
    const target = await StateStore.open(await factory.fresh());
    try {
      await target.write((tx) => tx.put('kv', 'old', 1));
      const at = await target.restore(snap.rows, snap.index);
      assert.ok(at > snap.index, 'the index is above the snapshot’s too');
      assert.equal(target.get('kv', 'old'), undefined);
      for (const { table, row } of snap.rows) assert.deepEqual(target.get(table, row.key)?.value, row.value);
      assert.equal(target.count('t0') + target.count('t1') + target.count('t2'), 300);
    } finally {
      await target.close();
    }
  });
}
