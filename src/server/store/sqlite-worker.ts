/**
 * Owns the SQLite write connection off the main thread, so the event loop keeps serving reads and blocking queries
 * while a group commit waits for fsync. Receives groups of commits, writes each group in one transaction.
 *
 * Checkpoints are this worker's job, not COMMIT's: SQLite's automatic checkpoint (every 1,000 WAL pages) runs
 * inside the COMMIT that crosses the mark, so that write is acknowledged only after the WAL pages are copied into
 * the database and both files are fsynced again (measured: ~4× a plain commit's time, every ~250 single-put
 * commits). Here `wal_autocheckpoint` is 0 and the worker runs a PASSIVE checkpoint itself after it has
 * acknowledged a group — once the WAL holds about as many pages as SQLite's default allows, or when no commit has
 * come for a while. This connection is the only writer and the only reader of the WAL, so a checkpoint here
 * always copies everything and the next commit restarts the WAL from its start: the file stays bounded (and
 * `journal_size_limit` trims it back if one huge group made it grow). Durability is unchanged: every COMMIT is
 * still fsynced (synchronous=FULL) before its acknowledgement.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, type WireCommit, type WireRestore } from './sqlite-schema.ts';

/** WAL pages the worker lets gather between checkpoints (SQLite's default wal_autocheckpoint). */
const CHECKPOINT_PAGES = 1000;
/**
 * How many groups that is depends on the keys they write (a single put writes 4 pages; 64 puts to neighbouring
 * keys share most of theirs), so the cadence is learned: each checkpoint reports how many frames the WAL held, and
 * the next interval is set to reach about CHECKPOINT_PAGES. The first guess is a single put's.
 */
const FIRST_GROUPS_PER_CHECKPOINT = 250;
const MAX_GROUPS_PER_CHECKPOINT = 10_000;
/** Short of that, a checkpoint still runs once commits have paused this long. */
const IDLE_CHECKPOINT_MS = 200;
/** Size the WAL file is truncated back to when it restarts after having grown beyond it. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

const db = openDatabase((workerData as { path: string }).path);
db.exec('PRAGMA wal_autocheckpoint = 0');
db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
const upsert = db.prepare(
  'INSERT INTO rows (tbl, key, value, create_index, modify_index) VALUES (?, ?, ?, ?, ?) ' +
    'ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value, create_index = excluded.create_index, modify_index = excluded.modify_index',
);
const remove = db.prepare('DELETE FROM rows WHERE tbl = ? AND key = ?');
const setTableIndex = db.prepare(
  'INSERT INTO table_index (tbl, idx) VALUES (?, ?) ON CONFLICT (tbl) DO UPDATE SET idx = excluded.idx',
);
const setIndex = db.prepare("INSERT INTO meta (name, value) VALUES ('index', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
const clearRows = db.prepare('DELETE FROM rows');
const clearTableIndexes = db.prepare('DELETE FROM table_index');
const checkpointPassive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

let groups = 0;
let groupsPerCheckpoint = FIRST_GROUPS_PER_CHECKPOINT;
let closed = false;
const idleTimer = setTimeout(checkpoint, IDLE_CHECKPOINT_MS);
idleTimer.unref();

function checkpoint(): void {
  if (closed || groups === 0) return;
  try {
    // busy / frames in the WAL / frames copied. Busy cannot happen with no other connection; a checkpoint that
    // falls short leaves the rest to the next one, which the next write's restart of the WAL waits for.
    const r = checkpointPassive.get() as { busy: number; log: number; checkpointed: number };
    if (r.log > 0) {
      const framesPerGroup = r.log / groups;
      groupsPerCheckpoint = Math.min(MAX_GROUPS_PER_CHECKPOINT, Math.max(1, Math.round(CHECKPOINT_PAGES / framesPerGroup)));
    }
    groups = 0;
  } catch (err) {
    // Not fatal: the WAL keeps the data durable, and the next checkpoint retries.
    parentPort!.postMessage({ id: 0, warning: `WAL checkpoint failed: ${err instanceof Error ? err.message : String(err)}` });
  }
}

/** A restore replaces everything in the one transaction the caller commits. */
function restore(r: WireRestore): void {
  clearRows.run();
  clearTableIndexes.run();
  for (const m of r.commit.mutations) upsert.run(m.table, m.key, m.value!, m.createIndex!, m.modifyIndex!);
  for (const t of r.tables) setTableIndex.run(t, r.commit.index);
  setIndex.run(r.commit.index);
}

parentPort!.on('message', (message: { id: number; group?: WireCommit[]; restore?: WireRestore; close?: boolean }) => {
  if (message.close) {
    closed = true;
    clearTimeout(idleTimer);
    db.close(); // the last connection's close checkpoints and removes the WAL
    parentPort!.postMessage({ id: message.id });
    return;
  }
  try {
    db.exec('BEGIN IMMEDIATE');
    if (message.restore) {
      restore(message.restore);
      db.exec('COMMIT');
      groups++;
      parentPort!.postMessage({ id: message.id });
      return;
    }
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
    groups++;
    parentPort!.postMessage({ id: message.id });
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    parentPort!.postMessage({ id: message.id, error: err instanceof Error ? err.message : String(err) });
    return;
  }
  // After the acknowledgement is on its way: the write that filled the WAL does not wait for its checkpoint.
  if (groups >= groupsPerCheckpoint) checkpoint();
  else idleTimer.refresh();
});
