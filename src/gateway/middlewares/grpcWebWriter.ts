/**
 * The gRPC-Web side of the grpcWeb middleware: the ResponseWriter that turns a gRPC response into a gRPC-Web one
 * (after traefik/grpc-web go/grpcweb/grpc_web_response.go), the streaming base64 decoder of `-text` request bodies,
 * and the CORS preflight answer (rs/cors as grpcweb configures it: credentials allowed, every requested header
 * allowed, max age ten minutes).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { GatewayRequest, HeaderValue, ResponseHeaders, ResponseWriter } from '../http/types.ts';
import { DelegatingWriter } from '../http/delegating-writer.ts';
import { headerMap } from '../../lib/http/headers.ts';
import { requestHeader } from '../http/request.ts';

/** Go's http.CanonicalHeaderKey, for the names listed in Access-Control-Expose-Headers. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** Trailers in gRPC-Web's body form: lower-case `name: value\r\n` lines, names sorted as Go's Header.Write does. */
export function trailerFrame(trailers: ResponseHeaders): Buffer {
  const lines: string[] = [];
  for (const name in trailers) {
    const value = trailers[name]!;
    // Header.Write replaces CR and LF in values with spaces so a value cannot start a new line.
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name.toLowerCase()}: ${String(v).replace(/[\r\n]/g, ' ')}\r\n`);
  }
  const text = lines.sort().join('');
  const payload = Buffer.from(text, 'utf8');
  const frame = Buffer.allocUnsafe(5 + payload.length);
  frame[0] = 0x80; // MSB set: this length-prefixed message carries trailers, not a gRPC message.
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

export class GrpcWebWriter extends DelegatingWriter {
  private readonly contentType: string;
  private readonly text: boolean;
  private trailers: ResponseHeaders | undefined;

  constructor(inner: ResponseWriter, contentType: string) {
    super(inner);
    this.contentType = contentType;
    this.text = contentType.endsWith('-text');
  }

  override writeHead(statusCode: number, headers?: ResponseHeaders): void {
    const out = headerMap();
    const names: string[] = [];
    const copy = (from: ResponseHeaders): void => {
      for (const name in from) {
        const lower = name.toLowerCase();
        // The trailer announcement and a length are HTTP/2 framing facts that no longer hold once trailers and
        // base64 go into the body.
        if (lower === 'trailer' || lower === 'content-length') continue;
        let value: HeaderValue = from[name]!;
        if (lower === 'content-type' && typeof value === 'string') value = value.replace('application/grpc', this.contentType);
        if (!(lower in out)) names.push(canonical(lower));
        out[lower] = value;
      }
    };
    copy(this.inner.headers);
    for (const name in this.inner.headers) delete this.inner.headers[name];
    if (headers !== undefined) copy(headers);
    names.push('Grpc-Status', 'Grpc-Message');
    out['access-control-expose-headers'] = names.join(', ');
    this.inner.writeHead(statusCode, out);
  }

  override write(chunk: Buffer | string): boolean {
    if (!this.inner.headersSent) this.writeHead(200);
    return this.inner.write(this.encode(chunk));
  }

  override end(chunk?: Buffer | string): void {
    if (!this.inner.headersSent) this.writeHead(200);
    if (chunk !== undefined && chunk.length > 0) this.inner.write(this.encode(chunk));
    const trailers = this.trailers;
    if (trailers !== undefined && Object.keys(trailers).length > 0) this.inner.end(this.encode(trailerFrame(trailers)));
    else this.inner.end();
  }

  addTrailers(trailers: ResponseHeaders): void {
    this.trailers = this.trailers === undefined ? { ...trailers } : { ...this.trailers, ...trailers };
  }

  /** gRPC-Web allows a -text body to be several padded base64 parts, so each write is encoded on its own. */
  private encode(chunk: Buffer | string): Buffer | string {
    if (!this.text) return chunk;
    return (typeof chunk === 'string' ? Buffer.from(chunk) : chunk).toString('base64');
  }
}

/**
 * Decodes a base64 stream whose parts may each carry padding (gRPC-Web-text clients may send several): whole
 * 4-character groups are decoded as they arrive, the rest waits for the next chunk. A character outside the
 * alphabet fails the stream, which the proxy reports as a bad request body.
 */
export class Base64DecodeStream extends Transform {
  private rest = '';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.rest + chunk.toString('latin1').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/=]*$/.test(text)) {
      callback(new Error('grpc-web-text: request body is not base64'));
      return;
    }
    const whole = text.length - (text.length % 4);
    this.rest = text.slice(whole);
    // Node's decoder stops at the first `=`, so each padded part is decoded on its own.
    let start = 0;
    for (let end = 4; end <= whole; end += 4) {
      if (text.charCodeAt(end - 1) === 0x3d /* = */ || end === whole) {
        this.push(Buffer.from(text.slice(start, end), 'base64'));
        start = end;
      }
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.rest.length > 0) {
      callback(new Error('grpc-web-text: request body ends inside a base64 group'));
      return;
    }
    callback();
  }
}

/**
 * rs/cors's preflight answer as grpcweb configures it (AllowOriginFunc, AllowedHeaders `*`, AllowCredentials,
 * MaxAge 600, the default methods GET, POST and HEAD). A refused origin or method gets no CORS header at all.
 */
export function preflightHeaders(req: GatewayRequest, allowed: (origin: string) => boolean): ResponseHeaders {
  const headers = headerMap();
  headers.vary = ['Origin', 'Access-Control-Request-Method', 'Access-Control-Request-Headers'];
  const origin = requestHeader(req, 'origin');
  const method = (requestHeader(req, 'access-control-request-method') ?? '').toUpperCase();
  if (origin === undefined || !allowed(origin) || !['GET', 'POST', 'HEAD'].includes(method)) return headers;
  headers['access-control-allow-origin'] = origin;
  headers['access-control-allow-methods'] = method;
  const requested = requestHeader(req, 'access-control-request-headers');
  if (requested !== undefined && requested !== '') headers['access-control-allow-headers'] = requested;
  headers['access-control-allow-credentials'] = 'true';
  headers['access-control-max-age'] = '600';
  return headers;
}
