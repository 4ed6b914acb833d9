/**
 * HTTP/2 to one upstream origin (Go's http2.Transport as Traefik uses it for `h2c://` servers and for `https://`
 * servers that choose h2 by ALPN): one multiplexed session, opened on first use and replaced when it closes or
 * receives GOAWAY; a request is one stream. It speaks the same dispatch contract as the HTTP/1.1 pool (types.ts),
 * so the proxy does not know which one it drives; response trailers reach `onResponseEnd` (gRPC's status).
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { isIP } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { UpstreamError, UpstreamErrorCodes } from './errors.ts';
import type { ResponseHeaderMap, UpstreamController, UpstreamDispatcher, UpstreamHandler, UpstreamRequest } from './types.ts';
import { prototypeFree } from '../../../lib/http/headers.ts';
import { dialDeadline, timeoutAfterPoll, type PollTimeout } from '../../../lib/poll-timeout.ts';

export interface H2PoolOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** A session with no stream for this long is closed. */
  idleTimeoutMs: number;
  /** For TLS origins (`https:`): CA, client certificate, servername, rejectUnauthorized, checkServerIdentity. */
  tls?: ConnectionOptions;
}

/** RFC 9113 §8.2.2: these never go on an HTTP/2 request (`te` only as `trailers`, which the proxy ensures). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

export class H2Pool implements UpstreamDispatcher {
  readonly origin: string;
  private readonly authority: string;
  private readonly secure: boolean;
  private readonly options: H2PoolOptions;
  private session: ClientHttp2Session | undefined;
  private closing = false;
  /** A TLS connection that already chose h2 (alpn.ts): the first session runs on it. */
  private firstSocket: TLSSocket | undefined;

  /** `origin` is `http://host:port` (h2c, prior knowledge) or `https://host:port` (h2 over TLS). */
  constructor(origin: string, options: H2PoolOptions, firstSocket?: TLSSocket) {
    this.firstSocket = firstSocket;
    const url = new URL(origin);
    this.origin = url.origin;
    this.authority = url.host;
    this.secure = url.protocol === 'https:';
    this.options = options;
  }

  /** Whether a session is open now (tests). */
  get connected(): boolean {
    return this.session !== undefined && !this.session.closed && !this.session.destroyed;
  }

  private connect(): ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const tls = this.options.tls ?? {};
    const host = new URL(this.origin).hostname.replace(/^\[|\]$/g, '');
    const socket = this.firstSocket;
    this.firstSocket = undefined;
    const session = http2.connect(this.origin, {
      ...(socket !== undefined ? { createConnection: () => socket } : {}),
      ...(this.secure ? { ...tls, ALPNProtocols: ['h2'], ...(tls.servername === undefined && isIP(host) === 0 ? { servername: host } : {}) } : {}),
      // Go's Transport: no cap of its own; the server's SETTINGS_MAX_CONCURRENT_STREAMS queues the excess.
      peerMaxConcurrentStreams: 1000,
    });
    session.on('error', () => { /* each stream reports its own failure */ });
    session.once('close', () => { if (this.session === session) this.session = undefined; });
    session.once('goaway', () => { if (this.session === session) this.session = undefined; });
    session.setTimeout(Math.max(1, this.options.idleTimeoutMs), () => {
      // Idle: no stream for a whole idle period.
      if (this.session === session) this.session = undefined;
      session.close();
    });
    if (this.options.connectTimeoutMs > 0) {
      // Counts only time the loop ran (lib/poll-timeout.ts dialDeadline): a session set up while the process was held up is not cut.
      const timer = dialDeadline(this.options.connectTimeoutMs, () => {
        if (!session.connecting) return;
        session.destroy(new UpstreamError(UpstreamErrorCodes.connectTimeout, `dial ${this.authority}: timeout`));
      });
      session.once('connect', timer.clear);
      session.once('close', timer.clear);
    }
    this.session = session;
    return session;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): boolean {
    const exchange = new H2Exchange(handler, this.options.headersTimeoutMs);
    if (this.closing) {
      exchange.fail(new UpstreamError(UpstreamErrorCodes.poolClosed, 'upstream pool closed'));
      return false;
    }
    handler.onRequestStart?.(exchange, null);
    if (exchange.aborted) return true;
    const headers: OutgoingHttpHeaders = {
      [http2.constants.HTTP2_HEADER_METHOD]: request.method,
      [http2.constants.HTTP2_HEADER_PATH]: request.path,
      [http2.constants.HTTP2_HEADER_SCHEME]: this.secure ? 'https' : 'http',
      [http2.constants.HTTP2_HEADER_AUTHORITY]: this.authority,
    };
    const flat = request.headers;
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i] as string;
      const value = flat[i + 1]!;
      if (name === 'host') {
        // passHostHeader: the client's host becomes the stream's :authority.
        headers[http2.constants.HTTP2_HEADER_AUTHORITY] = Array.isArray(value) ? value[0]! : value;
        continue;
      }
      if (CONNECTION_SPECIFIC.has(name) || (name === 'te' && value !== 'trailers')) continue;
      const prior = headers[name];
      headers[name] = prior === undefined ? value : ([] as string[]).concat(prior as string | string[], value);
    }
    const body = request.body;
    let stream: ClientHttp2Stream;
    try {
      stream = this.connect().request(headers, { endStream: body === null });
    } catch (err) {
      exchange.fail(new UpstreamError(UpstreamErrorCodes.closed, `h2 request to ${this.authority}: ${(err as Error).message}`, err));
      return true;
    }
    exchange.attach(stream);
    if (body !== null) {
      if (Buffer.isBuffer(body)) stream.end(body);
      else {
        body.on('error', (err: Error) => stream.destroy(err));
        body.pipe(stream);
      }
    }
    return true;
  }

  async close(): Promise<void> {
    this.closing = true;
    const session = this.session;
    this.session = undefined;
    if (session === undefined || session.destroyed) return;
    await new Promise<void>((resolve) => session.close(resolve));
  }

  async destroy(): Promise<void> {
    this.closing = true;
    this.session?.destroy();
    this.session = undefined;
  }
}

/** One stream: the controller the proxy holds and the bridge from stream events to the handler. */
class H2Exchange implements UpstreamController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  private stream: ClientHttp2Stream | undefined;
  private finished = false;
  private started = false;
  private timer: PollTimeout | undefined;
  private readonly handler: UpstreamHandler;
  private readonly headersTimeoutMs: number;

  constructor(handler: UpstreamHandler, headersTimeoutMs: number) {
    this.handler = handler;
    this.headersTimeoutMs = headersTimeoutMs;
  }

  attach(stream: ClientHttp2Stream): void {
    this.stream = stream;
    if (this.headersTimeoutMs > 0) {
      // responseHeaderTimeout, judged after the loop has read what arrived (lib/poll-timeout.ts).
      this.timer = timeoutAfterPoll(this.headersTimeoutMs, () => {
        this.fail(new UpstreamError(UpstreamErrorCodes.headersTimeout, 'timeout awaiting response headers'));
      });
    }
    let trailers: ResponseHeaderMap | undefined;
    stream.on('response', (headers: IncomingHttpHeaders) => {
      const status = Number(headers[':status']);
      if (status >= 100 && status < 200) return;
      this.timer?.clear();
      this.started = true;
      this.handler.onResponseStart?.(this, status, withoutPseudo(headers));
    });
    stream.on('trailers', (headers: IncomingHttpHeaders) => { trailers = withoutPseudo(headers); });
    stream.on('data', (chunk: Buffer) => {
      if (!this.finished) this.handler.onResponseData?.(this, chunk);
    });
    stream.on('end', () => {
      if (this.finished || !this.started) return;
      this.finished = true;
      this.handler.onResponseEnd?.(this, trailers ?? {});
    });
    stream.on('error', (err: Error) => this.fail(err));
    stream.on('close', () => {
      if (this.finished) return;
      // Closed without a complete response: RST_STREAM from the server, or the session went away.
      const code = stream.rstCode;
      this.fail(new UpstreamError(UpstreamErrorCodes.closed, `upstream stream closed (HTTP/2 code ${code ?? 'none'}) before the response ended`));
    });
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.timer?.clear();
    if (this.stream !== undefined && !this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.handler.onResponseError?.(this, this.reason ?? err);
  }

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    if (this.stream === undefined) {
      this.finished = true;
      this.handler.onResponseError?.(this, reason);
      return;
    }
    this.fail(reason);
  }

  pause(): void {
    this.paused = true;
    this.stream?.pause();
  }

  resume(): void {
    this.paused = false;
    this.stream?.resume();
  }
}

function withoutPseudo(headers: IncomingHttpHeaders): ResponseHeaderMap {
  const out = prototypeFree<ResponseHeaderMap>();
  for (const name in headers) if (name.charCodeAt(0) !== 58 /* : */) out[name] = headers[name];
  return out;
}
