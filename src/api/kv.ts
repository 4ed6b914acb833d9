/** `/v1/kv`: reads return `{ value, meta }`; a missing key is `null` (and an empty prefix `[]`), never an error. */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type { KVDeleteOptions, KVPair, KVPutOptions, QueryOptions, QueryResult, WriteOptions } from './types.ts';

export class KV {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  /** `GET /v1/kv/:key` — the pair, or null when the key does not exist. */
  async get(key: string, opts: QueryOptions = {}): Promise<QueryResult<KVPair | null>> {
    const res = await this.t.query<KVPair[] | null>({ method: 'GET', path: kvPath(key), query: opts }, { value: null });
    return { value: res.value?.[0] ?? null, meta: res.meta };
  }

  /** `GET /v1/kv/:prefix?recurse` — every pair under the prefix ([] when none). */
  async list(prefix: string, opts: QueryOptions = {}): Promise<QueryResult<KVPair[]>> {
    const res = await this.t.query<KVPair[] | null>(
      { method: 'GET', path: kvPath(prefix), params: { recurse: true }, query: opts },
      { value: [] },
    );
    return { value: res.value ?? [], meta: res.meta };
  }

  /** `GET /v1/kv/:prefix?keys[&separator=]` — key names only. */
  async keys(prefix: string, opts: QueryOptions & { separator?: string } = {}): Promise<QueryResult<string[]>> {
    const { separator, ...query } = opts;
    const res = await this.t.query<string[] | null>(
      { method: 'GET', path: kvPath(prefix), params: { keys: true, separator }, query },
      { value: [] },
    );
    return { value: res.value ?? [], meta: res.meta };
  }

  /**
   * `PUT /v1/kv/:key` — false when a CAS or lock condition failed. `value` is stored as bytes (strings as UTF-8).
   */
  async put(key: string, value: string | Uint8Array | null, opts: KVPutOptions & WriteOptions = {}): Promise<boolean> {
    const { flags, cas, acquire, release, ...write } = opts;
    const raw = value === null ? new Uint8Array() : typeof value === 'string' ? new TextEncoder().encode(value) : value;
    const ok = await this.t.write<boolean>({
      method: 'PUT', path: kvPath(key), params: { flags, cas, acquire, release }, write, raw,
    });
    return ok === true;
  }

  /** `DELETE /v1/kv/:key[?recurse][&cas=]` — false when a CAS condition failed. */
  async delete(key: string, opts: KVDeleteOptions & WriteOptions = {}): Promise<boolean> {
    const { recurse, cas, ...write } = opts;
    const ok = await this.t.write<boolean | null>({ method: 'DELETE', path: kvPath(key), params: { recurse, cas }, write });
    // Consul answers `true`; older servers answered with an empty body, which is success too.
    return ok !== false;
  }

  /** `DELETE /v1/kv/:prefix?recurse`. */
  deleteTree(prefix: string, opts: WriteOptions = {}): Promise<boolean> {
    return this.delete(prefix, { ...opts, recurse: true });
  }
}

function kvPath(key: string): string {
  return `/v1/kv/${escapePath(key.replace(/^\/+/, ''))}`;
}

/** The bytes of a pair's base64 Value (empty when null). */
export function kvValueBytes(pair: Pick<KVPair, 'Value'>): Buffer {
  return pair.Value ? Buffer.from(pair.Value, 'base64') : Buffer.alloc(0);
}

/** The pair's value as UTF-8 text. */
export function kvValueText(pair: Pick<KVPair, 'Value'>): string {
  return kvValueBytes(pair).toString('utf8');
}

/** base64 for a Value field (txn ops, catalog bodies). */
export function encodeKVValue(value: string | Uint8Array): string {
  return Buffer.from(typeof value === 'string' ? new TextEncoder().encode(value) : value).toString('base64');
}
