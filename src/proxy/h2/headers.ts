/**
 * Header maps on the HTTP/2 paths. HTTP/2 forbids connection-specific fields (RFC 9113 §8.2.2: `connection`,
 * `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, and `te` other than "trailers"); Node's http2
 * refuses a request carrying them, so they are dropped together with the fields a `Connection` header names. `te:
 * trailers` is kept: gRPC servers may insist on it. Pseudo-headers are rebuilt by the caller, never copied blindly.
 * Every map is prototype-free.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings', 'proxy-authorization', 'proxy-authenticate']);

/** The request line of an exchange, as HTTP/2 pseudo-headers carry it. */
export interface RequestLine {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: 'http' | 'https';
}

function copyRegular(src: IncomingHttpHeaders, out: OutgoingHttpHeaders): OutgoingHttpHeaders {
  let named: Set<string> | undefined;
  const conn = src.connection;
  if (typeof conn === 'string') named = new Set(conn.split(',').map((n) => n.trim().toLowerCase()));
  for (const k of Object.keys(src)) {
    const v = src[k];
    if (v === undefined || k.charCodeAt(0) === 58 /* ':' */ || CONNECTION_SPECIFIC.has(k) || named?.has(k)) continue;
    if (k === 'te' && v !== 'trailers') continue;
    out[k] = v;
  }
  return out;
}

/** Request headers for an HTTP/2 request: the regular fields of `src` plus the request line's pseudo-headers. */
export function h2RequestHeaders(src: IncomingHttpHeaders, line: RequestLine): OutgoingHttpHeaders {
  const out = Object.create(null) as OutgoingHttpHeaders;
  out[':method'] = line.method;
  out[':path'] = line.path;
  out[':authority'] = line.authority;
  out[':scheme'] = line.scheme;
  return copyRegular(src, out);
}

/** Response headers for an HTTP/2 server stream: `:status` and the regular fields. */
export function h2ResponseHeaders(src: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out = Object.create(null) as OutgoingHttpHeaders;
  out[':status'] = src[':status'] ?? 502;
  return copyRegular(src, out);
}

/** Regular fields only: response headers or trailers written to HTTP/1.1, or trailers relayed on HTTP/2. */
export function regularHeaders(src: IncomingHttpHeaders): OutgoingHttpHeaders {
  return copyRegular(src, Object.create(null) as OutgoingHttpHeaders);
}

/** gRPC requests are told apart by their content type (application/grpc, application/grpc+proto …), as Envoy does. */
export function isGrpcRequest(headers: IncomingHttpHeaders): boolean {
  const ct = headers['content-type'];
  return typeof ct === 'string' && ct.startsWith('application/grpc');
}

/** Whether a comma-separated field value lists `token` (case-insensitive), e.g. `te: trailers, deflate`. */
function listsToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const v of Array.isArray(value) ? value : [value]) {
    for (const part of v.split(',')) if (part.trim().split(';', 1)[0]!.toLowerCase() === token) return true;
  }
  return false;
}

/**
 * Whether an answer relayed to an HTTP/2 downstream keeps room for trailers. Only when someone can use them: a gRPC
 * call (its status is a trailer), a client that said it accepts them (`te: trailers`, RFC 9110 §10.1.4 — gRPC
 * clients always send it), or a response that announces some (`trailer`). Any other answer ends with END_STREAM on
 * its last DATA frame: keeping room costs a separate trailing HEADERS frame, written in a second send cycle after the
 * body, on every request.
 */
export function keepsTrailers(request: IncomingHttpHeaders, response: IncomingHttpHeaders): boolean {
  return isGrpcRequest(request) || isGrpcRequest(response) || listsToken(request.te, 'trailers') || response.trailer !== undefined;
}
