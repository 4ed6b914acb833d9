/**
 * One HTTP exchange with a Consul-compatible server: builds the URL (dc, consistency, blocking parameters), sends the
 * token header, enforces the deadline, decodes X-Consul-* headers into QueryMeta, and turns every failure into a
 * coded error (errors.ts). Endpoint modules (kv.ts, catalog.ts, …) are thin layers over `query` and `write`.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { formatDuration } from '../lib/duration.ts';
import { withCause } from '../lib/errors.ts';
import { ApiErrors, ApiStatusError } from './errors.ts';
import type { QueryMeta, QueryOptions, QueryResult, WriteOptions } from './types.ts';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Consul's default and maximum wait of a blocking query. */
export const DEFAULT_BLOCKING_WAIT_MS = 5 * 60_000;
export const MAX_BLOCKING_WAIT_MS = 10 * 60_000;

export interface TransportSettings {
  baseUrl: string;
  token?: string;
  datacenter?: string;
  /** Deadline of a non-blocking request. */
  timeoutMs: number;
  /** Added to wait + wait/16 (the server's own jitter) for a blocking request's deadline. */
  blockingMarginMs: number;
  /** A caller-supplied fetch; without it undici's fetch runs on an Agent with its own timeouts off (we own them). */
  fetch?: FetchLike;
  headers?: Record<string, string>;
}

type ParamValue = string | number | boolean | undefined | null | readonly string[];

export interface RequestSpec {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Path below the base URL, already escaped, e.g. `/v1/kv/a%20b`. */
  path: string;
  params?: Record<string, ParamValue>;
  query?: QueryOptions;
  write?: WriteOptions;
  /** A JSON body (object/array), or raw bytes (KV values). */
  json?: unknown;
  raw?: Uint8Array;
  /** Statuses the caller handles itself instead of receiving an ApiStatusError (404 for a missing key, 409 txn). */
  acceptStatus?: readonly number[];
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  requestTime: number;
}

// Blocking queries may legitimately keep a response pending for 10m+: undici's default headers/body timeouts
// (300s) would cut them, so the shared agent turns them off and every request carries its own deadline.
let sharedAgent: Agent | undefined;
function defaultFetch(): FetchLike {
  sharedAgent ??= new Agent({ headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });
  const dispatcher = sharedAgent;
  return (input, init) => undiciFetch(input, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
}

export class Transport {
  readonly settings: TransportSettings;
  private readonly fetchFn: FetchLike;

  constructor(settings: TransportSettings) {
    this.settings = settings;
    this.fetchFn = settings.fetch ?? defaultFetch();
  }

  /** The deadline for one request: wait + wait/16 + margin when blocking, else the plain timeout. */
  deadlineFor(query?: QueryOptions): number {
    if (query?.index === undefined || query.index <= 0) return Math.ceil(this.settings.timeoutMs);
    const wait = Math.min(query.waitMs ?? DEFAULT_BLOCKING_WAIT_MS, MAX_BLOCKING_WAIT_MS);
    return Math.ceil(wait + wait / 16 + this.settings.blockingMarginMs);
  }

  buildUrl(spec: RequestSpec): string {
    const search = new URLSearchParams();
    const q = spec.query;
    const w = spec.write;
    const dc = q?.datacenter ?? w?.datacenter ?? this.settings.datacenter;
    if (dc) search.set('dc', dc);
    const ns = q?.namespace ?? w?.namespace;
    if (ns) search.set('ns', ns);
    const partition = q?.partition ?? w?.partition;
    if (partition) search.set('partition', partition);
    if (q) {
      if (q.index !== undefined && q.index > 0) search.set('index', String(q.index));
      if (q.waitMs !== undefined && q.index !== undefined && q.index > 0) {
        search.set('wait', formatDuration(Math.min(Math.max(1, Math.round(q.waitMs)), MAX_BLOCKING_WAIT_MS)));
      }
      if (q.stale) search.set('stale', '');
      if (q.consistent) search.set('consistent', '');
      if (q.cached) search.set('cached', '');
      if (q.filter) search.set('filter', q.filter);
      if (q.near) search.set('near', q.near);
      for (const [k, v] of Object.entries(q.nodeMeta ?? {})) search.append('node-meta', `${k}:${v}`);
    }
    for (const [k, v] of Object.entries(spec.params ?? {})) {
      if (v === undefined || v === null || v === false) continue;
      if (v === true) search.set(k, '');
      else if (Array.isArray(v)) for (const item of v) search.append(k, item);
      else search.set(k, String(v));
    }
    // Consul reads bare flags (`?recurse`, `?passing`); URLSearchParams writes them as `k=`, which it accepts too.
    const qs = search.toString().replace(/=(?=&|$)/g, '');
    return `${this.settings.baseUrl}${spec.path}${qs ? `?${qs}` : ''}`;
  }

  private headersFor(spec: RequestSpec): Record<string, string> {
    const headers: Record<string, string> = { ...this.settings.headers };
    const token = spec.query?.token ?? spec.write?.token ?? this.settings.token;
    if (token) headers['X-Consul-Token'] = token;
    if (spec.query?.maxAgeSeconds !== undefined) headers['Cache-Control'] = `max-age=${spec.query.maxAgeSeconds}`;
    return headers;
  }

  /**
   * A request whose body or answer is a byte stream of any size (snapshots): the upload is streamed, and the
   * answer's body is left unread for the caller to stream. The deadline runs only until the answer's headers
   * arrive (an archive may take longer to move than any request should take to be answered); the caller's signal
   * still aborts the whole transfer. A non-2xx answer is an ApiStatusError with the body's text.
   */
  async stream(spec: RequestSpec, upload?: AsyncIterable<Uint8Array>): Promise<{ body: ReadableStream<Uint8Array> | null; meta: QueryMeta }> {
    const url = this.buildUrl(spec);
    const headers = this.headersFor(spec);
    if (upload) headers['Content-Type'] = 'application/octet-stream';
    const deadline = Math.ceil(this.settings.timeoutMs);
    const untilHeaders = new AbortController();
    const timer = setTimeout(() => untilHeaders.abort(), deadline);
    const callerSignal = spec.query?.signal ?? spec.write?.signal;
    const signal = callerSignal ? AbortSignal.any([callerSignal, untilHeaders.signal]) : untilHeaders.signal;
    const started = performance.now();
    let response: Response;
    try {
      const init = { method: spec.method, headers, signal, ...(upload ? { body: upload, duplex: 'half' } : {}) };
      response = await this.fetchFn(url, init as RequestInit);
    } catch (err) {
      if (callerSignal?.aborted) throw withCause(ApiErrors.aborted(spec.method, spec.path), err);
      if (untilHeaders.signal.aborted) throw withCause(ApiErrors.timeout(spec.method, spec.path, deadline), err);
      throw withCause(ApiErrors.transport(spec.method, url, describeTransportFailure(err)), err);
    } finally {
      clearTimeout(timer);
    }
    if (response.status < 200 || response.status >= 300) {
      throw new ApiStatusError(spec.method, spec.path, response.status, await response.text());
    }
    return { body: response.body, meta: parseQueryMeta(response.headers, performance.now() - started) };
  }

  async send(spec: RequestSpec): Promise<RawResponse> {
    const url = this.buildUrl(spec);
    const headers = this.headersFor(spec);
    let body: Uint8Array | string | undefined;
    if (spec.raw !== undefined) body = spec.raw;
    else if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers['Content-Type'] = 'application/json';
    }
    const deadline = this.deadlineFor(spec.query);
    const timeoutSignal = AbortSignal.timeout(deadline);
    const callerSignal = spec.query?.signal ?? spec.write?.signal;
    const signal = callerSignal ? AbortSignal.any([callerSignal, timeoutSignal]) : timeoutSignal;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(url, { method: spec.method, headers, body: body as RequestInit['body'], signal });
      text = await response.text();
    } catch (err) {
      if (callerSignal?.aborted) throw withCause(ApiErrors.aborted(spec.method, spec.path), err);
      if (timeoutSignal.aborted) throw withCause(ApiErrors.timeout(spec.method, spec.path, deadline), err);
      throw withCause(ApiErrors.transport(spec.method, url, describeTransportFailure(err)), err);
    }
    const requestTime = performance.now() - started;
    if ((response.status < 200 || response.status >= 300) && !spec.acceptStatus?.includes(response.status)) {
      throw new ApiStatusError(spec.method, spec.path, response.status, text);
    }
    return { status: response.status, headers: response.headers, text, requestTime };
  }

  /**
   * A read: decoded body plus QueryMeta. `missing` is the value returned for a 404 (KV keys, sessions, nodes);
   * without it a 404 is an ApiStatusError.
   */
  async query<T>(spec: RequestSpec, missing?: { value: T }): Promise<QueryResult<T>> {
    const res = await this.send({ ...spec, acceptStatus: missing ? [404] : spec.acceptStatus });
    const meta = parseQueryMeta(res.headers, res.requestTime);
    if (res.status === 404 && missing) return { value: missing.value, meta };
    return { value: decodeJson<T>(res, spec), meta };
  }

  /** A write: the decoded body (`true`/`false` for KV, `{ID}` for sessions, null when empty). */
  async write<T>(spec: RequestSpec): Promise<T> {
    const res = await this.send(spec);
    return decodeJson<T>(res, spec);
  }
}

export function decodeJson<T>(res: RawResponse, spec: Pick<RequestSpec, 'method' | 'path'>): T {
  if (res.text.trim() === '') return null as T;
  try {
    return JSON.parse(res.text) as T;
  } catch (err) {
    throw withCause(ApiErrors.decode(spec.method, spec.path, `invalid JSON (${(err as Error).message})`), err);
  }
}

export function parseQueryMeta(headers: Headers, requestTime = 0): QueryMeta {
  const index = Number(headers.get('X-Consul-Index') ?? '0');
  const contact = Number(headers.get('X-Consul-LastContact') ?? '0');
  const age = Number(headers.get('Age') ?? '0');
  const meta: QueryMeta = {
    LastIndex: Number.isFinite(index) && index > 0 ? index : 0,
    KnownLeader: headers.get('X-Consul-KnownLeader') === 'true',
    LastContact: Number.isFinite(contact) ? contact : 0,
    AddressTranslationEnabled: headers.get('X-Consul-Translate-Addresses') === 'true',
    CacheHit: (headers.get('X-Cache') ?? '').toUpperCase() === 'HIT',
    CacheAge: Number.isFinite(age) ? age : 0,
    ResultsFilteredByACLs: headers.get('X-Consul-Results-Filtered-By-ACLs') === 'true',
    RequestTime: requestTime,
  };
  const policy = headers.get('X-Consul-Default-ACL-Policy');
  if (policy) meta.DefaultACLPolicy = policy;
  return meta;
}

/** The system error behind a failed fetch ("connect ECONNREFUSED 127.0.0.1:1"), not undici's generic "fetch failed". */
function describeTransportFailure(err: unknown): string {
  let current: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && current.message) return current.message.includes(code) ? current.message : `${code}: ${current.message}`;
    message = current.message || message;
    current = current.cause;
  }
  return message;
}

/**
 * Escapes a path segment list, keeping `/` between them (KV keys, names with spaces or `#`). Like Go's
 * url.PathEscape, characters legal in a path segment (`:`, `@`, sub-delims) stay as they are, so `service:web`
 * reaches the server unchanged.
 */
export function escapePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%(3A|40|24|26|2B|2C|3B|3D)/g, (m) => decodeURIComponent(m)))
    .join('/');
}
