/**
 * One request relayed over an HTTP/2 client session, from either kind of downstream: an HTTP/2 server stream (h2c
 * from the app, or h2 from a peer sidecar) or an HTTP/1.1 request (an app that speaks HTTP/1.1 to an `http2`
 * upstream). Bodies stream both ways with backpressure, response trailers are passed on (gRPC's status lives there),
 * a trailers-only answer stays trailers-only, and a downstream that goes away (a gRPC client's deadline or cancel)
 * resets the upstream stream so the server sees the cancellation. Answers the proxy makes itself (a denial, no healthy
 * upstream, a timeout) are gRPC statuses for gRPC requests — Envoy's local replies for gRPC are trailers-only
 * responses whose grpc-status maps the HTTP code (envoy source/common/grpc/status.cc `Utility::httpToGrpcStatus`:
 * 403 → PERMISSION_DENIED, 429/502/503/504 → UNAVAILABLE, as the gRPC HTTP-status mapping document lists).
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type ServerHttp2Stream } from 'node:http2';
import { relayBody } from './body.ts';
import { h2ResponseHeaders, isGrpcRequest, keepsTrailers, regularHeaders } from './headers.ts';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, HTTP2_HEADER_STATUS } = constants;

/** How a relayed exchange ended, for metrics and access logs. */
export interface ExchangeResult {
  readonly status: number;
  /** allow (answered by the upstream), reset, timeout. */
  readonly outcome: string;
  /** Request body bytes sent upstream. */
  readonly bytesIn: number;
  /** Response body bytes sent downstream. */
  readonly bytesOut: number;
}

/** The downstream side of one exchange, whatever protocol it came in on. */
export interface Downstream {
  readonly method: string;
  /** :path, with the query. */
  readonly path: string;
  readonly authority: string;
  readonly headers: IncomingHttpHeaders;
  readonly grpc: boolean;
  /** An answer the proxy makes itself (see the module comment for gRPC). */
  localReply(status: number, message: string): void;
  /** Sends the request on `session` with `headers` (pseudo-headers included) and relays the answer. */
  relay(session: ClientHttp2Session, headers: OutgoingHttpHeaders, timeoutMs: number): Promise<ExchangeResult>;
}

/** gRPC status for an HTTP status of a local reply (Envoy's httpToGrpcStatus). */
export function grpcStatusFor(httpStatus: number): number {
  switch (httpStatus) {
    case 400: return 13; // INTERNAL
    case 401: return 16; // UNAUTHENTICATED
    case 403: return 7; // PERMISSION_DENIED
    case 404: return 12; // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14; // UNAVAILABLE
    default: return 2; // UNKNOWN
  }
}

/** grpc-message encoding (gRPC over HTTP/2 spec): UTF-8, with bytes outside 0x20–0x7E and '%' percent-encoded. */
function percentEncodeGrpcMessage(message: string): string {
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** A gRPC trailers-only response: HTTP 200 with the status in the only HEADERS frame. */
export function grpcReplyHeaders(httpStatus: number, message: string): OutgoingHttpHeaders {
  const h = Object.create(null) as OutgoingHttpHeaders;
  h[HTTP2_HEADER_STATUS] = 200;
  h['content-type'] = 'application/grpc';
  h['grpc-status'] = String(grpcStatusFor(httpStatus));
  h['grpc-message'] = percentEncodeGrpcMessage(message);
  return h;
}

const RESET_MESSAGE = 'upstream connect error or disconnect/reset before headers';

/** The running account of one exchange; `finish` resolves the relay's promise once. */
class Tally {
  bytesIn = 0;
  bytesOut = 0;
  status = 0;
  outcome = 'allow';
  private settled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly resolve: (r: ExchangeResult) => void;

  constructor(resolve: (r: ExchangeResult) => void) {
    this.resolve = resolve;
  }

  /** Calls `expire` after `timeoutMs` unless the exchange finished first (no timer for 0 or Infinity). */
  arm(timeoutMs: number, expire: () => void): void {
    if (Number.isFinite(timeoutMs) && timeoutMs > 0) this.timer = setTimeout(expire, timeoutMs);
  }

  finish(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve({ status: this.status, outcome: this.outcome, bytesIn: this.bytesIn, bytesOut: this.bytesOut });
  }
}

/** Opens the upstream stream; a session that cannot take one (closing, destroyed) is answered like a reset. */
function openUpstream(session: ClientHttp2Session, out: OutgoingHttpHeaders, endStream: boolean, down: Downstream, tally: Tally): ClientHttp2Stream | undefined {
  try {
    const up = session.request(out, { endStream });
    up.on('error', () => {});
    return up;
  } catch {
    tally.status = 503;
    tally.outcome = 'reset';
    down.localReply(503, RESET_MESSAGE);
    tally.finish();
    return undefined;
  }
}

/** A downstream that is an HTTP/2 server stream. `ended`: the request's HEADERS frame carried END_STREAM. */
export function streamDownstream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ended: boolean): Downstream {
  const grpc = isGrpcRequest(headers);
  return {
    method: String(headers[':method'] ?? 'GET'),
    path: String(headers[':path'] ?? '/'),
    authority: String(headers[':authority'] ?? headers.host ?? ''),
    headers,
    grpc,
    localReply(status, message) {
      if (stream.destroyed || stream.closed) return;
      if (stream.headersSent) {
        stream.close(NGHTTP2_INTERNAL_ERROR);
        return;
      }
      if (!ended) stream.resume();
      if (grpc) {
        stream.respond(grpcReplyHeaders(status, message), { endStream: true });
        return;
      }
      stream.respond({ [HTTP2_HEADER_STATUS]: status, 'content-type': 'text/plain' });
      stream.end(message);
    },
    relay(session, out, timeoutMs) {
      return new Promise((resolve) => {
        const t = new Tally(resolve);
        let trailers: OutgoingHttpHeaders | undefined;
        const up = openUpstream(session, out, ended, this, t);
        if (!up) return;
        t.arm(timeoutMs, () => {
          t.outcome = 'timeout';
          if (!stream.headersSent) {
            t.status = 504;
            this.localReply(504, 'upstream request timeout');
          } else {
            stream.close(NGHTTP2_CANCEL);
          }
          up.close(NGHTTP2_CANCEL);
          t.finish();
        });
        if (!ended) {
          relayBody(stream, up, (n) => (t.bytesIn += n));
        }
        // The caller went away (deadline, cancel, reset): tell the upstream so its handler sees the cancellation.
        stream.once('close', () => {
          if (!up.closed) up.close(stream.rstCode && stream.rstCode !== constants.NGHTTP2_NO_ERROR ? stream.rstCode : NGHTTP2_CANCEL);
          if (t.outcome === 'allow' && !stream.writableFinished) t.outcome = 'reset';
          t.finish();
        });
        up.once('response', (h: IncomingHttpHeaders, flags: number) => {
          t.status = Number(h[HTTP2_HEADER_STATUS] ?? 502);
          if (stream.destroyed || stream.closed) return;
          if (flags & constants.NGHTTP2_FLAG_END_STREAM) {
            // Trailers-only (a gRPC error status with no message): keep it one HEADERS frame.
            stream.respond(h2ResponseHeaders(h), { endStream: true });
            return;
          }
          if (keepsTrailers(headers, h)) {
            stream.respond(h2ResponseHeaders(h), { waitForTrailers: true });
            stream.once('wantTrailers', () => {
              // Without trailers, an empty trailing HEADERS frame carries END_STREAM (node's own default when nobody
              // listens): close() would send RST_STREAM, which could reach the peer before the body and lose it.
              stream.sendTrailers(trailers ?? {});
            });
          } else {
            // The last DATA frame carries END_STREAM (relayBody ends the stream with it); trailers nobody asked for are dropped.
            stream.respond(h2ResponseHeaders(h));
          }
          relayBody(up, stream, (n) => (t.bytesOut += n));
        });
        up.once('trailers', (h: IncomingHttpHeaders) => (trailers = regularHeaders(h)));
        up.once('close', () => {
          if (up.rstCode !== constants.NGHTTP2_NO_ERROR && !stream.closed && !stream.destroyed) {
            t.outcome = 'reset';
            if (!stream.headersSent) {
              t.status = 503;
              this.localReply(503, RESET_MESSAGE);
            } else {
              stream.close(up.rstCode === NGHTTP2_CANCEL ? NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
            }
          }
          if (t.status === 0) t.status = 503;
          // The downstream's own close settles the exchange; a stream already gone settles it here.
          if (stream.closed || stream.destroyed) t.finish();
        });
      });
    },
  };
}

/** A downstream that is an HTTP/1.1 request (an app speaking HTTP/1.1 to an http2 upstream, or a peer without h2). */
export function h1Downstream(req: IncomingMessage, res: ServerResponse): Downstream {
  const grpc = isGrpcRequest(req.headers);
  const length = req.headers['content-length'];
  const bodyless = req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
  return {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    authority: req.headers.host ?? '',
    headers: req.headers,
    grpc,
    localReply(status, message) {
      req.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (grpc) {
        const h = regularHeaders(grpcReplyHeaders(status, message) as IncomingHttpHeaders);
        res.writeHead(200, h).end();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(message);
    },
    relay(session, out, timeoutMs) {
      return new Promise((resolve) => {
        const t = new Tally(resolve);
        const up = openUpstream(session, out, bodyless, this, t);
        if (!up) return;
        t.arm(timeoutMs, () => {
          t.outcome = 'timeout';
          t.status = 504;
          this.localReply(504, 'upstream request timeout');
          up.close(NGHTTP2_CANCEL);
          t.finish();
        });
        if (bodyless) req.resume();
        else {
          relayBody(req, up, (n) => (t.bytesIn += n));
        }
        res.once('close', () => {
          if (!up.closed) up.close(NGHTTP2_CANCEL);
          if (t.outcome === 'allow' && !res.writableFinished) t.outcome = 'reset';
          t.finish();
        });
        up.once('response', (h: IncomingHttpHeaders) => {
          t.status = Number(h[HTTP2_HEADER_STATUS] ?? 502);
          if (res.destroyed) return;
          res.writeHead(t.status, regularHeaders(h));
          relayBody(up, res, (n) => (t.bytesOut += n));
        });
        // Trailers arrive before the stream's end, so they are in place when relayBody ends the response.
        up.once('trailers', (h: IncomingHttpHeaders) => res.addTrailers(regularHeaders(h) as Record<string, string>));
        up.once('close', () => {
          if (up.rstCode !== constants.NGHTTP2_NO_ERROR && !res.writableFinished) {
            t.outcome = 'reset';
            if (!res.headersSent) {
              t.status = 503;
              this.localReply(503, RESET_MESSAGE);
            } else res.destroy();
          }
        });
      });
    },
  };
}
