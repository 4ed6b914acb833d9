import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMeshgateError } from '../../lib/errors.ts';
import { defineIndex } from './secondary-index.ts';
import { SqliteBackend } from './sqlite-backend.ts';
import { StateStore } from './state-store.ts';

const TABLE = 'idx-test-services';
defineIndex<{ Service: string }>(TABLE, 'service', (v) => v.Service);

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'meshgate-index-'));
  dirs.push(d);
  return d;
}

const keysBy = (rows: ReadonlyArray<{ key: string }>) => rows.map((r) => r.key);

test('listBy returns the rows with an index value in key order, following puts, renames and deletes', async () => {
  const store = await StateStore.open(new SqliteBackend(dataDir()));
  try {
    await store.write((tx) => {
      tx.put(TABLE, 'n2/web-1', { Service: 'web' });
      tx.put(TABLE, 'n1/web-2', { Service: 'web' });
      tx.put(TABLE, 'n1/db-1', { Service: 'db' });
    });
    assert.deepEqual(keysBy(store.listBy(TABLE, 'service', 'web')), ['n1/web-2', 'n2/web-1']);
    await store.write((tx) => tx.put(TABLE, 'n1/web-2', { Service: 'api' }));
    assert.deepEqual(keysBy(store.listBy(TABLE, 'service', 'web')), ['n2/web-1']);
    assert.deepEqual(keysBy(store.listBy(TABLE, 'service', 'api')), ['n1/web-2']);
    await store.write((tx) => tx.delete(TABLE, 'n2/web-1'));
    assert.deepEqual(store.listBy(TABLE, 'service', 'web'), []);
    assert.deepEqual(store.listBy(TABLE, 'service', 'db').map((r) => r.value), [{ Service: 'db' }]);
  } finally {
    await store.close();
  }
});

test('inside a group, listBy sees the staged writes of earlier transactions and not those of a failed one', async () => {
  const store = await StateStore.open(new SqliteBackend(dataDir()));
  try {
    await store.write((tx) => {
      tx.put(TABLE, 'b/1', { Service: 'web' });
      tx.put(TABLE, 'd/1', { Service: 'web' });
    });
    const seen: string[][] = [];
    const results = await Promise.allSettled([
      store.write((tx) => tx.put(TABLE, 'c/1', { Service: 'web' })),
      store.write((tx) => tx.put(TABLE, 'd/1', { Service: 'db' })),
      store.write((tx) => {
        tx.put(TABLE, 'a/1', { Service: 'web' });
        tx.delete(TABLE, 'b/1');
        seen.push(keysBy(tx.listBy(TABLE, 'service', 'web')));
        throw new Error('refused');
      }),
      store.write((tx) => {
        seen.push(keysBy(tx.listBy(TABLE, 'service', 'web')));
        return tx.index;
      }),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(seen[0], ['a/1', 'c/1'], 'a transaction sees its own staged writes and deletes');
    assert.deepEqual(seen[1], ['b/1', 'c/1'], 'a later transaction sees earlier staged writes, not a failed one');
    assert.deepEqual(keysBy(store.listBy(TABLE, 'service', 'web')), ['b/1', 'c/1']);
    assert.deepEqual(keysBy(store.listBy(TABLE, 'service', 'db')), ['d/1']);
  } finally {
    await store.close();
  }
});

test('an index is rebuilt from the durable rows after a reopen; an undeclared index is a coded error', async () => {
  const dir = dataDir();
  let store = await StateStore.open(new SqliteBackend(dir));
  await store.write((tx) => {
    for (let i = 0; i < 20; i++) tx.put(TABLE, `n${String(i).padStart(2, '0')}/s`, { Service: `svc-${i % 3}` });
  });
  const before = store.listBy(TABLE, 'service', 'svc-1');
  await store.close();
  store = await StateStore.open(new SqliteBackend(dir));
  try {
    assert.deepEqual(store.listBy(TABLE, 'service', 'svc-1'), before);
    assert.equal(before.length, 7);
    assert.throws(() => store.listBy(TABLE, 'nope', 'x'), (err) => isMeshgateError(err, 'MG_STORE_UNKNOWN_INDEX'));
    assert.throws(() => store.listBy('no-such-table', 'service', 'x'), (err) => isMeshgateError(err, 'MG_STORE_UNKNOWN_INDEX'));
  } finally {
    await store.close();
  }
});
