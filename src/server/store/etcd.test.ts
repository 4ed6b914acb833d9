/**
 * The etcd backend: the shared contract against a real etcd (fresh = a new key prefix, reopen = the same prefix),
 * then what only a replicated store has to prove — two stores on one etcd see each other's writes, wake each other's
 * blocking queries, and race on one key with exactly one winner.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startEtcd, type EtcdProcess } from '../../../test/helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../../../test/helpers/exit-guard.ts';
import { silentLogger } from '../../lib/logger.ts';
import { runStoreContract } from './contract.ts';
import { EtcdBackend } from './etcd-backend.ts';
import { StateStore } from './state-store.ts';
import type { Change, WriteTxn } from './types.ts';

endLingeringProcessAfterSuite();

let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const backend = (prefix: string): EtcdBackend => new EtcdBackend({ endpoints: [etcd.url], prefix, logger: silentLogger() });
let current = '';

runStoreContract('etcd', {
  async fresh() {
    current = `/meshgate-test/${randomUUID()}`;
    return backend(current);
  },
  async reopen() {
    return backend(current);
  },
});

/**
 * A check-and-set as the KV endpoint makes it (the store may not import `server/kv`, so a local fixture): write when
 * the row's modifyIndex is `index`, or, with 0, when it is absent.
 */
function casPut(tx: WriteTxn, key: string, value: string, index: number): boolean {
  const existing = tx.get('kv', key);
  if (index === 0 ? existing !== undefined : existing?.modifyIndex !== index) return false;
  tx.put('kv', key, { Value: value });
  return true;
}

async function twoReplicas(): Promise<{ a: StateStore; b: StateStore; prefix: string; close(): Promise<void> }> {
  const prefix = `/meshgate-test/${randomUUID()}`;
  const a = await StateStore.open(backend(prefix));
  const b = await StateStore.open(backend(prefix));
  return { a, b, prefix, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('etcd: a write on one replica is visible on the other with the same indexes, and wakes its watches', async () => {
  const { a, b, close } = await twoReplicas();
  try {
    const abort = new AbortController();
    const woken = b.waitForChange([{ table: 'kv', prefix: 'web/' }], b.index, abort.signal).then(() => b.get('kv', 'web/x'));
    const w = await a.write((tx) => tx.put('kv', 'web/x', { v: 1 }));
    const seen = await woken;
    assert.deepEqual(seen?.value, { v: 1 }, 'the blocking query on B wakes with the row in its view');
    assert.equal(seen!.modifyIndex, w.index);
    assert.equal(b.index, w.index);
    assert.equal(b.tableIndex('kv'), a.tableIndex('kv'));

    // And the other way round, a delete this time: read-your-writes on B, visibility on A.
    const d = await b.write((tx) => tx.delete('kv', 'web/x'));
    assert.equal(d.result, true);
    assert.equal(b.get('kv', 'web/x'), undefined);
    await until(() => a.index >= d.index, 'A to apply B’s delete');
    assert.equal(a.get('kv', 'web/x'), undefined);
    assert.equal(a.tableIndex('kv'), d.index);
    abort.abort();
  } finally {
    await close();
  }
});

test('etcd: concurrent CAS writes to one key from two replicas — exactly one wins', async () => {
  const { a, b, close } = await twoReplicas();
  try {
    const put = (store: StateStore, who: string, index: number) =>
      store.write((tx) => casPut(tx, 'lock', who, index));
    // Absent-key CAS (cas=0), then CAS on the ModifyIndex both have seen, many rounds.
    const first = await Promise.all([put(a, 'a', 0), put(b, 'b', 0)]);
    assert.equal(first.filter((r) => r.result).length, 1, `cas=0: ${JSON.stringify(first.map((r) => r.result))}`);
    for (let round = 0; round < 10; round++) {
      const latest = Math.max(a.index, b.index);
      await until(() => a.index >= latest && b.index >= latest, 'both replicas to catch up');
      const seen = a.get('kv', 'lock')!.modifyIndex;
      assert.equal(b.get('kv', 'lock')!.modifyIndex, seen);
      const results = await Promise.all([put(a, 'a', seen), put(b, 'b', seen)]);
      assert.equal(results.filter((r) => r.result).length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.result))}`);
    }
  } finally {
    await close();
  }
});

test('etcd: read-modify-write from two replicas loses no update (a stale read is refused and run again)', async () => {
  const { a, b, close } = await twoReplicas();
  try {
    const increment = (store: StateStore) =>
      store.write((tx) => tx.put('kv', 'counter', ((tx.get<number>('kv', 'counter')?.value) ?? 0) + 1));
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) writes.push(increment(i % 2 === 0 ? a : b));
    await Promise.all(writes);
    await until(() => a.index === b.index, 'both replicas to converge');
    assert.equal(a.get('kv', 'counter')!.value, 40);
    assert.equal(b.get('kv', 'counter')!.value, 40);
    assert.ok(a.stats.conflicts + b.stats.conflicts > 0, 'the replicas did race');
  } finally {
    await close();
  }
});

test('etcd: a scan guards against inserts — a count-then-insert from two replicas never overshoots', async () => {
  const { a, b, close } = await twoReplicas();
  try {
    // At most 5 members: each transaction counts the table and inserts only below the limit.
    const join = (store: StateStore, id: string) =>
      store.write((tx) => (tx.list('members').length < 5 ? (tx.put('members', id, {}), true) : false));
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => join(i % 2 === 0 ? a : b, `m${i}`)));
    assert.equal(results.filter((r) => r.result).length, 5);
    await until(() => a.index === b.index, 'both replicas to converge');
    assert.equal(a.count('members'), 5);
    assert.equal(b.count('members'), 5);
  } finally {
    await close();
  }
});

test('etcd: a replica opened later, or reopened, sees everything with the index not lower', async () => {
  const { a, b, prefix, close } = await twoReplicas();
  let c: StateStore | undefined;
  try {
    await a.write((tx) => tx.put('kv', 'x', 1));
    const last = await b.write((tx) => {
      tx.put('nodes', 'n1', { Node: 'n1' });
      tx.delete('kv', 'x');
    });
    await until(() => a.index === last.index, 'A to apply B’s write');
    await close();
    c = await StateStore.open(backend(prefix));
    assert.equal(c.index, last.index);
    assert.equal(c.tableIndex('kv'), last.index, 'a table index moved by a delete survives');
    assert.equal(c.get('kv', 'x'), undefined);
    assert.deepEqual(c.get('nodes', 'n1')!.value, { Node: 'n1' });
    const next = await c.write((tx) => tx.put('kv', 'y', 1));
    assert.ok(next.index > last.index);
  } finally {
    await c?.close();
  }
});

test('etcd: exactly one replica leads the leader-only duties, and another takes over when it leaves', async () => {
  const { a, b, close } = await twoReplicas();
  try {
    a.campaign('a');
    b.campaign('b');
    await until(() => a.isLeader || b.isLeader, 'a leader');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(Number(a.isLeader) + Number(b.isLeader), 1, 'one leader, not two');
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    const took = new Promise<boolean>((r) => follower.onLeadership(r));
    await leader.close(); // resigns
    assert.equal(await took, true);
    assert.equal(follower.isLeader, true);
  } finally {
    await close();
  }
});

test('etcd: a restore on one replica reaches the other in one step; a write racing it runs again on the restored state', async () => {
  const { a, b, prefix, close } = await twoReplicas();
  let c: StateStore | undefined;
  try {
    for (let i = 0; i < 5; i++) await a.write((tx) => tx.put('kv', `keep/${i}`, i));
    const snap = await a.consistentSnapshot();
    await a.write((tx) => {
      tx.put('kv', 'gone', 1);
      tx.put('services', 'web', {});
    });
    await until(() => b.get('kv', 'gone') !== undefined, 'B to see the write after the snapshot');
    const seen: Change[] = [];
    b.onChange((change) => seen.push(change));
    // B keeps counting while A restores: each increment is decided on whatever generation B's view holds.
    let stop = false;
    const counting = (async () => {
      let n = 0;
      while (!stop) {
        await b.write((tx) => tx.put('kv', 'counter', (tx.get<number>('kv', 'counter')?.value ?? 0) + 1));
        n++;
      }
      return n;
    })();
    const before = Math.max(a.index, b.index);
    const at = await a.restore(snap.rows, snap.index);
    stop = true;
    await counting;
    assert.ok(at > before);
    await until(() => b.index >= at, 'B to apply the restore');
    const restores = seen.filter((ch) => ch.restored);
    assert.equal(restores.length, 1, 'one change carries the whole restore');
    assert.ok(restores[0]!.mutations.some((m) => m.op === 'delete' && m.key === 'gone'), 'the delete of a row the snapshot lacks is spelled out');
    assert.equal(b.get('kv', 'gone'), undefined);
    for (let i = 0; i < 5; i++) assert.equal(b.get('kv', `keep/${i}`)?.value, i);
    // Increments after the switch land on the restored state (no write is acknowledged onto the dropped generation).
    const afterRestore = b.get<number>('kv', 'counter');
    if (afterRestore) assert.ok(afterRestore.modifyIndex > at);
    const w = await b.write((tx) => tx.put('kv', 'new', 1));
    await until(() => a.index >= w.index, 'A to see B’s write after the restore');
    assert.equal(a.get('kv', 'new')?.value, 1);
    await close();
    c = await StateStore.open(backend(prefix));
    assert.equal(c.get('kv', 'gone'), undefined);
    assert.equal(c.get('kv', 'new')?.value, 1);
    assert.equal(c.count('services'), 0);
    assert.ok(c.tableIndex('services') >= at, 'a table the restore emptied reports the restore’s index after a reopen');
    assert.ok(c.list('kv').every((r) => r.modifyIndex >= at));
  } finally {
    await c?.close();
  }
});

test('etcd: a transaction beyond etcd’s --max-txn-ops is refused with MG_STORE_TXN_TOO_LARGE, writing nothing', async () => {
  const store = await StateStore.open(backend(`/meshgate-test/${randomUUID()}`));
  try {
    await assert.rejects(
      store.write((tx) => {
        for (let i = 0; i < 200; i++) tx.put('kv', `big/${i}`, i);
      }),
      (err: Error & { code?: string }) => err.code === 'MG_STORE_TXN_TOO_LARGE' && /--max-txn-ops/.test(err.message) && /128/.test(err.message),
    );
    assert.equal(store.count('kv'), 0);
    const ok = await store.write((tx) => tx.put('kv', 'small', 1));
    assert.ok(ok.index > 0, 'the store keeps working');
  } finally {
    await store.close();
  }
});
