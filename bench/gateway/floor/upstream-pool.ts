/**
 * A keep-alive HTTP/1.1 client on `net`, the smallest that a proxy can stream through: a LIFO stack of idle
 * connections, the request head written as one string, the response head parsed by hand (status line, then
 * HeadFields), the body framed by BodyReader and handed to the caller's sink as it arrives.
 * Benchmark code — it omits: retrying a request that met a connection the upstream had just closed (the keep-alive
 * race), connect and response timeouts (unless `timeoutMs`), 1xx responses other than being skipped (103 Early Hints
 * is dropped, 101 Upgrade is not supported), TLS, a connection limit (it opens as many as there are requests in
 * flight) and pipelining to the upstream.
 */
import net from 'node:net';
import { BodyReader, FRAMING_CLOSE, FRAMING_NONE, type BodySink } from './body-reader.ts';
import { HeadFields } from './head-fields.ts';

export const HEAD_END = Buffer.from('\r\n\r\n');
/** A head larger than this is refused (node:http's default maxHeaderSize). */
export const MAX_HEAD = 16 * 1024;

export interface ResponseSink extends BodySink {
  /** `statusLine` ends CRLF; `fields.forward` holds the field lines to pass on. */
  onResponseHead(status: number, statusLine: string, fields: HeadFields): void;
  /** Called after every read from the upstream that delivered something to the sink (a place to uncork). */
  onReadEnd(): void;
  onResponseEnd(): void;
  /** The exchange failed; `responseStarted` says whether onResponseHead was called. */
  onUpstreamError(message: string, responseStarted: boolean): void;
}

export interface UpstreamPoolOptions {
  /** Hand chunked bodies on as they came (true) or their payload only (false). */
  raw: boolean;
  /** Ask HeadFields for the [name, value, …] form too. */
  flat: boolean;
  /** Check field names and values. */
  strict: boolean;
  /** Idle and response timeout of each connection (0: none). */
  timeoutMs: number;
  maxIdle: number;
  /**
   * Read into one shared buffer (net's `onread`) instead of a fresh Buffer per read through the Readable stream: body
   * chunks handed to the sink are then views valid only during the call, which the sink must copy to keep.
   */
  staticRead?: boolean;
}

/** The buffer every `staticRead` connection reads into: reads happen one at a time on the one thread. */
let sharedReadBuffer: Buffer | null = null;

export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  readonly options: UpstreamPoolOptions;
  private idle: UpstreamConnection[] = [];

  constructor(url: string, options: UpstreamPoolOptions) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
    this.options = options;
  }

  acquire(): UpstreamConnection {
    return this.idle.pop() ?? new UpstreamConnection(this);
  }

  release(connection: UpstreamConnection): void {
    if (this.idle.length < this.options.maxIdle) this.idle.push(connection);
    else connection.socket.destroy();
  }

  forget(connection: UpstreamConnection): void {
    const i = this.idle.indexOf(connection);
    if (i !== -1) this.idle.splice(i, 1);
  }
}

export class UpstreamConnection {
  readonly socket: net.Socket;
  private pool: UpstreamPool;
  private sink: ResponseSink | null = null;
  /** A response head split across reads. */
  private partial: Buffer | null = null;
  private inBody = false;
  private headRequest = false;
  private requestDone = true;
  private reusable = true;
  private body: BodyReader;
  private fields: HeadFields;

  constructor(pool: UpstreamPool) {
    this.pool = pool;
    this.body = new BodyReader(pool.options.raw);
    this.fields = new HeadFields({ dropTransferEncoding: !pool.options.raw, strict: pool.options.strict, flat: pool.options.flat });
    if (pool.options.staticRead) {
      sharedReadBuffer ??= Buffer.allocUnsafe(64 * 1024);
      const onread = { buffer: sharedReadBuffer, callback: (n: number, buf: Uint8Array) => {
        this.onData(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true;
      } };
      this.socket = net.connect({ host: pool.host, port: pool.port, noDelay: true, onread });
    } else {
      this.socket = net.connect({ host: pool.host, port: pool.port, noDelay: true });
      this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    }
    this.socket.on('error', () => { /* 'close' follows */ });
    this.socket.on('close', () => this.onClose());
    if (pool.options.timeoutMs > 0) {
      this.socket.setTimeout(pool.options.timeoutMs, () => {
        if (this.sink) this.fail('upstream timed out');
        this.socket.destroy();
      });
    }
  }

  /** Sends a request head (ending with the empty line); `bodyFollows` when the caller will write() a body and end(). */
  send(head: string, sink: ResponseSink, headRequest: boolean, bodyFollows: boolean): void {
    this.sink = sink;
    this.headRequest = headRequest;
    this.requestDone = !bodyFollows;
    this.socket.write(head, 'latin1');
  }

  write(chunk: Buffer | string): boolean {
    return this.socket.write(chunk);
  }

  endRequest(): void {
    this.requestDone = true;
    if (this.sink === null && this.reusable) this.pool.release(this);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** The client went away mid-exchange: this connection's state is unknown, so it is not reused. */
  abort(): void {
    this.sink = null;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const sink = this.sink;
    if (sink === null) {
      // Bytes nobody asked for: the connection's framing is lost.
      this.socket.destroy();
      return;
    }
    let buf = chunk;
    let start = 0;
    while (!this.inBody) {
      if (this.partial) {
        buf = Buffer.concat([this.partial, buf.subarray(start)]);
        start = 0;
        this.partial = null;
      }
      const headEnd = buf.indexOf(HEAD_END, start);
      if (headEnd === -1) {
        if (buf.length - start > MAX_HEAD) return this.fail('response head too large');
        // A view into the shared read buffer would be overwritten by the next read: copied.
        this.partial = this.pool.options.staticRead ? Buffer.from(buf.subarray(start)) : start === 0 ? buf : buf.subarray(start);
        return;
      }
      const h = buf.toString('latin1', start, headEnd + 2);
      const lineEnd = h.indexOf('\r\n');
      const status = lineEnd >= 12 && h.startsWith('HTTP/1.') && h.charCodeAt(12) === 32 ? Number(h.slice(9, 12)) : NaN;
      if (!(status >= 100 && status <= 999)) return this.fail('malformed status line');
      start = headEnd + 4;
      if (status < 200) {
        if (status === 101) return this.fail('upgrade not supported');
        continue; // interim response: skipped
      }
      const fields = this.fields;
      fields.parse(h, lineEnd + 2, false);
      if (fields.error) return this.fail(fields.error);
      const http10 = h.charCodeAt(7) === 48;
      if (fields.close || (http10 && !fields.keepAlive)) this.reusable = false;
      if (this.headRequest || status === 204 || status === 304) fields.framing = FRAMING_NONE;
      this.body.start(fields.framing, fields.length);
      if (fields.framing === FRAMING_CLOSE) this.reusable = false;
      this.inBody = true;
      sink.onResponseHead(status, h.slice(0, lineEnd + 2), fields);
      if (this.sink !== sink) return; // the sink gave up (its client went away)
    }
    if (!this.body.done) {
      const next = this.body.feed(buf, start, sink);
      if (next < 0) return this.fail('malformed chunked body');
      start = next;
    }
    if (this.body.done) {
      if (start < buf.length) this.reusable = false; // bytes after the response: framing lost
      this.finish(sink);
    } else sink.onReadEnd();
  }

  private finish(sink: ResponseSink): void {
    this.sink = null;
    this.inBody = false;
    if (!this.reusable) this.socket.destroy();
    else if (this.requestDone) this.pool.release(this);
    sink.onReadEnd();
    sink.onResponseEnd();
  }

  private fail(message: string): void {
    const sink = this.sink;
    const started = this.inBody;
    this.sink = null;
    this.inBody = false;
    this.reusable = false;
    this.socket.destroy();
    sink?.onUpstreamError(message, started);
  }

  private onClose(): void {
    const sink = this.sink;
    if (sink === null) {
      this.pool.forget(this);
      return;
    }
    // A close-delimited body ends here; anything else is cut short.
    if (this.inBody && this.body.framing === FRAMING_CLOSE && !this.body.done) {
      this.reusable = false;
      this.finish(sink);
    } else this.fail('upstream closed the connection');
  }
}
