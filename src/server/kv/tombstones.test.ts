/** The graveyard reaper removes tombstones past their TTL and keeps fresh ones (Consul: state/tombstone_gc.go). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.ts';
import { KV_TABLE, KV_TOMBSTONES_TABLE, kvDelete, kvDeleteTree, kvPrefixIndex, kvSet } from './entries.ts';
import { reapTombstones } from './tombstones.ts';

test('deletes leave tombstones that hold the prefix index until reaped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-tomb-'));
  const store = await openStore({ backend: 'sqlite', dataDir: dir });
  try {
    await store.write((tx) => kvSet(tx, { key: 'a/1', value: null, flags: 0 }));
    await store.write((tx) => kvSet(tx, { key: 'a/2', value: null, flags: 0 }));
    const { index: deletedAt } = await store.write((tx) => kvDelete(tx, 'a/2'));
    assert.equal(kvPrefixIndex(store, 'a/', store.list(KV_TABLE, 'a/')), deletedAt);
    const { index: treeAt } = await store.write((tx) => kvDeleteTree(tx, 'a/'));
    assert.deepEqual(store.list(KV_TOMBSTONES_TABLE).map((t) => t.key), ['a/', 'a/2']);
    assert.equal(kvPrefixIndex(store, 'a/', []), treeAt);

    assert.equal(await reapTombstones(store, Date.now(), 60_000), 0, 'fresh tombstones stay');
    assert.equal(await reapTombstones(store, Date.now() + 61_000, 60_000), 2);
    assert.equal(store.count(KV_TOMBSTONES_TABLE), 0);
    // With neither entries nor tombstones, the prefix reports the KV tables' index, which never goes back.
    assert.ok(kvPrefixIndex(store, 'a/', []) >= treeAt);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
