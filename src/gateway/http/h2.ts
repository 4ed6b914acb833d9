/**
 * HTTP/2 requests on the handler contract. An h2 stream arrives as node's compatibility pair
 * (Http2ServerRequest/Http2ServerResponse); `normalizeH2Request` turns its head into the one the HTTP/1.1 path sees,
 * with the h2 → h1 rules of RFC 9113 §8.2.2/§8.3 as Go's http2 server applies them (golang.org/x/net/http2
 * serverConn.newWriterAndRequest): pseudo-headers leave the header map, `:authority` is the host (a Host header
 * that says otherwise is replaced, so routing and the upstream see the host the client's stream named), a body of
 * unknown length is framed as chunked for an HTTP/1.1 upstream. Connection-specific fields never get this far:
 * node's nghttp2 refuses such a stream as malformed. `H2ResponseWriter` is the ResponseWriter over the stream,
 * with response trailers (gRPC's status travels in them).
 */
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { constants } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import { mergeHeaders, prototypeFree } from '../../lib/http/headers.ts';
import type { ResponseHeaders, ResponseWriter, HeaderValue } from './types.ts';

/** Fields HTTP/2 forbids in a response (RFC 9113 §8.2.2); node throws on them, a middleware may have set one. */
const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

/**
 * Rewrites the request head in place for the HTTP/1.1 handler path and returns it typed as the IncomingMessage the
 * request adapter reads (method, url, headers, socket, body stream: the compatibility request has all of them).
 */
export function normalizeH2Request(raw: Http2ServerRequest): IncomingMessage {
  const pseudo = raw.headers as Record<string, string | string[] | undefined>;
  const headers = prototypeFree<Record<string, string | string[] | undefined>>();
  for (const name in pseudo) if (name.charCodeAt(0) !== 58 /* : */) headers[name] = pseudo[name];
  const authority = pseudo[':authority'];
  if (typeof authority === 'string' && authority !== '') headers.host = authority;
  // A stream that is not ended after its HEADERS has a body; without content-length an HTTP/1.1 upstream needs it
  // chunked (Go: ContentLength -1). The proxy drops the field itself as hop-by-hop and frames the body.
  if (headers['content-length'] === undefined && !raw.stream.endAfterHeaders) headers['transfer-encoding'] = 'chunked';
  // The compatibility request reads method, url and headers from the stream's header block (pseudo-headers
  // included); own properties give the handlers the HTTP/1.1 view while the block itself stays as node needs it.
  Object.defineProperty(raw, 'headers', { value: headers, writable: true, configurable: true });
  Object.defineProperty(raw, 'url', { value: pseudo[':path'] ?? '/', writable: true, configurable: true });
  Object.defineProperty(raw, 'method', { value: pseudo[':method'], writable: true, configurable: true });
  return raw as unknown as IncomingMessage;
}

export class H2ResponseWriter implements ResponseWriter {
  readonly res: Http2ServerResponse;
  statusCode = 0;
  headersSent = false;
  bytesWritten = 0;
  sentHeaders: ResponseHeaders | undefined = undefined;
  private preset: ResponseHeaders | undefined = undefined;
  /** The head is handed to node with the first body byte or at the end (see end()). */
  private headFlushed = false;
  private trailers: ResponseHeaders | undefined = undefined;
  private ended = false;

  constructor(res: Http2ServerResponse) {
    this.res = res;
  }

  get headers(): ResponseHeaders {
    return (this.preset ??= prototypeFree<ResponseHeaders>());
  }

  get closed(): boolean {
    const stream = this.res.stream;
    return !this.ended && (stream.destroyed || stream.closed);
  }

  /** Whether the whole response was handed to the stream. */
  get finished(): boolean {
    return this.ended;
  }

  writeHead(statusCode: number, headers?: ResponseHeaders): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.statusCode = statusCode;
    let final = headers;
    if (this.preset !== undefined) final = headers === undefined ? this.preset : mergeHeaders(this.preset, headers);
    if (final !== undefined) for (const name of CONNECTION_SPECIFIC) if (final[name] !== undefined) delete final[name];
    this.sentHeaders = final;
  }

  private flushHead(): void {
    if (this.headFlushed) return;
    this.headFlushed = true;
    const final = this.sentHeaders;
    if (final === undefined) this.res.writeHead(this.statusCode);
    else this.res.writeHead(this.statusCode, final as Record<string, HeaderValue>);
  }

  write(chunk: Buffer | string): boolean {
    if (!this.headersSent) this.writeHead(200);
    if (this.closed) return true;
    this.flushHead();
    this.bytesWritten += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return this.res.write(chunk);
  }

  end(chunk?: Buffer | string): void {
    if (!this.headersSent) this.writeHead(200);
    if (this.closed || this.ended) return;
    const empty = chunk === undefined || chunk.length === 0;
    if (!this.headFlushed && empty && this.trailers === undefined) {
      // A response with no body and no trailers is one HEADERS frame that ends the stream, as Go's http2 server
      // sends it: gRPC's Trailers-Only answer (an error status in the head) must arrive exactly so.
      this.headFlushed = true;
      this.ended = true;
      const head: Record<string, HeaderValue | number> = { ...(this.sentHeaders as Record<string, HeaderValue> | undefined), ':status': this.statusCode };
      this.res.stream.respond(head, { endStream: true });
      return;
    }
    this.flushHead();
    this.ended = true;
    if (this.trailers !== undefined) this.res.addTrailers(this.trailers as Record<string, HeaderValue>);
    if (empty) this.res.end();
    else {
      this.bytesWritten += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk!.length;
      this.res.end(chunk);
    }
  }

  /** Sent after the body in a HEADERS frame that ends the stream. */
  addTrailers(trailers: ResponseHeaders): void {
    this.trailers = this.trailers === undefined ? trailers : { ...this.trailers, ...trailers };
  }

  onDrain(listener: () => void): void {
    this.res.once('drain', listener);
  }

  onClose(listener: () => void): void {
    this.res.once('close', listener);
  }

  /** Cuts this stream only (RST_STREAM INTERNAL_ERROR): the connection's other streams carry on. */
  abort(): void {
    if (!this.res.stream.destroyed) this.res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}
