/**
 * Pieces several middleware kinds share: Traefik's source criterion and the request side of its IP strategy
 * (addresses, sets and strategies live in src/lib/ip; header, status-text and body helpers in src/lib/http), HTTP
 * status ranges, a ResponseWriter that lets a middleware change headers just before they leave, and an in-memory recorder.
 * Everything here is compiled at create time so the request path only runs closures built once.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { GatewayRequest, ResponseHeaders, ResponseWriter } from '../http/types.ts';
import { DelegatingWriter } from '../http/delegating-writer.ts';
import { statusText } from '../../lib/http/status.ts';
import { mergeHeaders, prototypeFree, setHeader } from '../../lib/http/headers.ts';
import { readBodyLimited } from '../../lib/http/body.ts';
import { compileIpStrategy } from '../../lib/ip/strategy.ts';

// ---------------------------------------------------------------------------------------------------------------
// Schemas

/** Traefik's ptypes.Duration, shared with the service schemas (one definition of how durations parse). */
export { durationSchema } from '../services/schema.ts';

export const ipStrategySchema = z
  .object({
    depth: z.number().int().min(0).optional(),
    excludedIPs: z.array(z.string()).optional(),
    ipv6Subnet: z.number().int().min(0).max(128).optional(),
  })
  .strict();
export type IpStrategyConfig = z.infer<typeof ipStrategySchema>;

export const sourceCriterionSchema = z
  .object({
    ipStrategy: ipStrategySchema.optional(),
    requestHeaderName: z.string().optional(),
    requestHost: z.boolean().optional(),
  })
  .strict();
export type SourceCriterionConfig = z.infer<typeof sourceCriterionSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Errors written to the client (Go's http.Error shape: text/plain, status text and a newline)

export function writeError(rw: ResponseWriter, code: number, body: string = statusText(code), extra?: ResponseHeaders): void {
  if (rw.headersSent) {
    rw.end();
    return;
  }
  const headers = prototypeFree<ResponseHeaders>();
  headers['content-type'] = 'text/plain; charset=utf-8';
  headers['x-content-type-options'] = 'nosniff';
  if (extra !== undefined) for (const name in extra) headers[name] = extra[name]!;
  rw.writeHead(code, headers);
  rw.end(body);
}

// ---------------------------------------------------------------------------------------------------------------
// Headers (the response map may use any case; request headers are lower-cased by node)

function isEmpty(headers: ResponseHeaders): boolean {
  for (const _ in headers) return false;
  return true;
}

/** First value of a request header. */
export function requestHeader(req: GatewayRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

// ---------------------------------------------------------------------------------------------------------------
// URL helpers: GatewayRequest.url is origin-form (path and query)

export function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q) };
}

export function ensureLeadingSlash(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

/** The Host header as sent (with port), falling back to the parsed host. */
export function rawHost(req: GatewayRequest): string {
  return requestHeader(req, 'host') ?? requestHeader(req, ':authority') ?? req.host;
}

/**
 * A request that differs from `req` only in the listed fields. Built with the original as prototype so
 * accessor-based request objects keep working; `data` stays shared (it is per request, not per attempt).
 */
export function deriveRequest(req: GatewayRequest, overrides: Partial<Record<keyof GatewayRequest, unknown>>): GatewayRequest {
  const derived = Object.create(req) as GatewayRequest;
  for (const [key, value] of Object.entries(overrides)) {
    Object.defineProperty(derived, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return derived;
}

export function emptyBody(): Readable {
  return Readable.from([]);
}

// ---------------------------------------------------------------------------------------------------------------
// Client IP of a gateway request (the strategies themselves live in src/lib/ip)

/** Traefik's ip.Strategy over a gateway request: which address is "the client" ('' when none qualifies). */
export function requestIpStrategy(config: IpStrategyConfig | undefined): (req: GatewayRequest) => string {
  const strategy = compileIpStrategy(config);
  return (req) => strategy(req.remoteAddress, req.headers['x-forwarded-for']);
}

/**
 * Traefik's source extractor for rateLimit and inFlightReq. With nothing set, rateLimit groups by the TCP peer
 * address (`'ip'`) and inFlightReq by the request host (`'host'`), as in Traefik.
 */
export function compileSourceCriterion(config: SourceCriterionConfig | undefined, fallback: 'ip' | 'host' = 'ip'): (req: GatewayRequest) => string {
  const set = [config?.ipStrategy !== undefined, !!config?.requestHeaderName, !!config?.requestHost].filter(Boolean).length;
  if (set > 1) throw new Error('sourceCriterion: ipStrategy, requestHeaderName and requestHost are mutually exclusive');
  if (config?.requestHeaderName) {
    const name = config.requestHeaderName.toLowerCase();
    return (req) => requestHeader(req, name) ?? '';
  }
  if (config?.requestHost || (set === 0 && fallback === 'host')) return (req) => req.host;
  return requestIpStrategy(config?.ipStrategy);
}

// ---------------------------------------------------------------------------------------------------------------
// Status code ranges ("500-599", "404", "500,502-504")

export type StatusRanges = ReadonlyArray<readonly [number, number]>;

export function parseStatusRanges(values: readonly string[], field = 'status'): StatusRanges {
  const out: Array<[number, number]> = [];
  for (const value of values) {
    for (const part of value.split(',')) {
      const text = part.trim();
      const m = /^(\d{3})(?:-(\d{3}))?$/.exec(text);
      if (!m) throw new Error(`${field}: invalid HTTP status code range "${value}"`);
      const from = Number(m[1]);
      const to = m[2] === undefined ? from : Number(m[2]);
      if (to < from) throw new Error(`${field}: invalid HTTP status code range "${value}"`);
      out.push([from, to]);
    }
  }
  return out;
}

export function inRanges(ranges: StatusRanges, code: number): boolean {
  for (const [from, to] of ranges) if (code >= from && code <= to) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// ResponseWriter wrappers

/**
 * Delegates everything to the wrapped writer and calls `beforeHead(status, headers)` exactly once, just before
 * the status line goes out (explicitly through writeHead or implicitly through the first write/end), so a
 * middleware can add, change or remove response headers the upstream set.
 */
export class HeaderHookWriter<T = undefined> extends DelegatingWriter {
  private readonly hook: (status: number, headers: ResponseHeaders, context: T) => void;
  private readonly context: T;
  private hooked = false;

  /** `context` is handed to the hook so the hook itself can be built once per middleware, not per request. */
  constructor(inner: ResponseWriter, beforeHead: (status: number, headers: ResponseHeaders, context: T) => void, context: T) {
    super(inner);
    this.hook = beforeHead;
    this.context = context;
  }

  override writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (!this.hooked) {
      this.hooked = true;
      const preset = this.inner.headers;
      if (headers !== undefined && isEmpty(preset)) {
        // Nothing set before us: the handler's object (the writer owns it once passed) is what goes out, so the
        // hook edits it in place instead of every header being copied into the preset first.
        this.hook(statusCode, headers, this.context);
        this.inner.writeHead(statusCode, headers);
        return;
      }
      if (headers) mergeHeaders(preset, headers, 'preset');
      this.hook(statusCode, preset, this.context);
      this.inner.writeHead(statusCode);
      return;
    }
    this.inner.writeHead(statusCode, headers);
  }
  override write(chunk: Buffer | string): boolean {
    if (!this.hooked && !this.inner.headersSent) this.writeHead(200);
    return this.inner.write(chunk);
  }
  override end(chunk?: Buffer | string): void {
    if (!this.hooked && !this.inner.headersSent) this.writeHead(200);
    this.inner.end(chunk);
  }
}

/** A ResponseWriter that keeps everything in memory (error pages, buffering, retries, auth sub-requests). */
export class RecordingWriter implements ResponseWriter {
  statusCode = 0;
  headers = prototypeFree<ResponseHeaders>();
  readonly chunks: Buffer[] = [];
  size = 0;
  headersSent = false;
  finished = false;
  /** Stop recording body bytes beyond this size and remember that the limit was crossed. */
  private readonly limit: number;
  overflow = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  /** The client's writer, when recording on its behalf: `closed` and `onClose` then follow the client. */
  private readonly client: ResponseWriter | undefined;

  constructor(limit = Infinity, client?: ResponseWriter) {
    this.limit = limit;
    this.client = client;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.headersSent) return;
    this.statusCode = statusCode;
    if (headers) for (const [k, v] of Object.entries(headers)) setHeader(this.headers, k, v);
    this.headersSent = true;
  }
  write(chunk: Buffer | string): boolean {
    if (!this.headersSent) this.writeHead(200);
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.size += buf.length;
    if (this.size > this.limit) this.overflow = true;
    else this.chunks.push(buf);
    return true;
  }
  end(chunk?: Buffer | string): void {
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    if (!this.headersSent) this.writeHead(200);
    this.finished = true;
    this.resolveDone();
  }
  get closed(): boolean {
    return this.client?.closed ?? false;
  }
  onDrain(listener: () => void): void {
    queueMicrotask(listener);
  }
  onClose(listener: () => void): void {
    this.client?.onClose?.(listener);
  }
  flush(): void {}

  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
  /** Resolves when end() was called (handlers may finish writing after their promise resolves). */
  whenFinished(): Promise<void> {
    return this.done;
  }

  /** Copies status, headers and body to a real writer. */
  replay(rw: ResponseWriter, extraHeaders?: ResponseHeaders): void {
    for (const [k, v] of Object.entries(this.headers)) setHeader(rw.headers, k, v);
    if (extraHeaders) for (const [k, v] of Object.entries(extraHeaders)) setHeader(rw.headers, k, v);
    rw.writeHead(this.statusCode || 200);
    rw.end(this.body());
  }
}

/** Reads a request body (or the one buffering already read), stopping with `overflow` past `limit` bytes (≤ 0: none). */
export function readBody(req: GatewayRequest, limit = 0): Promise<{ body: Buffer; overflow: boolean }> {
  const buffered = req.bufferedBody;
  if (buffered !== undefined) return Promise.resolve({ body: buffered, overflow: limit > 0 && buffered.length > limit });
  return readBodyLimited(req.body, limit);
}
