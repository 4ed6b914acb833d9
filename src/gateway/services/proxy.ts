/**
 * The reverse proxy to one server (Traefik's pkg/proxy/httputil on Go's ReverseProxy), on the upstream pool's
 * `dispatch` (upstream/, our HTTP/1.1 client; undici's dispatchers take the same handler): the upstream response is
 * streamed straight into the ResponseWriter, pausing the upstream socket when
 * the client is slow. Header behaviour is Traefik's: hop-by-hop headers stripped both ways, X-Forwarded-For
 * appended, Host passed (passHostHeader) or set to the server's, the path replaced (or joined with the server URL's
 * path when preservePath is set). Failures before the response headers reject with a coded GatewayError and write
 * nothing, so retry/failover can act; after the headers they cut the client connection, as Go does.
 */
import type { Dispatcher } from 'undici';
import type { Duplex } from 'node:stream';
import type { UpstreamController, UpstreamDispatcher, UpstreamHandler, UpstreamRequest } from './upstream/types.ts';
import { UpstreamErrorCodes } from './upstream/errors.ts';
import type { Handler, GatewayRequest, ResponseWriter, ResponseHeaders } from '../http/types.ts';
import { GatewayErrors, type GatewayError } from '../http/errors.ts';
import { Errors, withCause } from '../../lib/errors.ts';

/** Go's hopHeaders plus Expect (node answers 100-continue itself; undici refuses to forward it). */
const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'expect', 'http2-settings',
]);

export interface ProxyOptions {
  /** The server URL as configured (`http://10.0.0.1:8080/base`). */
  url: string;
  passHostHeader: boolean;
  preservePath: boolean;
  /** The keep-alive pool for the server's origin (an UpstreamPool; an undici Dispatcher works too). */
  dispatcher: UpstreamDispatcher | Dispatcher;
}

/** Reason given to undici when the client goes away, recognised in onResponseError. */
const CLIENT_GONE = Object.freeze(new Error('client closed request'));

export function createProxy(options: ProxyOptions): Handler {
  const target = new URL(options.url);
  const serviceUrl = options.url;
  const serviceAddr = target.host;
  const basePath = options.preservePath && target.pathname !== '/' ? target.pathname : '';
  const passHost = options.passHostHeader;
  const dispatcher = options.dispatcher as UpstreamDispatcher;
  const origin = target.origin;

  return function proxy(req: GatewayRequest, rw: ResponseWriter): Promise<void> {
    // A traced request: Traefik's ReverseProxy span around the upstream exchange, its traceparent sent upstream.
    const upstreamSpan = req.trace?.upstream(req, target, outgoingHeaders(req, passHost));
    const done = new Promise<void>((resolve, reject) => {
      const data = req.data;
      data.ServiceURL = serviceUrl;
      data.ServiceAddr = serviceAddr;
      const forward = new ForwardHandler(req, rw, resolve, reject);
      const upgrade = req.upgradeHead !== undefined ? upgradeToken(req) : undefined;
      const opts: UpstreamRequest = {
        origin,
        path: basePath === '' ? cleanQuery(req.url) : joinPath(basePath, cleanQuery(req.url)),
        method: req.method,
        headers: upstreamSpan?.headers ?? outgoingHeaders(req, passHost),
        body: upgrade !== undefined ? null : requestBody(req),
        upgrade: upgrade ?? null,
      };
      if (rw.onClose !== undefined) rw.onClose(forward.onClientClose);
      try {
        dispatcher.dispatch(opts, forward);
      } catch (err) {
        forward.done = true;
        reject(withCause(Errors.internal('Internal Server Error'), err));
      }
    });
    if (upstreamSpan === undefined) return done;
    return done.then(
      () => upstreamSpan.end((req.data.OriginStatus as number | undefined) ?? rw.statusCode),
      (err: GatewayError) => {
        upstreamSpan.end(err.statusCode);
        throw err;
      },
    );
  };
}

class ForwardHandler implements UpstreamHandler {
  readonly req: GatewayRequest;
  readonly rw: ResponseWriter;
  readonly resolve: () => void;
  readonly reject: (err: GatewayError) => void;
  controller: UpstreamController | null = null;
  done = false;
  private resumeUpstream: (() => void) | null = null;
  /** The upstream's Content-Length (-1 when absent), to recognise a body that arrives in one chunk. */
  private bodyLength = -1;
  private bodyStarted = false;
  /** A whole body received in one chunk, written by onResponseEnd with the end of the response (one write). */
  private whole: Buffer | undefined = undefined;
  /**
   * The upstream's status and headers, handed to the writer with the first body byte or the end: until then
   * nothing has reached the client (node sends a head only with the first write anyway), so an upstream that
   * breaks its response before the body still gets the client a clean 502 instead of a cut connection.
   */
  private heldStatus = 0;
  private heldHeaders: ResponseHeaders | undefined = undefined;
  /** Bound once; a method reference the ResponseWriter may call when the client disconnects. */
  readonly onClientClose: () => void;

  constructor(req: GatewayRequest, rw: ResponseWriter, resolve: () => void, reject: (err: GatewayError) => void) {
    this.req = req;
    this.rw = rw;
    this.resolve = resolve;
    this.reject = reject;
    this.onClientClose = () => {
      if (!this.done && this.rw.closed) this.controller?.abort(CLIENT_GONE);
    };
  }

  onRequestStart(controller: UpstreamController): void {
    this.controller = controller;
    if (this.rw.closed) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: UpstreamController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.req.data.OriginStatus = statusCode;
    stripHopByHop(headers);
    const length = headers['content-length'];
    if (typeof length === 'string') this.bodyLength = Number(length);
    this.heldStatus = statusCode;
    this.heldHeaders = headers as ResponseHeaders;
  }

  private writeHeld(): void {
    const status = this.heldStatus;
    if (status === 0) return;
    this.heldStatus = 0;
    const headers = this.heldHeaders;
    this.heldHeaders = undefined;
    this.rw.writeHead(status, headers);
  }

  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    if (this.heldStatus !== 0) this.writeHeld();
    if (!this.bodyStarted) {
      this.bodyStarted = true;
      // The parser reports the end of this message in the same pass, so holding the chunk delays nothing.
      if (chunk.length === this.bodyLength) {
        this.whole = chunk;
        return;
      }
    }
    if (!this.rw.write(chunk)) {
      controller.pause();
      this.rw.onDrain((this.resumeUpstream ??= () => controller.resume()));
    }
  }

  onResponseEnd(controller: UpstreamController, trailers?: Record<string, string | string[] | undefined>): void {
    this.done = true;
    if (this.heldStatus !== 0) this.writeHeld();
    if (trailers !== undefined && this.rw.addTrailers !== undefined) {
      for (const _name in trailers) {
        this.rw.addTrailers(trailers as ResponseHeaders);
        break;
      }
    }
    const whole = this.whole;
    if (whole !== undefined) {
      this.whole = undefined;
      this.rw.end(whole);
    } else {
      this.rw.end();
    }
    this.resolve();
  }

  onResponseError(controller: UpstreamController, err: Error): void {
    if (this.done) return;
    this.done = true;
    if (err === CLIENT_GONE || this.rw.closed) {
      this.req.data.OriginStatus ??= 499;
      this.resolve();
      return;
    }
    if (this.heldStatus !== 0) {
      // The upstream's head was read but is still held here: nothing left for the client yet, so a clean 502 —
      // one retry must not act on, since the server did answer.
      this.heldStatus = 0;
      this.heldHeaders = undefined;
      this.reject(withCause(GatewayErrors.badResponse(), err));
      return;
    }
    if (!this.rw.headersSent) {
      this.reject(mapUpstreamError(err));
      return;
    }
    // Headers are out: the only honest signal left is to cut the client connection (Go's ReverseProxy panics).
    abortClient(this.req, this.rw);
    this.resolve();
  }

  onRequestUpgrade(controller: UpstreamController, statusCode: number, headers: Record<string, string | string[] | undefined>, socket: Duplex): void {
    this.done = true;
    this.req.data.OriginStatus = statusCode;
    const client = this.req.raw?.socket as Duplex | undefined;
    if (client === undefined || client.destroyed) {
      socket.destroy();
      this.resolve();
      return;
    }
    this.rw.writeHead(statusCode, headers as ResponseHeaders);
    const head = this.req.upgradeHead;
    if (head !== undefined && head.length > 0) socket.write(head);
    // As Go's ReverseProxy: once either side is done, both connections are closed (sockets are half-open capable,
    // so an 'end' alone would leave the other direction dangling).
    let closed = 0;
    const onClose = () => {
      client.destroy();
      socket.destroy();
      if (++closed === 1) this.resolve();
    };
    const onEnd = () => {
      client.end();
      socket.end();
    };
    socket.on('error', onClose).on('close', onClose).on('end', onEnd);
    client.on('error', onClose).on('close', onClose).on('end', onEnd);
    socket.pipe(client);
    client.pipe(socket);
  }
}

function abortClient(req: GatewayRequest, rw: ResponseWriter): void {
  const socket = req.raw?.socket;
  if (socket) socket.destroy();
  else rw.end();
}

/** Traefik's ComputeStatusCode: timeouts are 504, every other network failure 502; never the cause in the body. */
export function mapUpstreamError(err: Error): GatewayError {
  const code = (err as { code?: string }).code;
  switch (code) {
    case UpstreamErrorCodes.connectTimeout:
    case UpstreamErrorCodes.headersTimeout:
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return withCause(GatewayErrors.gatewayTimeout(), err);
    case UpstreamErrorCodes.invalidRequest:
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      return withCause(Errors.internal('Internal Server Error'), err);
    default:
      return withCause(GatewayErrors.badGateway(), err);
  }
}

/** Our upstream pool never returns hop-by-hop fields (upstream/head.ts); an undici dispatcher does. */
function stripHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    delete headers.connection;
    // The usual values name no other header worth looking for (the keep-alive header is removed below anyway).
    if (connection !== 'keep-alive' && connection !== 'close') for (const token of String(connection).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && headers[name] !== undefined) delete headers[name];
    }
  }
  if (headers['keep-alive'] !== undefined) delete headers['keep-alive'];
  if (headers['transfer-encoding'] !== undefined) delete headers['transfer-encoding'];
  if (headers.trailer !== undefined) delete headers.trailer;
  if (headers['proxy-connection'] !== undefined) delete headers['proxy-connection'];
  if (headers['proxy-authenticate'] !== undefined) delete headers['proxy-authenticate'];
  if (headers.upgrade !== undefined) delete headers.upgrade;
  if (headers.te !== undefined) delete headers.te;
}

/** Builds the upstream request headers as a flat [name, value, …] list; the request's own object is not touched. */
function outgoingHeaders(req: GatewayRequest, passHost: boolean): (string | string[])[] {
  const headers = req.headers;
  const out: (string | string[])[] = [];
  const connection = headers.connection;
  const listed = connection !== undefined ? connectionTokens(connection) : undefined;
  let prior: string | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name)) {
      // Go keeps "TE: trailers"; the Upgrade header travels through undici's `upgrade` option.
      if (name === 'te' && value === 'trailers') out.push(name, value);
      continue;
    }
    if (listed !== undefined && listed.has(name)) continue;
    if (name === 'host') {
      if (passHost) out.push(name, value as string);
      continue;
    }
    if (name === 'x-forwarded-for') {
      prior = Array.isArray(value) ? value.join(', ') : value;
      continue;
    }
    out.push(name, value);
  }
  const client = req.remoteAddress;
  if (client !== '') out.push('x-forwarded-for', prior === undefined || prior === '' ? client : `${prior}, ${client}`);
  else if (prior !== undefined) out.push('x-forwarded-for', prior);
  return out;
}

function connectionTokens(connection: string | string[]): Set<string> {
  const set = new Set<string>();
  for (const token of String(connection).split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade') set.add(name);
  }
  return set;
}

function upgradeToken(req: GatewayRequest): string | undefined {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade !== '' ? upgrade : undefined;
}

function requestBody(req: GatewayRequest): Buffer | GatewayRequest['body'] | null {
  if (req.bufferedBody !== undefined) return req.bufferedBody;
  const headers = req.headers;
  const length = headers['content-length'];
  if (headers['transfer-encoding'] !== undefined) return req.body;
  if (length === undefined || length === '0') return null;
  return req.body;
}

/** Go re-encodes `;` in the query as `&` (Traefik keeps that behaviour for middleware-added parameters). */
function cleanQuery(url: string): string {
  const q = url.indexOf('?');
  if (q === -1 || url.indexOf(';', q) === -1) return url;
  return url.slice(0, q) + url.slice(q).replaceAll(';', '&');
}

/** Go's singleJoiningSlash on the path; the query stays with the request's. */
export function joinPath(base: string, url: string): string {
  const aslash = base.endsWith('/');
  const bslash = url.startsWith('/');
  if (aslash && bslash) return base + url.slice(1);
  if (!aslash && !bslash) return `${base}/${url}`;
  return base + url;
}
