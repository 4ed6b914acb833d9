/**
 * The snapshot archive: gzip over newline-delimited JSON, streamed both ways so neither side builds the archive in
 * memory. Line one is the header (`format`, `version`, the store `index` and every table's index, when and from
 * which backend); then one line per row (`t` table, `k` key, `v` value, `c`/`m` create and modify index), tables
 * and keys in order; the last line is the trailer with the row count and the SHA-256 of every byte before it.
 * gzip's CRC catches a damaged file, the trailer a truncated or edited one (gzip streams can be cut cleanly at a
 * member boundary), and the version lets a later release read or refuse an older format by name.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';
import { defineError } from '../../lib/errors.ts';
import type { StoreSnapshot, StoredRow } from '../store/types.ts';

export const SNAPSHOT_FORMAT = 'meshgate-snapshot';
export const SNAPSHOT_VERSION = 1;
/** The most uncompressed bytes a restore reads: a bound on memory, far above any catalog this server holds. */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;

export const ErrSnapshotInvalid = defineError('MG_SNAPSHOT_INVALID', 400, (reason: string) => `invalid snapshot: ${reason}`);

export interface SnapshotHeader {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  index: number;
  tables: Record<string, number>;
  createdAt: string;
  backend: string;
}

export interface DecodedSnapshot {
  readonly header: SnapshotHeader;
  readonly rows: Array<{ table: string; row: StoredRow }>;
}

/** The archive of `snapshot` as a gzip stream. */
export function encodeSnapshot(snapshot: StoreSnapshot, backend: string, now = new Date()): Readable {
  const header: SnapshotHeader = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    index: snapshot.index,
    tables: Object.fromEntries([...snapshot.tableIndexes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    createdAt: now.toISOString(),
    backend,
  };
  const rows = [...snapshot.rows].sort((a, b) => compare(a.table, b.table) || compare(a.row.key, b.row.key));
  function* lines(): Generator<Buffer> {
    const hash = createHash('sha256');
    const emit = (value: unknown): Buffer => {
      const line = Buffer.from(`${JSON.stringify(value)}\n`);
      hash.update(line);
      return line;
    };
    yield emit(header);
    // Lines are batched into ~64 KiB chunks: one gzip write per row would cost more than the rows.
    let batch: Buffer[] = [];
    let size = 0;
    for (const { table, row } of rows) {
      const line = emit({ t: table, k: row.key, v: row.value, c: row.createIndex, m: row.modifyIndex });
      batch.push(line);
      size += line.length;
      if (size >= 65536) {
        yield Buffer.concat(batch);
        batch = [];
        size = 0;
      }
    }
    if (batch.length > 0) yield Buffer.concat(batch);
    yield Buffer.from(`${JSON.stringify({ end: true, rows: rows.length, sha256: hash.digest('hex') })}\n`);
  }
  return Readable.from(lines(), { objectMode: false }).pipe(createGzip());
}

/** Reads and checks an archive; every fault is MG_SNAPSHOT_INVALID naming what is wrong, before anything is restored. */
export async function decodeSnapshot(input: Iterable<Buffer> | AsyncIterable<Buffer> | Readable): Promise<DecodedSnapshot> {
  const gunzip = createGunzip();
  const source = Readable.from(input as AsyncIterable<Buffer>);
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  const hash = createHash('sha256');
  let header: SnapshotHeader | undefined;
  let trailer: { rows: number; sha256: string } | undefined;
  const rows: Array<{ table: string; row: StoredRow }> = [];
  const utf8 = new StringDecoder('utf8');
  let pending = '';
  let total = 0;
  let lineNo = 0;
  const take = (line: string): void => {
    lineNo++;
    if (trailer) throw ErrSnapshotInvalid(`data after the trailer (line ${lineNo})`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw ErrSnapshotInvalid(`line ${lineNo} is not JSON`);
    }
    if (!header) {
      header = checkHeader(value);
      hash.update(`${line}\n`);
      return;
    }
    const v = value as Record<string, unknown>;
    if (v.end === true) {
      if (typeof v.rows !== 'number' || typeof v.sha256 !== 'string') throw ErrSnapshotInvalid('malformed trailer');
      trailer = { rows: v.rows, sha256: v.sha256 };
      return;
    }
    if (typeof v.t !== 'string' || v.t === '' || v.t.includes('/') || typeof v.k !== 'string' || !('v' in v) ||
        !Number.isSafeInteger(v.c) || !Number.isSafeInteger(v.m)) {
      throw ErrSnapshotInvalid(`line ${lineNo} is not a row`);
    }
    hash.update(`${line}\n`);
    rows.push({ table: v.t, row: { key: v.k, value: v.v, createIndex: v.c as number, modifyIndex: v.m as number } });
  };
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > MAX_SNAPSHOT_BYTES) throw ErrSnapshotInvalid(`larger than ${MAX_SNAPSHOT_BYTES} bytes uncompressed`);
      // The decoder keeps a character split across chunks whole.
      const lines = (pending + utf8.write(chunk)).split('\n');
      pending = lines.pop()!;
      for (const line of lines) take(line);
    }
  } catch (err) {
    source.unpipe(gunzip);
    gunzip.destroy();
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('Z_')) {
      throw ErrSnapshotInvalid(`not a gzip stream or damaged (${err.message})`);
    }
    throw err;
  }
  if (pending !== '') throw ErrSnapshotInvalid('the last line is cut short');
  if (!header) throw ErrSnapshotInvalid('empty archive');
  if (!trailer) throw ErrSnapshotInvalid('no trailer: the archive is truncated');
  if (trailer.rows !== rows.length) throw ErrSnapshotInvalid(`trailer counts ${trailer.rows} rows, the archive holds ${rows.length}`);
  if (trailer.sha256 !== hash.digest('hex')) throw ErrSnapshotInvalid('checksum mismatch');
  return { header, rows };
}

function checkHeader(value: unknown): SnapshotHeader {
  const h = value as Partial<SnapshotHeader> | null;
  if (!h || typeof h !== 'object' || h.format !== SNAPSHOT_FORMAT) throw ErrSnapshotInvalid(`not a ${SNAPSHOT_FORMAT} archive`);
  if (h.version !== SNAPSHOT_VERSION) throw ErrSnapshotInvalid(`format version ${String(h.version)} is not supported (this server reads ${SNAPSHOT_VERSION})`);
  if (!Number.isSafeInteger(h.index) || typeof h.tables !== 'object' || h.tables === null) throw ErrSnapshotInvalid('malformed header');
  return h as SnapshotHeader;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
