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
 */
import { Etcd3, type Campaign, type ICompare, type IKeyValue, type IRequestOp, type IWatchResponse, type Watcher } from 'etcd3';
import { createLogger, type Logger } from '../../lib/logger.ts';
import type {
  Change, LoadedState, Mutation, ReplicatedBackend, ReplicatedCommit, ReplicatedCommitResult, StoredRow,
} from './types.ts';

export const DEFAULT_ETCD_PREFIX = '/meshgate';
/** Above this many compares a transaction compares table markers instead of keys (etcd's --max-txn-ops is 128). */
const MAX_KEY_COMPARES = 96;
/** Rows per page of the snapshot, which stays well under gRPC's message size limit. */
const PAGE = 1000;
/** The election's lease: how long a dead leader keeps its duties before another replica takes them over. */
const ELECTION_TTL_S = 10;

export interface EtcdBackendOptions {
  endpoints: string[];
  prefix?: string;
  logger?: Logger;
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

  constructor(options: EtcdBackendOptions) {
    this.prefix = (options.prefix ?? DEFAULT_ETCD_PREFIX).replace(/\/+$/, '');
    this.client = new Etcd3({ hosts: options.endpoints });
    this.logger = options.logger ?? createLogger({ name: 'store' });
  }

  async follow(apply: (change: Change) => void): Promise<LoadedState> {
    const start = Buffer.from(`${this.prefix}/`);
    const end = prefixEnd(start);
    const rows: Array<{ table: string; row: StoredRow }> = [];
    const tableIndexes = new Map<string, number>();
    let index = 0;
    let revision: number | undefined;
    let from = start;
    for (;;) {
      const res = await this.client.kv.range({
        key: from, range_end: end, limit: PAGE, ...(revision !== undefined ? { revision } : {}),
      });
      revision ??= Number(res.header.revision);
      for (const kv of res.kvs) {
        const at = this.parse(kv.key);
        if (!at) continue;
        const mod = Number(kv.mod_revision);
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

    const watcher = await this.client.watch().prefix(start).startRevision(String(revision + 1)).create();
    watcher.on('data', (res: IWatchResponse) => {
      for (const change of this.changesOf(res)) apply(change);
    });
    watcher.on('disconnected', (err) => this.logger.warn({ err, prefix: this.prefix }, 'etcd watch disconnected; resuming'));
    watcher.on('error', (err) => {
      if (!this.closed) this.logger.error({ err, prefix: this.prefix }, 'etcd watch failed: this replica no longer sees changes');
    });
    this.watcher = watcher;
    return { index, tableIndexes, rows };
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

    const success: IRequestOp[] = [];
    const written = new Set<string>();
    for (const m of commit.mutations) {
      written.add(m.table);
      const key = this.rowKey(m.table, m.key);
      if (m.op === 'put') success.push({ request_put: { key, value: Buffer.from(JSON.stringify(m.row.value) ?? 'null') } });
      else success.push({ request_delete_range: { key } });
    }
    for (const t of written) success.push({ request_put: { key: this.markerKey(t), value: Buffer.alloc(0) } });
    const failure: IRequestOp[] = [...tables.keys()].map((t) => ({ request_range: { key: this.markerKey(t), keys_only: true } }));

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
  private changesOf(res: IWatchResponse): Change[] {
    const changes: Change[] = [];
    let current: { index: number; mutations: Mutation[]; tables: Set<string> } | undefined;
    const flush = (): void => {
      if (current) changes.push({ index: current.index, mutations: current.mutations, tables: [...current.tables] });
    };
    for (const ev of res.events) {
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
    return Buffer.from(`${this.prefix}/${table}/${key}`);
  }

  private markerKey(table: string): Buffer {
    return Buffer.from(`${this.prefix}/${table}`);
  }

  /** `<prefix>/<table>/<key>` → table and key; `<prefix>/<table>` → the table's marker (key undefined). */
  private parse(raw: Buffer): { table: string; key?: string } | undefined {
    const s = raw.toString();
    if (!s.startsWith(`${this.prefix}/`)) return undefined;
    const rest = s.slice(this.prefix.length + 1);
    const slash = rest.indexOf('/');
    return slash < 0 ? { table: rest } : { table: rest.slice(0, slash), key: rest.slice(slash + 1) };
  }

  /** A row from its etcd key-value; a value that is not JSON (someone else's key under our prefix) is logged, not loaded. */
  private toRow(key: string, kv: IKeyValue): StoredRow | undefined {
    try {
      return { key, value: JSON.parse(kv.value.toString()), createIndex: Number(kv.create_revision), modifyIndex: Number(kv.mod_revision) };
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
