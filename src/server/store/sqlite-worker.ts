/**
 * Owns the SQLite write connection off the main thread, so the event loop keeps serving reads and blocking queries
 * while a group commit waits for fsync. Receives groups of commits, writes each group in one transaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, type WireCommit } from './sqlite-schema.ts';

const db = openDatabase((workerData as { path: string }).path);
const upsert = db.prepare(
  'INSERT INTO rows (tbl, key, value, create_index, modify_index) VALUES (?, ?, ?, ?, ?) ' +
    'ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value, create_index = excluded.create_index, modify_index = excluded.modify_index',
);
const remove = db.prepare('DELETE FROM rows WHERE tbl = ? AND key = ?');
const setTableIndex = db.prepare(
  'INSERT INTO table_index (tbl, idx) VALUES (?, ?) ON CONFLICT (tbl) DO UPDATE SET idx = excluded.idx',
);
const setIndex = db.prepare("INSERT INTO meta (name, value) VALUES ('index', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");

parentPort!.on('message', (message: { id: number; group?: WireCommit[]; close?: boolean }) => {
  if (message.close) {
    db.close();
    parentPort!.postMessage({ id: message.id });
    return;
  }
  try {
    db.exec('BEGIN IMMEDIATE');
    let last = 0;
    for (const commit of message.group!) {
      const tables = new Set<string>();
      for (const m of commit.mutations) {
        if (m.op === 'put') upsert.run(m.table, m.key, m.value!, m.createIndex!, m.modifyIndex!);
        else remove.run(m.table, m.key);
        tables.add(m.table);
      }
      for (const t of tables) setTableIndex.run(t, commit.index);
      last = commit.index;
    }
    setIndex.run(last);
    db.exec('COMMIT');
    parentPort!.postMessage({ id: message.id });
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    parentPort!.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) });
  }
});
