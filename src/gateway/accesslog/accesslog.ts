/**
 * Traefik's access log (pkg/middlewares/accesslog): one line per request in the `common` format (Traefik's CLF with
 * request count, router, server URL and duration appended) or `json` with Traefik's field names, filtered by
 * status, retries and duration, with fields and headers kept, dropped or redacted per configuration.
 * Lines are buffered and written in batches (at `bufferingSize` lines, or once per event-loop turn), so logging
 * costs no syscall per request.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { GatewayRequest, ResponseHeaders } from '../http/types.ts';
import type { AccessLogConfig } from './schema.ts';

/** What the entry point knows when a request is over. */
export interface AccessLogRecord {
  req: GatewayRequest;
  /** ClientAddr's port. */
  clientPort: number;
  /** Status the client got (499 when it went away first). */
  status: number;
  /** Wall-clock start (ms since epoch). */
  startMs: number;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  responseHeaders: ResponseHeaders | undefined;
  protocol: string;
  retryAttempts: number;
}

type HeaderMode = 'keep' | 'drop' | 'redact';

/** Traefik's JSON field names, sorted as logrus sorts them; `keepFlags` is indexed the same way. */
const JSON_FIELDS = [
  'ClientAddr', 'ClientHost', 'ClientPort', 'ClientUsername', 'DownstreamContentSize', 'DownstreamStatus', 'Duration',
  'OriginContentSize', 'OriginDuration', 'OriginStatus', 'Overhead', 'RequestAddr', 'RequestContentSize',
  'RequestCount', 'RequestHost', 'RequestMethod', 'RequestPath', 'RequestPort', 'RequestProtocol', 'RequestScheme',
  'RetryAttempts', 'RouterName', 'ServiceAddr', 'ServiceName', 'ServiceURL', 'StartLocal', 'StartUTC',
  'entryPointName',
] as const;
const JSON_KEYS = JSON_FIELDS.map((f) => `"${f}":`);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's canonical header key ("user-agent" → "User-Agent"). */
export function canonicalHeader(name: string): string {
  let out = '';
  let upper = true;
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === '-';
  }
  return out;
}

interface StatusRange { from: number; to: number }

export class AccessLog {
  readonly config: AccessLogConfig;
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  private readonly json: boolean;
  private buffer: string[] = [];
  private scheduled = false;
  private requestCount = 0;
  private readonly limit: number;
  private readonly statusRanges: StatusRange[] | undefined;
  private readonly minDurationMs: number;
  private readonly retryFilter: boolean;
  private readonly dropped: Set<string>;
  private readonly headerDefault: HeaderMode;
  private readonly headerModes: Map<string, HeaderMode>;
  private clfSecond = -1;
  private clfTime = '';

  constructor(config: AccessLogConfig, stream?: Writable) {
    this.config = config;
    if (stream) {
      this.out = stream;
      this.ownsStream = false;
    } else if (config.filePath) {
      this.out = createWriteStream(config.filePath, { flags: 'a', mode: 0o644 });
      this.ownsStream = true;
    } else {
      this.out = process.stdout;
      this.ownsStream = false;
    }
    this.json = config.format === 'json';
    this.limit = Math.max(1, config.bufferingSize);
    this.statusRanges = config.filters?.statusCodes?.map(parseRange);
    this.minDurationMs = config.filters?.minDuration ?? 0;
    this.retryFilter = config.filters?.retryAttempts ?? false;
    const fields = config.fields;
    this.dropped = new Set();
    if (fields) {
      for (const [name, m] of Object.entries(fields.names ?? {})) if (m === 'drop') this.dropped.add(name);
    }
    this.keepByDefault = fields?.defaultMode !== 'drop';
    this.kept = new Set(Object.entries(fields?.names ?? {}).filter(([, m]) => m === 'keep').map(([n]) => n));
    this.keepFlags = JSON_FIELDS.map((f) => this.keep(f));
    this.headerDefault = fields?.headers?.defaultMode ?? 'drop';
    this.headerModes = new Map(Object.entries(fields?.headers?.names ?? {}).map(([n, m]) => [n.toLowerCase(), m]));
  }

  private readonly keepByDefault: boolean;
  private readonly kept: Set<string>;
  private readonly keepFlags: boolean[];

  private keep(field: string): boolean {
    return this.keepByDefault ? !this.dropped.has(field) : this.kept.has(field);
  }

  /** Traefik's filters: the line is written if any configured filter matches (no filters: always). */
  private accepted(r: AccessLogRecord): boolean {
    if (this.statusRanges === undefined && this.minDurationMs === 0 && !this.retryFilter) return true;
    if (this.statusRanges !== undefined) {
      for (const range of this.statusRanges) if (r.status >= range.from && r.status <= range.to) return true;
    }
    if (this.retryFilter && r.retryAttempts > 0) return true;
    if (this.minDurationMs > 0 && r.durationMs > this.minDurationMs) return true;
    return false;
  }

  log(r: AccessLogRecord): void {
    const count = ++this.requestCount;
    if (!this.accepted(r)) return;
    const line = this.json ? this.jsonLine(r, count) : this.commonLine(r, count);
    this.buffer.push(line);
    if (this.buffer.length >= this.limit && this.config.bufferingSize > 0) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  flush(): void {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.out.write(text);
  }

  async close(): Promise<void> {
    this.flush();
    if (this.ownsStream) {
      await new Promise<void>((resolve) => (this.out as WriteStream).end(resolve));
    }
  }

  private clfTimestamp(ms: number): string {
    const second = Math.floor(ms / 1000);
    if (second !== this.clfSecond) {
      const d = new Date(second * 1000);
      this.clfSecond = second;
      this.clfTime = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
    }
    return this.clfTime;
  }

  private commonLine(r: AccessLogRecord, count: number): string {
    const req = r.req;
    const data = dataOf(req);
    const user = (data?.ClientUsername as string | undefined) || '-';
    const origin = data?.OriginStatus as number | undefined;
    const referer = req.headers.referer;
    const agent = req.headers['user-agent'];
    const serviceUrl = data?.ServiceURL as string | undefined;
    return `${req.clientIp || '-'} - ${user} [${this.clfTimestamp(r.startMs)}] "${req.method} ${req.originalUrl} ${r.protocol}" `
      + `${origin ?? '-'} ${origin !== undefined ? r.responseBytes : '-'} ${referer ? `"${referer}"` : '"-"'} ${agent ? `"${agent}"` : '"-"'} `
      + `${count} ${req.routerName ? `"${req.routerName}"` : '"-"'} ${serviceUrl ? `"${serviceUrl}"` : '"-"'} ${Math.floor(r.durationMs)}ms\n`;
  }

  /**
   * One JSON object per line, keys in the order logrus writes them (sorted). Built as a string: a field is a
   * constant key plus a JSON-encoded value, with no intermediate object for the common case.
   */
  private jsonLine(r: AccessLogRecord, count: number): string {
    const req = r.req;
    const data = dataOf(req);
    const k = this.keepFlags;
    const durationNs = Math.round(r.durationMs * 1e6);
    const originStatus = data?.OriginStatus as number | undefined;
    const originDuration = data?.OriginDuration as number | undefined;
    const hostHeader = req.headers.host ?? '';
    let out = '{';
    const add = (i: number, value: string) => {
      if (k[i]) out += (out.length === 1 ? '' : ',') + JSON_KEYS[i]! + value;
    };
    const remote = req.remoteAddress;
    add(0, JSON.stringify(`${remote.includes(':') ? `[${remote}]` : remote}:${r.clientPort}`));
    add(1, JSON.stringify(req.clientIp));
    add(2, `"${r.clientPort}"`);
    add(3, JSON.stringify((data?.ClientUsername as string | undefined) || '-'));
    add(4, String(r.responseBytes));
    add(5, String(r.status));
    add(6, String(durationNs));
    if (originStatus !== undefined) add(7, String(r.responseBytes));
    if (originDuration !== undefined) add(8, String(originDuration));
    if (originStatus !== undefined) add(9, String(originStatus));
    if (originDuration !== undefined) add(10, String(durationNs - originDuration));
    add(11, JSON.stringify(hostHeader));
    add(12, String(r.requestBytes));
    add(13, String(count));
    add(14, JSON.stringify(req.host));
    add(15, JSON.stringify(req.method));
    add(16, JSON.stringify(req.originalUrl));
    const colon = hostHeader.lastIndexOf(':');
    add(17, JSON.stringify(colon !== -1 && !hostHeader.endsWith(']') ? hostHeader.slice(colon + 1) : '-'));
    add(18, JSON.stringify(r.protocol));
    add(19, req.tls ? '"https"' : '"http"');
    add(20, String(r.retryAttempts));
    if (req.routerName !== undefined) add(21, JSON.stringify(req.routerName));
    if (data?.ServiceAddr !== undefined) add(22, JSON.stringify(data.ServiceAddr));
    if (req.serviceName !== undefined) add(23, JSON.stringify(req.serviceName));
    if (data?.ServiceURL !== undefined) add(24, JSON.stringify(data.ServiceURL));
    if (k[25] || k[26]) {
      const start = `"${new Date(r.startMs).toISOString()}"`;
      add(25, start);
      add(26, start);
    }
    add(27, JSON.stringify(req.entryPoint));
    if (this.headerDefault !== 'drop' || this.headerModes.size > 0) {
      const line: Record<string, unknown> = {};
      this.addHeaders(line, 'request_', req.headers as Record<string, string | string[] | undefined>);
      if (r.responseHeaders) {
        this.addHeaders(line, 'origin_', r.responseHeaders);
        this.addHeaders(line, 'downstream_', r.responseHeaders);
      }
      const headers = JSON.stringify(line);
      if (headers.length > 2) out += (out.length === 1 ? '' : ',') + headers.slice(1, -1);
    }
    out += `${out.length === 1 ? '' : ','}"level":"info","msg":"","time":"${new Date().toISOString()}"}\n`;
    return out;
  }

  private addHeaders(line: Record<string, unknown>, prefix: string, headers: Record<string, string | string[] | undefined>): void {
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      const lower = name.toLowerCase();
      const m = this.headerModes.get(lower) ?? this.headerDefault;
      if (m === 'drop') continue;
      line[prefix + canonicalHeader(lower)] = m === 'redact' ? 'REDACTED' : Array.isArray(value) ? value.join(',') : value;
    }
  }
}

/** The request's shared data without creating it (IncomingGatewayRequest allocates it lazily). */
function dataOf(req: GatewayRequest): Record<string, unknown> | undefined {
  return 'dataIfAny' in req ? (req as { dataIfAny: Record<string, unknown> | undefined }).dataIfAny : req.data;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function parseRange(text: string): StatusRange {
  const dash = text.indexOf('-');
  if (dash === -1) {
    const n = Number(text);
    return { from: n, to: n };
  }
  return { from: Number(text.slice(0, dash)), to: Number(text.slice(dash + 1)) };
}
