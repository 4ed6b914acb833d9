/** The embedded backend's schema and pragmas, shared by the loader (main thread) and the committer (worker). */
import { DatabaseSync } from 'node:sqlite';

export const SCHEMA = `
  CREATE TABLE IF NOT EXISTS rows (
    tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    create_index INTEGER NOT NULL, modify_index INTEGER NOT NULL,
    PRIMARY KEY (tbl, key)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS table_index (tbl TEXT PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

/** WAL with synchronous=FULL: a COMMIT returns only after the WAL is fsynced, so an acknowledged write is durable. */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(SCHEMA);
  return db;
}

export interface WireMutation {
  op: 'put' | 'delete';
  table: string;
  key: string;
  value?: string;
  createIndex?: number;
  modifyIndex?: number;
}

export interface WireCommit {
  index: number;
  mutations: WireMutation[];
}

/** A snapshot restore: the rows (all at `commit.index`) that replace every row, and the tables whose index moves. */
export interface WireRestore {
  commit: WireCommit;
  tables: string[];
}
