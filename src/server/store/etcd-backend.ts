/**
 * The replicated backend: etcd 3.4+, shared by every server replica. Layout under the prefix (default `/meshgate`):
 * a row is `<prefix>/<table>/<key>` with its value as JSON, its createIndex/modifyIndex etcd's create_revision and
 * mod_revision; `<prefix>/<table>` (no trailing slash) is the table's marker, put by every transaction that writes
 * the table, so its mod_revision is the table's index — it survives the deletion of the rows that moved it, and one
 * compare on it guards a scan of the table against inserts, updates and deletes alike (no phantoms).
 *
 * A commit is one etcd Txn: compare each key read on its mod_revision (create_revision == 0 for "was absent") and
 * each scanned table's marker, then put/delete the written keys and bump their tables' markers. On a refusal the
 * failure branch reads the markers of the tables read, whose highest revision is at or beyond whatever changed, so
 * the store knows which index its view must reach before running the transaction again.
 *
 * The view is a snapshot (paged range at one revision R) followed by a watch from R+1: every replica, this one
 * included, sees every change through the watch, in revision order.
 *
 * Generations, for snapshot restores: the rows live under a data prefix that is `<prefix>` itself until the first
 * restore, then `<prefix>.gen/<id>`, named by the key `<prefix>.current`. A restore writes the new rows under a
 * fresh generation in as many etcd transactions as it takes (invisible: no replica reads there), then switches
 * `<prefix>.current` in one transaction — the single moment every replica sees the whole new state, at that
 * revision S — and then removes the old generation. Every commit compares `<prefix>.current`, so a write decided
 * on the old generation is refused and runs again on the new one. A row or table marker of a generation written
 * before S reports S as its index, so nothing restored carries an index below one handed out before the restore.
 */
import { randomUUID } from 'node:crypto';
import { Etcd3, type Campaign, type ICompare, type IKeyValue, type IRequestOp, type IWatchResponse, type Watcher } from 'etcd3';
import { defineError } from '../../lib/errors.ts';
import { createLogger, type Logger } from '../../lib/logger.ts';
import type {
  Change, LoadedState, Mutation, ReplicatedBackend, ReplicatedCommit, ReplicatedCommitResult, StoredRow,
} from './types.ts';

export const DEFAULT_ETCD_PREFIX = '/meshgate';
/** etcd's default `--max-txn-ops`: the most compares, and the most operations per branch, one Txn may carry. */
export const DEFAULT_MAX_TXN_OPS = 128;
/** Above this many compares a transaction compares table markers instead of keys (within --max-txn-ops). */
const MAX_KEY_COMPARES = 96;
/** Bytes of row values per restore transaction, well under etcd's default 1.5 MiB request limit. */
const RESTORE_TXN_BYTES = 1024 * 1024;

export const ErrTxnTooLarge = defineError('MG_STORE_TXN_TOO_LARGE', 413, (ops: number, limit: number) =>
  `transaction needs ${ops} etcd operations; the etcd store commits at most ${limit} per transaction ` +
  `(etcd's --max-txn-ops, default ${DEFAULT_MAX_TXN_OPS}; raise it on etcd and set the store's maxTxnOps to match)`);
export const ErrRestoreConflict = defineError('MG_STORE_RESTORE_CONFLICT', 409, () =>
  'another snapshot restore switched the store first; nothing was restored by this one');
/** Rows per page of the snapshot, which stays well under gRPC's message size limit. */
const PAGE = 1000;
/** The election's lease: how long a dead leader keeps its duties before another replica takes them over. */
const ELECTION_TTL_S = 10;

export interface EtcdBackendOptions {
  endpoints: string[];
  prefix?: string;
  logger?: Logger;
  /** etcd's `--max-txn-ops` (default 128): a transaction needing more operations is refused with MG_STORE_TXN_TOO_LARGE. */
  maxTxnOps?: number;
}

export class EtcdBackend implements ReplicatedBackend {
  readonly name = 'etcd';
  readonly replicated = true;
  readonly prefix: string;
  readonly client: Etcd3;
  private readonly logger: Logger;
  private watcher: Watcher | undefined;
  private running: Campaign | undefined;
  private closed = false;
  private readonly maxTxnOps: number;
  /** Where the rows of the current generation live (`<prefix>`, or `<prefix>.gen/<id>` after a restore). */
  private data: string;
  /** The mod_revision of `<prefix>.current` (0 while it does not exist): the revision of the last restore. */
  private generation = 0;
  /** Watch responses are handled one after the other: a restore's switch reads the new generation first. */
  private delivery: Promise<void> = Promise.resolve();

  constructor(options: EtcdBackendOptions) {
    this.prefix = (options.prefix ?? DEFAULT_ETCD_PREFIX).replace(/\/+$/, '');
    this.data = this.prefix;
    this.client = new Etcd3({ hosts: options.endpoints });
    this.logger = options.logger ?? createLogger({ name: 'store' });
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
  }

  private get currentKey(): Buffer {
    return Buffer.from(`${this.prefix}.current`);
  }

  async follow(apply: (change: Change) => void): Promise<LoadedState> {
    const current = await this.client.kv.range({ key: this.currentKey });
    const revision = Number(current.header.revision);
    const kv = current.kvs[0];
    if (kv) {
      this.data = kv.value.toString();
      this.generation = Number(kv.mod_revision);
    }
    const loaded = await this.loadGeneration(revision);

    // One watch over everything under the prefix (rows, the generation switch, staging, the election), so the
    // switch arrives in revision order with the rows; keys that are not the current generation's are skipped.
    const watcher = await this.client.watch().prefix(Buffer.from(this.prefix)).startRevision(String(revision + 1)).create();
    if (this.closed) {
      // close() ran while the watch was being created and found no watcher to cancel: left attached, etcd3's watch
      // manager would keep retrying against the closed client's pool on a timer and hold the process open.
      await watcher.cancel();
      return loaded;
    }
    watcher.on('data', (res: IWatchResponse) => {
      this.delivery = this.delivery.then(() => this.deliver(res, apply)).catch((err: unknown) => {
        this.logger.error({ err, prefix: this.prefix }, 'could not apply a restore from etcd: this replica no longer sees changes');
      });
    });
    watcher.on('disconnected', (err) => this.logger.warn({ err, prefix: this.prefix }, 'etcd watch disconnected; resuming'));
    watcher.on('error', (err) => {
      if (!this.closed) this.logger.error({ err, prefix: this.prefix }, 'etcd watch failed: this replica no longer sees changes');
    });
    this.watcher = watcher;
    return loaded;
  }

  /** The current generation's rows and table markers at `revision`, in pages, with indexes no lower than it. */
  private async loadGeneration(revision: number): Promise<LoadedState & { rows: Array<{ table: string; row: StoredRow }> }> {
    const start = Buffer.from(`${this.data}/`);
    const end = prefixEnd(start);
    const rows: Array<{ table: string; row: StoredRow }> = [];
    const tableIndexes = new Map<string, number>();
    let index = this.generation;
    let from = start;
    for (;;) {
      const res = await this.client.kv.range({ key: from, range_end: end, limit: PAGE, revision: String(revision) });
      for (const kv of res.kvs) {
        const at = this.parse(kv.key);
        if (!at) continue;
        const mod = Math.max(Number(kv.mod_revision), this.generation);
        index = Math.max(index, mod);
        if (at.key === undefined) {
          tableIndexes.set(at.table, mod);
          continue;
        }
        const row = this.toRow(at.key, kv);
        if (row) rows.push({ table: at.table, row });
      }
      if (!res.more || res.kvs.length === 0) break;
      from = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    return { index, tableIndexes, rows };
  }

  /**
   * One watch response: row changes grouped by revision, and a generation switch (a restore) as one `restored`
   * change carrying the new generation's rows as they were at the switch.
   */
  private async deliver(res: IWatchResponse, apply: (change: Change) => void): Promise<void> {
    const events = res.events;
    let from = 0;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      if (ev.type !== 'Put' || !ev.kv.key.equals(this.currentKey)) continue;
      for (const change of this.changesOf(events.slice(from, i))) apply(change);
      from = i + 1;
      const revision = Number(ev.kv.mod_revision);
      if (revision <= this.generation) continue;
      this.data = ev.kv.value.toString();
      this.generation = revision;
      const loaded = await this.loadGeneration(revision);
      apply({
        index: revision,
        restored: true,
        tables: [...loaded.tableIndexes.keys()],
        mutations: loaded.rows.map(({ table, row }) => ({ op: 'put', table, key: row.key, row })),
      });
    }
    for (const change of this.changesOf(events.slice(from))) apply(change);
  }

  async latestIndex(): Promise<number> {
    const [current, latest] = await Promise.all([
      this.client.kv.range({ key: this.currentKey }),
      this.client.kv.range({
        key: Buffer.from(`${this.data}/`), range_end: prefixEnd(Buffer.from(`${this.data}/`)),
        sort_order: 'Descend', sort_target: 'Mod', limit: 1, keys_only: true,
      }),
    ]);
    return Math.max(Number(current.kvs[0]?.mod_revision ?? 0), Number(latest.kvs[0]?.mod_revision ?? 0), this.generation);
  }

  /**
   * Writes `rows` under a fresh generation, then switches `<prefix>.current` to it in one transaction (refused if
   * another restore switched first), then removes the old generation and any abandoned staging. Resolves with the
   * switch's revision.
   */
  async restore(rows: ReadonlyArray<{ table: string; row: StoredRow }>, known: readonly string[]): Promise<number> {
    const expected = this.generation;
    const old = this.data;
    const gen = `${this.prefix}.gen/${randomUUID()}`;
    const tables = new Set<string>(known);
    let ops: IRequestOp[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (ops.length === 0) return;
      await this.client.kv.txn({ compare: [], success: ops, failure: [] });
      ops = [];
      bytes = 0;
    };
    for (const { table, row } of rows) {
      const value = Buffer.from(JSON.stringify(row.value) ?? 'null');
      if (ops.length + 1 > this.maxTxnOps || (ops.length > 0 && bytes + value.length > RESTORE_TXN_BYTES)) await flush();
      ops.push({ request_put: { key: Buffer.from(`${gen}/${table}/${row.key}`), value } });
      bytes += value.length;
      tables.add(table);
    }
    for (const t of tables) {
      if (ops.length + 1 > this.maxTxnOps) await flush();
      ops.push({ request_put: { key: Buffer.from(`${gen}/${t}`), value: Buffer.alloc(0) } });
    }
    await flush();
    const switched = await this.client.kv.txn({
      compare: [compareRevision(this.currentKey, expected)],
      success: [{ request_put: { key: this.currentKey, value: Buffer.from(gen) } }],
      failure: [],
    });
    if (!switched.succeeded) {
      await this.removeRange(Buffer.from(`${gen}/`));
      throw ErrRestoreConflict();
    }
    // The old generation and any staging a crashed restore left: everything under the prefix but the new one.
    const staging = Buffer.from(`${this.prefix}.gen/`);
    await Promise.all([
      this.removeRange(Buffer.from(`${old}/`)),
      this.removeRange(staging, Buffer.from(`${gen}/`)),
      this.removeRange(prefixEnd(Buffer.from(`${gen}/`)), prefixEnd(staging)),
    ]);
    return Number(switched.header.revision);
  }

  /**
   * `<prefix>.touch/<name>` holds the time until which `name` is alive, on an etcd lease that outlives it by a
   * second, so the mark disappears by itself once stale and a replica that dies leaves nothing behind. The time is
   * written, not left to the lease, because a lease counts whole seconds and sessions are timed in milliseconds.
   */
  async touch(name: string, untilMs: number): Promise<void> {
    const ttlSeconds = Math.max(1, Math.ceil((untilMs - Date.now()) / 1000) + 1);
    await this.client.lease(ttlSeconds, { autoKeepAlive: false }).put(`${this.prefix}.touch/${name}`).value(String(untilMs));
  }

  async touchedUntil(name: string): Promise<number> {
    const value = await this.client.get(`${this.prefix}.touch/${name}`).string();
    return value === null ? 0 : Number(value) || 0;
  }

  /** Best effort: what is left behind is never read, only wasted. */
  private async removeRange(from: Buffer, to = prefixEnd(from)): Promise<void> {
    try {
      if (Buffer.compare(from, to) < 0) await this.client.kv.deleteRange({ key: from, range_end: to });
    } catch (err) {
      this.logger.warn({ err, prefix: this.prefix, from: from.toString() }, 'could not remove an old store generation');
    }
  }

  async commitOne(commit: ReplicatedCommit): Promise<ReplicatedCommitResult> {
    const compare: ICompare[] = [];
    const { keys, tables, scanned } = commit.reads;
    const guardTables = new Set(scanned);
    if (keys.size + scanned.size > MAX_KEY_COMPARES) {
      // Too many keys for one etcd Txn: guard every table read instead (coarser, never wrong).
      for (const t of tables.keys()) guardTables.add(t);
    } else {
      for (const [id, seen] of keys) {
        const sep = id.indexOf('\0');
        compare.push(compareRevision(this.rowKey(id.slice(0, sep), id.slice(sep + 1)), seen));
      }
    }
    for (const t of guardTables) compare.push(compareRevision(this.markerKey(t), tables.get(t) ?? 0));
    // Decided on this generation: a restore switching meanwhile refuses it, and it runs again on the new one.
    compare.push(compareRevision(this.currentKey, this.generation));

    const success: IRequestOp[] = [];
    const written = new Set<string>();
    for (const m of commit.mutations) {
      written.add(m.table);
      const key = this.rowKey(m.table, m.key);
      if (m.op === 'put') success.push({ request_put: { key, value: Buffer.from(JSON.stringify(m.row.value) ?? 'null') } });
      else success.push({ request_delete_range: { key } });
    }
    for (const t of written) success.push({ request_put: { key: this.markerKey(t), value: Buffer.alloc(0) } });
    // Refused here with the limit named, rather than by etcd with "too many operations in txn request".
    if (success.length > this.maxTxnOps) throw ErrTxnTooLarge(success.length, this.maxTxnOps);
    const failure: IRequestOp[] = [...tables.keys()].map((t) => ({ request_range: { key: this.markerKey(t), keys_only: true } }));
    failure.push({ request_range: { key: this.currentKey, keys_only: true } });

    const res = await this.client.kv.txn({ compare, success, failure });
    if (res.succeeded) return { committed: true, index: Number(res.header.revision) };
    let index = 0;
    for (const r of res.responses) for (const kv of r.response_range?.kvs ?? []) index = Math.max(index, Number(kv.mod_revision));
    return { committed: false, index };
  }

  /** etcd's election recipe (etcd3's `election`) under `<prefix>.leader`, outside the watched `<prefix>/`. */
  campaign(candidate: string, onLeading: (leading: boolean) => void): void {
    const run = (): void => {
      if (this.closed) return;
      const campaign = this.client.election(`${this.prefix}.leader`, ELECTION_TTL_S).campaign(candidate);
      this.running = campaign;
      campaign.on('elected', () => {
        this.logger.info({ prefix: this.prefix, candidate }, 'elected leader of the leader-only duties');
        onLeading(true);
      });
      campaign.on('error', (err) => {
        onLeading(false);
        if (this.closed) return;
        this.logger.warn({ err, prefix: this.prefix, candidate }, 'leader election failed; campaigning again');
        setTimeout(run, 1000).unref();
      });
    };
    run();
  }

  /** etcd3's election keys live at `election/<name>/<lease>`; a dead replica's key goes with its lease. */
  async campaigners(): Promise<Array<{ candidate: string; leader: boolean }>> {
    const res = await this.client.namespace(`election/${this.prefix}.leader/`).getAll().sort('Create', 'Ascend').exec();
    return res.kvs.map((kv, i) => ({ candidate: kv.value.toString(), leader: i === 0 }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.running?.resign();
    } catch (err) {
      this.logger.warn({ err, prefix: this.prefix }, 'could not resign from the leader election');
    }
    try {
      await this.watcher?.cancel();
    } catch (err) {
      this.logger.warn({ err, prefix: this.prefix }, 'etcd watch did not cancel cleanly');
    }
    this.client.close();
  }

  /** Groups a watch response's events by revision: the events of one etcd Txn share its revision. */
  private changesOf(events: IWatchResponse['events']): Change[] {
    const changes: Change[] = [];
    let current: { index: number; mutations: Mutation[]; tables: Set<string> } | undefined;
    const flush = (): void => {
      if (current) changes.push({ index: current.index, mutations: current.mutations, tables: [...current.tables] });
    };
    for (const ev of events) {
      const at = this.parse(ev.kv.key);
      if (!at) continue;
      const revision = Number(ev.kv.mod_revision);
      if (!current || current.index !== revision) {
        flush();
        current = { index: revision, mutations: [], tables: new Set() };
      }
      current.tables.add(at.table);
      if (at.key === undefined) continue;
      if (ev.type === 'Put') {
        const row = this.toRow(at.key, ev.kv);
        if (row) current.mutations.push({ op: 'put', table: at.table, key: at.key, row });
      } else current.mutations.push({ op: 'delete', table: at.table, key: at.key });
    }
    flush();
    return changes;
  }

  private rowKey(table: string, key: string): Buffer {
    return Buffer.from(`${this.data}/${table}/${key}`);
  }

  private markerKey(table: string): Buffer {
    return Buffer.from(`${this.data}/${table}`);
  }

  /**
   * `<data>/<table>/<key>` → table and key; `<data>/<table>` → the table's marker (key undefined); anything else
   * (another generation, staging, the election) → undefined.
   */
  private parse(raw: Buffer): { table: string; key?: string } | undefined {
    const s = raw.toString();
    if (!s.startsWith(`${this.data}/`)) return undefined;
    const rest = s.slice(this.data.length + 1);
    const slash = rest.indexOf('/');
    return slash < 0 ? { table: rest } : { table: rest.slice(0, slash), key: rest.slice(slash + 1) };
  }

  /** A row from its etcd key-value; a value that is not JSON (someone else's key under our prefix) is logged, not loaded. */
  private toRow(key: string, kv: IKeyValue): StoredRow | undefined {
    try {
      return {
        key, value: JSON.parse(kv.value.toString()),
        createIndex: Math.max(Number(kv.create_revision), this.generation), modifyIndex: Math.max(Number(kv.mod_revision), this.generation),
      };
    } catch (err) {
      this.logger.warn({ err, key: kv.key.toString() }, 'etcd key under the store prefix is not a JSON row; ignored');
      return undefined;
    }
  }
}

/** The key's mod_revision is still `seen`, or, with seen 0, the key still does not exist. */
function compareRevision(key: Buffer, seen: number): ICompare {
  return seen === 0
    ? { key, target: 'Create', result: 'Equal', create_revision: 0 }
    : { key, target: 'Mod', result: 'Equal', mod_revision: seen };
}

/** The end of the range of every key starting with `prefix` (etcd's clientv3.GetPrefixRangeEnd). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
