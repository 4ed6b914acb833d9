/**
 * The whole proxy path on `net`, every byte ours: a server connection that parses request heads by hand, passes each
 * request to an UpstreamPool connection with its request line and field lines sliced from the head (hop-by-hop lines
 * left out), and writes the upstream's status line and field lines back the same way, with bodies (Content-Length or
 * chunked, both directions) passed through as they came. Pipelined requests are read one after another: bytes after a
 * request are held until its response has ended.
 * What it omits (the base form): HTTP/1.0 clients (answered 505), Upgrade and CONNECT (400), 100-continue (Expect is
 * passed on and the upstream's 100 is dropped), timeouts, a check of field names and values beyond framing,
 * X-Forwarded-* fields, absolute-form targets, and any routing: every request goes to the one upstream.
 * `strict`, `timeoutMs` and `forwarded` add those pieces one by one, so their cost can be measured (see the peers
 * net-path-*.ts).
 */
import net from 'node:net';
import os from 'node:os';
import { BodyReader, FRAMING_CLOSE, type BodySink } from './body-reader.ts';
import { HeadFields } from './head-fields.ts';
import { HEAD_END, MAX_HEAD, UpstreamPool, type ResponseSink, type UpstreamConnection } from './upstream-pool.ts';

export interface NetPathOptions {
  /** Check the method, the request target and every field name and value (RFC 9110 §5.5–5.6, RFC 9112 §3). */
  strict: boolean;
  /** Idle timeout of client connections (also bounds a slow head) and response timeout of upstream ones; 0: none. */
  timeoutMs: number;
  /** Add X-Forwarded-For/-Host/-Port/-Proto/-Server and X-Real-Ip, as Traefik does. */
  forwarded: boolean;
  /** The upstream client reads into one shared buffer (UpstreamPoolOptions.staticRead). */
  staticRead?: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** origin-form or asterisk-form, visible ASCII only. */
const TARGET = /^(?:\/[!-~]*|\*)$/;
const HOSTNAME = os.hostname();
/** A body chunk up to this size leaves in the same write as the head. */
const SMALL_BODY = 4096;

function plainResponse(status: string, close: boolean): string {
  return `HTTP/1.1 ${status}\r\ncontent-type: text/plain\r\ncontent-length: ${status.length + 1}\r\n${close ? 'connection: close\r\n' : ''}\r\n${status}\n`;
}
const BAD_REQUEST = plainResponse('400 Bad Request', true);
const HEAD_TOO_LARGE = plainResponse('431 Request Header Fields Too Large', true);
const VERSION = plainResponse('505 HTTP Version Not Supported', true);
const BAD_GATEWAY = plainResponse('502 Bad Gateway', false);
const BAD_GATEWAY_CLOSE = plainResponse('502 Bad Gateway', true);

class ClientConnection implements ResponseSink {
  private socket: net.Socket;
  private pool: UpstreamPool;
  private options: NetPathOptions;
  /** Bytes read and not yet handled: a partial head, or pipelined requests waiting for the one in flight. */
  private pending: Buffer | null = null;
  private upstream: UpstreamConnection | null = null;
  private requestBody = new BodyReader(true);
  private requestBodySink: BodySink;
  private fields: HeadFields;
  private closeAfter = false;
  /** The response head, held until the first body bytes (or the end of the read) so a small response is one write. */
  private headOut = '';
  private copyBodies: boolean;
  private closed = false;
  /** X-Forwarded-For … lines that do not change within a connection (with `forwarded`). */
  private forwardedLines = '';

  constructor(socket: net.Socket, pool: UpstreamPool, options: NetPathOptions) {
    this.socket = socket;
    this.pool = pool;
    this.options = options;
    this.copyBodies = pool.options.staticRead === true;
    this.fields = new HeadFields({ dropTransferEncoding: false, strict: options.strict, flat: false });
    this.requestBodySink = { onBody: (chunk) => { this.upstream?.write(chunk); } };
    if (options.forwarded) {
      const ip = socket.remoteAddress ?? '';
      this.forwardedLines = `X-Forwarded-For: ${ip}\r\nX-Forwarded-Port: ${socket.localPort}\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Server: ${HOSTNAME}\r\nX-Real-Ip: ${ip}\r\n`;
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.upstream?.resume());
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('close', () => this.onClose());
    if (options.timeoutMs > 0) socket.setTimeout(options.timeoutMs, () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    if (this.upstream !== null && !this.requestBody.done) {
      const next = this.requestBody.feed(chunk, 0, this.requestBodySink);
      if (next < 0) return this.refuse(BAD_REQUEST);
      if (this.requestBody.done) this.upstream.endRequest();
      if (next === chunk.length) return;
      chunk = chunk.subarray(next);
    }
    this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.upstream === null) this.next();
    else if (this.pending.length > MAX_HEAD) this.socket.pause(); // a pipelining client that runs ahead waits
  }

  /** Handles the next request in `pending`, if its head is complete. */
  private next(): void {
    const buf = this.pending;
    if (buf === null) return;
    const headEnd = buf.indexOf(HEAD_END);
    if (headEnd === -1) {
      if (buf.length > MAX_HEAD) this.refuse(HEAD_TOO_LARGE);
      return;
    }
    const h = buf.toString('latin1', 0, headEnd + 2);
    const lineEnd = h.indexOf('\r\n');
    const sp1 = h.indexOf(' ');
    const sp2 = h.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 === -1 || sp2 > lineEnd) return this.refuse(BAD_REQUEST);
    if (lineEnd - sp2 !== 9 || !h.startsWith('HTTP/1.', sp2 + 1)) return this.refuse(BAD_REQUEST);
    if (h.charCodeAt(sp2 + 8) !== 49) return this.refuse(VERSION);
    const method = h.slice(0, sp1);
    if (this.options.strict && (!TOKEN.test(method) || !TARGET.test(h.slice(sp1 + 1, sp2)))) return this.refuse(BAD_REQUEST);
    if (method === 'CONNECT') return this.refuse(BAD_REQUEST);
    const fields = this.fields;
    fields.parse(h, lineEnd + 2, true);
    if (fields.error || fields.host === '' || fields.upgrade) return this.refuse(BAD_REQUEST);
    this.closeAfter = fields.close;
    let head = h.slice(0, lineEnd + 2) + fields.forward;
    if (this.options.forwarded) head += `${this.forwardedLines}X-Forwarded-Host: ${fields.host}\r\n`;
    head += '\r\n';
    const rest = headEnd + 4;
    this.pending = rest === buf.length ? null : buf.subarray(rest);
    const upstream = this.pool.acquire();
    this.upstream = upstream;
    this.requestBody.start(fields.framing, fields.length);
    upstream.send(head, this, method === 'HEAD', !this.requestBody.done);
    if (!this.requestBody.done && this.pending !== null) {
      const body = this.pending;
      this.pending = null;
      this.onData(body);
    }
  }

  onResponseHead(_status: number, statusLine: string, fields: HeadFields): void {
    if (fields.framing === FRAMING_CLOSE) this.closeAfter = true;
    this.headOut = `${statusLine}${fields.forward}${this.closeAfter ? 'connection: close\r\n' : ''}\r\n`;
  }

  onBody(chunk: Buffer): void {
    let ok: boolean;
    if (this.headOut !== '' && chunk.length <= SMALL_BODY) {
      // Head and a small body as one latin1 string: one write, no writev (latin1 maps bytes to code points 1:1).
      ok = this.socket.write(this.headOut + chunk.toString('latin1'), 'latin1');
      this.headOut = '';
    } else {
      this.flushHead();
      // A view into the pool's shared read buffer must be copied before the socket may queue it.
      ok = this.socket.write(this.copyBodies ? Buffer.from(chunk) : chunk);
    }
    if (!ok) this.upstream?.pause();
  }

  onReadEnd(): void {
    this.flushHead();
  }

  private flushHead(): void {
    if (this.headOut === '') return;
    this.socket.write(this.headOut, 'latin1');
    this.headOut = '';
  }

  onResponseEnd(): void {
    this.upstream = null;
    if (!this.requestBody.done) this.closeAfter = true; // answered before the request body was read: framing lost
    if (this.closeAfter) {
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    this.next();
  }

  onUpstreamError(_message: string, responseStarted: boolean): void {
    this.upstream = null;
    this.flushHead();
    if (responseStarted) {
      this.socket.destroy();
      return;
    }
    const close = this.closeAfter || !this.requestBody.done;
    this.socket.write(close ? BAD_GATEWAY_CLOSE : BAD_GATEWAY, 'latin1');
    if (close) this.socket.end();
    else this.next();
  }

  private refuse(response: string): void {
    this.pending = null;
    this.socket.end(response, 'latin1');
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream?.abort();
    this.upstream = null;
  }
}

/** Listens on 127.0.0.1:`port`, proxying every request to `upstream` (http://host:port). */
export function startNetPath(port: number, upstream: string, options: NetPathOptions): Promise<net.Server> {
  const pool = new UpstreamPool(upstream, { raw: true, flat: false, strict: options.strict, timeoutMs: options.timeoutMs, maxIdle: 256, staticRead: options.staticRead === true });
  const server = net.createServer({ noDelay: true }, (socket) => {
    new ClientConnection(socket, pool, options);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
