/**
 * The embedded backend: node:sqlite in WAL mode under the server's data dir. Loading happens on the main thread at
 * start; commits go to a worker thread that holds the write connection (see sqlite-worker.ts).
 */
import { mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { defineError } from '../../lib/errors.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';
import { openDatabase, type WireCommit, type WireRestore } from './sqlite-schema.ts';
import type { LoadedState, PreparedCommit, StoreBackend, StoredRow } from './types.ts';

export const ErrCommitFailed = defineError('MG_STORE_COMMIT_FAILED', 500, (reason: string) => `state store commit failed: ${reason}`);

export const DATABASE_FILE = 'state.db';

export class SqliteBackend implements StoreBackend {
  readonly name = 'sqlite';
  readonly path: string;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: unknown) => void }>();
  private readonly logger: Logger;

  constructor(dataDir: string, options: { logger?: Logger } = {}) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, DATABASE_FILE);
    this.logger = options.logger ?? createLogger({ name: 'store' });
  }

  async load(): Promise<LoadedState> {
    const db = openDatabase(this.path);
    try {
      const meta = db.prepare("SELECT value FROM meta WHERE name = 'index'").get() as { value: number } | undefined;
      const tableIndexes = new Map<string, number>();
      for (const r of db.prepare('SELECT tbl, idx FROM table_index').all() as Array<{ tbl: string; idx: number }>) {
        tableIndexes.set(r.tbl, r.idx);
      }
      const rows: Array<{ table: string; row: StoredRow }> = [];
      const stmt = db.prepare('SELECT tbl, key, value, create_index, modify_index FROM rows');
      for (const r of stmt.iterate() as Iterable<{ tbl: string; key: string; value: string; create_index: number; modify_index: number }>) {
        rows.push({ table: r.tbl, row: { key: r.key, value: JSON.parse(r.value), createIndex: r.create_index, modifyIndex: r.modify_index } });
      }
      return { index: meta?.value ?? 0, tableIndexes, rows };
    } finally {
      db.close();
    }
  }

  commit(group: readonly PreparedCommit[]): Promise<void> {
    const wire: WireCommit[] = group.map((c) => ({
      index: c.index,
      mutations: c.mutations.map((m) =>
        m.op === 'put'
          ? { op: 'put', table: m.table, key: m.key, value: JSON.stringify(m.row.value), createIndex: m.row.createIndex, modifyIndex: m.row.modifyIndex }
          : { op: 'delete', table: m.table, key: m.key },
      ),
    }));
    return this.send({ group: wire });
  }

  /** One SQLite transaction on the worker: every row and table index replaced, so a crash keeps old or new. */
  restore(index: number, tables: readonly string[], rows: ReadonlyArray<{ table: string; row: StoredRow }>): Promise<void> {
    const wire: WireCommit = {
      index,
      mutations: rows.map(({ table, row }) => ({
        op: 'put', table, key: row.key, value: JSON.stringify(row.value), createIndex: row.createIndex, modifyIndex: row.modifyIndex,
      })),
    };
    return this.send({ restore: { commit: wire, tables: [...tables] } });
  }

  async close(): Promise<void> {
    if (!this.worker) return;
    await this.send({ close: true });
    await this.worker.terminate();
    this.worker = undefined;
  }

  private send(payload: { group?: WireCommit[]; restore?: WireRestore; close?: boolean }): Promise<void> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...payload });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // The worker sits beside this file: .ts when run from source, .js once built.
    const here = fileURLToPath(import.meta.url);
    const worker = new Worker(new URL(`./sqlite-worker${extname(here)}`, import.meta.url), { workerData: { path: this.path } });
    worker.on('message', (m: { id: number; error?: string; warning?: string }) => {
      if (m.warning) {
        this.logger.warn({ path: this.path }, m.warning);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(ErrCommitFailed(m.error));
      else p.resolve();
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      if (this.pending.size > 0) this.failAll(new Error(`sqlite worker exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(err: unknown): void {
    for (const p of this.pending.values()) p.reject(ErrCommitFailed(err instanceof Error ? err.message : String(err)));
    this.pending.clear();
  }
}
