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
    this.headerDefault = fields?.headers?.defaultMode ?? 'drop';
    this.headerModes = new Map(Object.entries(fields?.headers?.names ?? {}).map(([n, m]) => [n.toLowerCase(), m]));
  }

  private readonly keepByDefault: boolean;
  private readonly kept: Set<string>;

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
    const data = req.data;
    const user = (data.ClientUsername as string | undefined) || '-';
    const origin = data.OriginStatus as number | undefined;
    const referer = req.headers.referer;
    const agent = req.headers['user-agent'];
    const serviceUrl = data.ServiceURL as string | undefined;
    return `${req.clientIp || '-'} - ${user} [${this.clfTimestamp(r.startMs)}] "${req.method} ${req.originalUrl} ${r.protocol}" `
      + `${origin ?? '-'} ${origin !== undefined ? r.responseBytes : '-'} ${referer ? `"${referer}"` : '"-"'} ${agent ? `"${agent}"` : '"-"'} `
      + `${count} ${req.routerName ? `"${req.routerName}"` : '"-"'} ${serviceUrl ? `"${serviceUrl}"` : '"-"'} ${Math.floor(r.durationMs)}ms\n`;
  }

  private jsonLine(r: AccessLogRecord, count: number): string {
    const req = r.req;
    const data = req.data;
    const durationNs = Math.round(r.durationMs * 1e6);
    const start = new Date(r.startMs);
    const hostHeader = req.headers.host ?? '';
    const colon = hostHeader.lastIndexOf(':');
    const all: Record<string, unknown> = {
      ClientAddr: `${req.remoteAddress.includes(':') ? `[${req.remoteAddress}]` : req.remoteAddress}:${r.clientPort}`,
      ClientHost: req.clientIp,
      ClientPort: String(r.clientPort),
      ClientUsername: (data.ClientUsername as string | undefined) || '-',
      DownstreamContentSize: r.responseBytes,
      DownstreamStatus: r.status,
      Duration: durationNs,
      OriginContentSize: data.OriginStatus !== undefined ? r.responseBytes : undefined,
      OriginDuration: data.OriginDuration,
      OriginStatus: data.OriginStatus,
      Overhead: data.OriginDuration !== undefined ? durationNs - (data.OriginDuration as number) : undefined,
      RequestAddr: hostHeader,
      RequestContentSize: r.requestBytes,
      RequestCount: count,
      RequestHost: req.host,
      RequestMethod: req.method,
      RequestPath: req.originalUrl,
      RequestPort: colon !== -1 && !hostHeader.endsWith(']') ? hostHeader.slice(colon + 1) : '-',
      RequestProtocol: r.protocol,
      RequestScheme: req.tls ? 'https' : 'http',
      RetryAttempts: r.retryAttempts,
      RouterName: req.routerName,
      ServiceAddr: data.ServiceAddr,
      ServiceName: req.serviceName,
      ServiceURL: data.ServiceURL,
      StartLocal: start.toISOString(),
      StartUTC: start.toISOString(),
      entryPointName: req.entryPoint,
    };
    const line: Record<string, unknown> = {};
    for (const key in all) {
      const value = all[key];
      if (value !== undefined && this.keep(key)) line[key] = value;
    }
    if (this.headerDefault !== 'drop' || this.headerModes.size > 0) {
      this.addHeaders(line, 'request_', req.headers as Record<string, string | string[] | undefined>);
      if (r.responseHeaders) {
        this.addHeaders(line, 'origin_', r.responseHeaders);
        this.addHeaders(line, 'downstream_', r.responseHeaders);
      }
    }
    line.level = 'info';
    line.msg = '';
    line.time = new Date().toISOString();
    return `${JSON.stringify(line)}\n`;
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
