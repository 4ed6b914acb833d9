/**
 * Traefik's access log (pkg/middlewares/accesslog): one line per request in the `common` format (Traefik's CLF with
 * request count, router, server URL and duration appended) or `json` with Traefik's field names, filtered by
 * status, retries and duration, with fields and headers kept, dropped or redacted per configuration.
 * Lines are buffered and written in batches, so logging costs no syscall per request: with `bufferingSize` N > 0 at
 * N lines (or 64 KiB) or after FLUSH_INTERVAL_MS, whichever comes first; with 0, once per event-loop turn.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { GatewayRequest, ResponseHeaders } from '../http/types.ts';
import type { AccessLogConfig } from './schema.ts';
import { FLUSH_BYTES, LineBuffer } from './line-buffer.ts';
import { IsoMillis } from './iso-millis.ts';

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

/** Where `accessLog.otlp` sends each logged request (gateway/otlp-logs, loaded only when configured). */
export interface AccessLogRecordSink {
  emit(fields: Record<string, unknown>): void;
}

/** Traefik's JSON field names, sorted as logrus sorts them; `keepFlags` is indexed the same way. */
const JSON_FIELDS = [
  'ClientAddr', 'ClientHost', 'ClientPort', 'ClientUsername', 'DownstreamContentSize', 'DownstreamStatus', 'Duration',
  'OriginContentSize', 'OriginDuration', 'OriginStatus', 'Overhead', 'RequestAddr', 'RequestContentSize',
  'RequestCount', 'RequestHost', 'RequestMethod', 'RequestPath', 'RequestPort', 'RequestProtocol', 'RequestScheme',
  'RetryAttempts', 'RouterName', 'ServiceAddr', 'ServiceName', 'ServiceURL', 'StartLocal', 'StartUTC',
  'entryPointName',
] as const;
const JSON_KEYS = JSON_FIELDS.map((f) => `"${f}":`);

/** Longest a buffered line waits when `bufferingSize` > 0 (lines are also written at close). */
export const FLUSH_INTERVAL_MS = 100;

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
  private out: Writable;
  private readonly ownsStream: boolean;
  private readonly json: boolean;
  /** Pending lines, already encoded (line-buffer.ts). */
  private readonly pending: LineBuffer;
  private lines = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined = undefined;
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
  /** ISO timestamps of the request's start and of the line (iso-millis.ts: one Date per second, not per line). */
  private readonly startIso = new IsoMillis();
  private readonly nowIso = new IsoMillis();
  /** JSON encodings of the last value seen per field slot (router, service, … repeat from request to request). */
  private readonly memoIn: string[] = new Array<string>(JSON_FIELDS.length).fill('');
  private readonly memoOut: string[] = new Array<string>(JSON_FIELDS.length).fill('""');

  /** `accessLog.otlp`: each accepted request's fields also (or, without `dualOutput`, only) go there. */
  private readonly otlp: AccessLogRecordSink | undefined;
  /** Whether lines are written to the file or stdout: Traefik writes none when OTLP is on without `dualOutput`. */
  private readonly text: boolean;

  constructor(config: AccessLogConfig, stream?: Writable, otlp?: AccessLogRecordSink) {
    this.config = config;
    this.otlp = otlp;
    this.text = otlp === undefined || config.dualOutput;
    if (stream) {
      this.out = stream;
      this.ownsStream = false;
    } else if (config.filePath && this.text) {
      this.out = createWriteStream(config.filePath, { flags: 'a', mode: 0o644 });
      this.ownsStream = true;
    } else {
      this.out = process.stdout;
      this.ownsStream = false;
    }
    this.pending = new LineBuffer(this.ownsStream);
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
    this.dropQuery = fields?.queryParameters?.defaultMode === 'drop';
    this.headerDefault = fields?.headers?.defaultMode ?? 'drop';
    this.headerModes = new Map(Object.entries(fields?.headers?.names ?? {}).map(([n, m]) => [n.toLowerCase(), m]));
    this.defaultFields = this.keepFlags.every(Boolean) && Object.keys(fields?.names ?? {}).length === 0
      && this.headerDefault === 'drop' && this.headerModes.size === 0;
  }

  /** `fields.queryParameters.defaultMode: drop`: the logged path loses its query string. */
  private readonly dropQuery: boolean;

  private path(url: string): string {
    if (!this.dropQuery) return url;
    const q = url.indexOf('?');
    return q === -1 ? url : url.slice(0, q);
  }

  /** Every field kept and no header field: the line is one template (see defaultJsonLine). */
  private readonly defaultFields: boolean;

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
    if (this.otlp !== undefined) {
      this.otlp.emit(this.fields(r, count));
      if (!this.text) return;
    }
    this.pending.append(this.json ? (this.defaultFields ? this.defaultJsonLine(r, count) : this.jsonLine(r, count)) : this.commonLine(r, count), this.out);
    this.lines++;
    if (this.config.bufferingSize > 0) {
      if (this.lines >= this.limit || this.pending.size >= FLUSH_BYTES) this.flush();
      else if (this.timer === undefined) {
        this.timer = setTimeout(this.flushSoon, FLUSH_INTERVAL_MS);
        this.timer.unref();
      }
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /**
   * The fields of the JSON line for `r` (after `fields.names`, `fields.headers` and `queryParameters`), without
   * logrus's level, msg and time: what an OTLP record carries. Parsed back from jsonLine so both always agree;
   * only an OTLP-configured gateway pays for it.
   */
  private fields(r: AccessLogRecord, count: number): Record<string, unknown> {
    const fields = JSON.parse(this.jsonLine(r, count)) as Record<string, unknown>;
    delete fields.level;
    delete fields.msg;
    delete fields.time;
    return fields;
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines === 0) return;
    this.lines = 0;
    this.pending.write(this.out);
  }

  /**
   * Reopens `filePath` (logrotate's way: it renamed the file, then signalled SIGUSR1): what is buffered goes to the
   * old file, the next lines to a new file at the path. No-op on stdout or a given stream.
   */
  reopen(): void {
    if (!this.ownsStream || !this.config.filePath) return;
    this.flush();
    const old = this.out as WriteStream;
    this.out = createWriteStream(this.config.filePath, { flags: 'a', mode: 0o644 });
    old.end();
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
    return `${req.clientIp || '-'} - ${user} [${this.clfTimestamp(r.startMs)}] "${req.method} ${this.path(req.originalUrl)} ${r.protocol}" `
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
    const remote = req.remoteAddress;
    // A field is its constant key plus a JSON value; `sep` is '' until the first field is written.
    let out = '{';
    let sep = '';
    if (k[0]) { out += `${JSON_KEYS[0]}"${remote.includes(':') ? `[${remote}]` : remote}:${r.clientPort}"`; sep = ','; }
    if (k[1]) { out += `${sep}${JSON_KEYS[1]}${this.memo(1, req.clientIp)}`; sep = ','; }
    if (k[2]) { out += `${sep}${JSON_KEYS[2]}"${r.clientPort}"`; sep = ','; }
    if (k[3]) { out += `${sep}${JSON_KEYS[3]}${this.memo(3, (data?.ClientUsername as string | undefined) || '-')}`; sep = ','; }
    if (k[4]) { out += `${sep}${JSON_KEYS[4]}${r.responseBytes}`; sep = ','; }
    if (k[5]) { out += `${sep}${JSON_KEYS[5]}${r.status}`; sep = ','; }
    if (k[6]) { out += `${sep}${JSON_KEYS[6]}${durationNs}`; sep = ','; }
    if (originStatus !== undefined && k[7]) { out += `${sep}${JSON_KEYS[7]}${r.responseBytes}`; sep = ','; }
    if (originDuration !== undefined && k[8]) { out += `${sep}${JSON_KEYS[8]}${originDuration}`; sep = ','; }
    if (originStatus !== undefined && k[9]) { out += `${sep}${JSON_KEYS[9]}${originStatus}`; sep = ','; }
    if (originDuration !== undefined && k[10]) { out += `${sep}${JSON_KEYS[10]}${durationNs - originDuration}`; sep = ','; }
    if (k[11]) { out += `${sep}${JSON_KEYS[11]}${this.memo(11, hostHeader)}`; sep = ','; }
    if (k[12]) { out += `${sep}${JSON_KEYS[12]}${r.requestBytes}`; sep = ','; }
    if (k[13]) { out += `${sep}${JSON_KEYS[13]}${count}`; sep = ','; }
    if (k[14]) { out += `${sep}${JSON_KEYS[14]}${this.memo(14, req.host)}`; sep = ','; }
    if (k[15]) { out += `${sep}${JSON_KEYS[15]}${this.memo(15, req.method)}`; sep = ','; }
    if (k[16]) { out += `${sep}${JSON_KEYS[16]}${this.memo(16, this.path(req.originalUrl))}`; sep = ','; }
    if (k[17]) {
      const colon = hostHeader.lastIndexOf(':');
      out += `${sep}${JSON_KEYS[17]}${this.memo(17, colon !== -1 && !hostHeader.endsWith(']') ? hostHeader.slice(colon + 1) : '-')}`;
      sep = ',';
    }
    if (k[18]) { out += `${sep}${JSON_KEYS[18]}${this.memo(18, r.protocol)}`; sep = ','; }
    if (k[19]) { out += `${sep}${JSON_KEYS[19]}${req.tls ? '"https"' : '"http"'}`; sep = ','; }
    if (k[20]) { out += `${sep}${JSON_KEYS[20]}${r.retryAttempts}`; sep = ','; }
    if (req.routerName !== undefined && k[21]) { out += `${sep}${JSON_KEYS[21]}${this.memo(21, req.routerName)}`; sep = ','; }
    if (data?.ServiceAddr !== undefined && k[22]) { out += `${sep}${JSON_KEYS[22]}${this.memoAny(22, data.ServiceAddr)}`; sep = ','; }
    if (req.serviceName !== undefined && k[23]) { out += `${sep}${JSON_KEYS[23]}${this.memo(23, req.serviceName)}`; sep = ','; }
    if (data?.ServiceURL !== undefined && k[24]) { out += `${sep}${JSON_KEYS[24]}${this.memoAny(24, data.ServiceURL)}`; sep = ','; }
    if (k[25] || k[26]) {
      const start = this.startIso.of(r.startMs);
      if (k[25]) { out += `${sep}${JSON_KEYS[25]}"${start}"`; sep = ','; }
      if (k[26]) { out += `${sep}${JSON_KEYS[26]}"${start}"`; sep = ','; }
    }
    if (k[27]) { out += `${sep}${JSON_KEYS[27]}${this.memo(27, req.entryPoint)}`; sep = ','; }
    if (this.headerDefault !== 'drop' || this.headerModes.size > 0) {
      const line: Record<string, unknown> = {};
      this.addHeaders(line, 'request_', req.headers as Record<string, string | string[] | undefined>);
      if (r.responseHeaders) {
        this.addHeaders(line, 'origin_', r.responseHeaders);
        this.addHeaders(line, 'downstream_', r.responseHeaders);
      }
      const headers = JSON.stringify(line);
      if (headers.length > 2) { out += sep + headers.slice(1, -1); sep = ','; }
    }
    return `${out}${sep}"level":"info","msg":"","time":"${this.nowIso.of(Date.now())}"}\n`;
  }

  /**
   * jsonLine for the default configuration, as one template: the same text with about half the string
   * concatenations, which is most of what an access-log line costs on the request path (bench/gateway).
   * An access-log test checks both paths give the same line.
   */
  private defaultJsonLine(r: AccessLogRecord, count: number): string {
    const req = r.req;
    const data = dataOf(req);
    const durationNs = Math.round(r.durationMs * 1e6);
    const originStatus = data?.OriginStatus as number | undefined;
    const originDuration = data?.OriginDuration as number | undefined;
    const hostHeader = req.headers.host ?? '';
    const remote = req.remoteAddress;
    const colon = hostHeader.lastIndexOf(':');
    const requestPort = colon !== -1 && !hostHeader.endsWith(']') ? hostHeader.slice(colon + 1) : '-';
    const routerName = req.routerName;
    const serviceName = req.serviceName;
    const serviceAddr = data?.ServiceAddr;
    const serviceUrl = data?.ServiceURL;
    const start = this.startIso.of(r.startMs);
    return `{"ClientAddr":"${remote.includes(':') ? `[${remote}]` : remote}:${r.clientPort}","ClientHost":${this.memo(1, req.clientIp)}`
      + `,"ClientPort":"${r.clientPort}","ClientUsername":${this.memo(3, (data?.ClientUsername as string | undefined) || '-')}`
      + `,"DownstreamContentSize":${r.responseBytes},"DownstreamStatus":${r.status},"Duration":${durationNs}`
      + (originStatus !== undefined ? `,"OriginContentSize":${r.responseBytes}` : '')
      + (originDuration !== undefined ? `,"OriginDuration":${originDuration}` : '')
      + (originStatus !== undefined ? `,"OriginStatus":${originStatus}` : '')
      + (originDuration !== undefined ? `,"Overhead":${durationNs - originDuration}` : '')
      + `,"RequestAddr":${this.memo(11, hostHeader)},"RequestContentSize":${r.requestBytes},"RequestCount":${count}`
      + `,"RequestHost":${this.memo(14, req.host)},"RequestMethod":${this.memo(15, req.method)},"RequestPath":${this.memo(16, this.path(req.originalUrl))}`
      + `,"RequestPort":${this.memo(17, requestPort)},"RequestProtocol":${this.memo(18, r.protocol)},"RequestScheme":${req.tls ? '"https"' : '"http"'}`
      + `,"RetryAttempts":${r.retryAttempts}`
      + (routerName !== undefined ? `,"RouterName":${this.memo(21, routerName)}` : '')
      + (serviceAddr !== undefined ? `,"ServiceAddr":${this.memoAny(22, serviceAddr)}` : '')
      + (serviceName !== undefined ? `,"ServiceName":${this.memo(23, serviceName)}` : '')
      + (serviceUrl !== undefined ? `,"ServiceURL":${this.memoAny(24, serviceUrl)}` : '')
      + `,"StartLocal":"${start}","StartUTC":"${start}","entryPointName":${this.memo(27, req.entryPoint)}`
      + `,"level":"info","msg":"","time":"${this.nowIso.of(Date.now())}"}\n`;
  }

  /** The JSON string for `value` in field slot `slot`, re-encoded only when it differs from the previous line's. */
  private memo(slot: number, value: string): string {
    if (this.memoIn[slot] === value) return this.memoOut[slot]!;
    const encoded = jsonString(value);
    this.memoIn[slot] = value;
    this.memoOut[slot] = encoded;
    return encoded;
  }

  private memoAny(slot: number, value: unknown): string {
    return typeof value === 'string' ? this.memo(slot, value) : JSON.stringify(value);
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

/** JSON.stringify for a string, without the call for the usual printable-ASCII value. */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
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
