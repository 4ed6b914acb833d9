/**
 * One keep-alive connection to an upstream server and the exchange (request/response) it is carrying.
 *
 * The connection reads the response straight off the socket: the head is found with one `indexOf` of the blank
 * line and parsed by `parseResponseHead`; the body is passed on as slices of the socket's own chunks (fixed
 * length, chunked, or until close). No request pipelining: one exchange at a time, so a response that arrives with
 * trailing bytes, or before the request body was sent, leaves the connection unusable and it is closed.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import { parseResponseHead } from './head.ts';
import { UpstreamError, UpstreamErrorCodes } from './errors.ts';
import { dialDeadline, timeoutAfterPoll, type PollTimeout } from '../../../lib/poll-timeout.ts';
import type { UpstreamController, UpstreamHandler, UpstreamRequest } from './types.ts';

const BLANK_LINE = Buffer.from('\r\n\r\n');
const NO_TRAILERS = Object.freeze({}) as Record<string, string>;
/** Longest chunk-size line (size plus extensions) accepted before the stream is declared broken. */
const MAX_CHUNK_LINE = 4096;
/** A Buffer body up to this size is sent in the same write as the request head. */
const SINGLE_WRITE_LIMIT = 16 * 1024;

/** Where the response parser is in the message (erasable TypeScript has no enums). */
const Reading = {
  idle: 0,
  head: 1,
  fixed: 2,
  chunkSize: 3,
  chunkData: 4,
  chunkDataEnd: 5,
  trailers: 6,
  untilClose: 7,
} as const;
type ReadState = (typeof Reading)[keyof typeof Reading];

/** What a connection needs from its pool; kept narrow so the two files do not import each other's classes. */
export interface ConnectionOwner {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly tlsOptions: tls.ConnectionOptions;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly maxHeaderSize: number;
  /** The connection finished an exchange and may be reused; `keepAliveMs` is the upstream's own hint or -1. */
  release(connection: Connection, keepAliveMs: number): void;
  /** The connection is gone (closed, upgraded or broken): drop it from every list. */
  forget(connection: Connection): void;
  /** Runs an exchange again on a new connection (a stale keep-alive connection closed before answering). */
  retry(exchange: Exchange): void;
}

/** One request/response; it is also the controller handed to the handler. */
export class Exchange implements UpstreamController {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  readonly head: string;
  readonly chunkedBody: boolean;
  connection: Connection | null = null;
  aborted = false;
  paused = false;
  reason: Error | null = null;
  done = false;
  /** Some response bytes arrived (a failure after that cannot be retried). */
  received = false;
  /** The request body has been written completely. */
  bodySent = false;
  retried = false;
  isHead: boolean;
  headersTimer: PollTimeout | null = null;

  constructor(request: UpstreamRequest, handler: UpstreamHandler, head: string, chunkedBody: boolean) {
    this.request = request;
    this.handler = handler;
    this.head = head;
    this.chunkedBody = chunkedBody;
    this.isHead = request.method === 'HEAD';
  }

  abort(reason: Error): void {
    if (this.done) return;
    this.aborted = true;
    this.reason = reason;
    const connection = this.connection;
    if (connection !== null && connection.exchange === this) connection.detachBroken();
    this.fail(reason);
  }

  pause(): void {
    this.paused = true;
    const connection = this.connection;
    if (connection !== null && connection.exchange === this) connection.socket.pause();
  }

  resume(): void {
    this.paused = false;
    const connection = this.connection;
    if (connection !== null && connection.exchange === this) connection.socket.resume();
  }

  /** Ends the exchange with an error, once; the handler hears of it. */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.clearHeadersTimer();
    this.handler.onResponseError?.(this, err);
  }

  clearHeadersTimer(): void {
    if (this.headersTimer !== null) {
      this.headersTimer.clear();
      this.headersTimer = null;
    }
  }

  /** Only bodiless or Buffer bodies can be sent twice. */
  get replayable(): boolean {
    const body = this.request.body;
    return body === null || Buffer.isBuffer(body);
  }
}

export class Connection {
  readonly socket: net.Socket;
  private readonly owner: ConnectionOwner;
  exchange: Exchange | null = null;
  /** Exchanges started on this connection (a failure on a reused one before any response byte is retried). */
  private uses = 0;
  private state: ReadState = Reading.idle;
  private remaining = 0;
  /** Bytes of an incomplete head, chunk-size or trailer line carried to the next socket chunk. */
  private pending: Buffer | null = null;
  private keepAlive = true;
  private keepAliveMs = -1;
  private lastError: Error | null = null;
  private connectTimer: PollTimeout | null = null;
  private broken = false;
  /** Set by the pool when the connection goes idle: the idle sweep closes it at this time (ms since epoch). */
  idleDeadline = 0;
  private readonly dataListener: (chunk: Buffer) => void;
  private readonly errorListener: (err: Error) => void;
  private readonly closeListener: () => void;

  constructor(owner: ConnectionOwner) {
    this.owner = owner;
    const options = { host: owner.host, port: owner.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 };
    const socket = owner.secure ? tls.connect({ ...owner.tlsOptions, ...options }) : net.connect(options);
    this.socket = socket;
    if (owner.connectTimeoutMs > 0) {
      // Counts only time the loop ran (lib/poll-timeout.ts dialDeadline): a connect, or a TLS handshake, that went on
      // while the process was held up past dialTimeout is not cut.
      this.connectTimer = dialDeadline(owner.connectTimeoutMs, () => {
        this.connectTimer = null;
        socket.destroy(new UpstreamError(UpstreamErrorCodes.connectTimeout, `connect to ${owner.host}:${owner.port} timed out`));
      });
      socket.once(owner.secure ? 'secureConnect' : 'connect', () => {
        this.connectTimer?.clear();
        this.connectTimer = null;
      });
    }
    this.dataListener = (chunk: Buffer) => this.onData(chunk);
    this.errorListener = (err: Error) => { this.lastError ??= err; };
    this.closeListener = () => this.onClose();
    socket.on('data', this.dataListener);
    socket.on('error', this.errorListener);
    socket.on('close', this.closeListener);
  }

  send(exchange: Exchange): void {
    this.exchange = exchange;
    exchange.connection = this;
    exchange.received = false;
    this.uses++;
    this.state = Reading.head;
    this.keepAlive = true;
    this.keepAliveMs = -1;
    const owner = this.owner;
    if (owner.headersTimeoutMs > 0) {
      // responseHeaderTimeout, judged after the loop has read what arrived: a head that came in while the process was
      // held up is not called late.
      exchange.headersTimer = timeoutAfterPoll(owner.headersTimeoutMs, () => {
        exchange.headersTimer = null;
        if (this.exchange !== exchange) return;
        this.detachBroken();
        exchange.fail(new UpstreamError(UpstreamErrorCodes.headersTimeout, 'timed out waiting for the response head'));
      });
    }
    if (exchange.paused) this.socket.pause();
    const body = exchange.request.body;
    const socket = this.socket;
    if (body === null) {
      exchange.bodySent = true;
      socket.write(exchange.head, 'latin1');
    } else if (Buffer.isBuffer(body)) {
      exchange.bodySent = true;
      if (body.length <= SINGLE_WRITE_LIMIT) {
        // Head and a small body in one plain write (latin1 keeps every byte) rather than a writev of two.
        socket.write(exchange.head + body.toString('latin1'), 'latin1');
        return;
      }
      socket.cork();
      socket.write(exchange.head, 'latin1');
      if (body.length > 0) socket.write(body);
      socket.uncork();
    } else {
      socket.write(exchange.head, 'latin1');
      this.pumpBody(exchange, body);
    }
  }

  /** True when the connection came from the idle list (it may have been closed by the upstream meanwhile). */
  get reused(): boolean {
    return this.uses > 1;
  }

  /** Takes the connection out of use after an abort or a timeout: it cannot carry another exchange. */
  detachBroken(): void {
    this.broken = true;
    this.exchange = null;
    this.owner.forget(this);
    this.socket.destroy();
  }

  /** Closes an idle connection (idle timeout, pool closing). */
  close(): void {
    this.broken = true;
    this.socket.destroy();
  }

  private pumpBody(exchange: Exchange, body: Readable): void {
    const socket = this.socket;
    const chunked = exchange.chunkedBody;
    const onData = (chunk: Buffer | string) => {
      if (this.exchange !== exchange) return;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (buf.length === 0) return;
      let ok: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${buf.length.toString(16)}\r\n`, 'latin1');
        socket.write(buf);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else {
        ok = socket.write(buf);
      }
      if (!ok) {
        body.pause();
        socket.once('drain', onDrain);
      }
    };
    const onDrain = () => body.resume();
    const cleanup = () => {
      body.removeListener('data', onData);
      body.removeListener('end', onEnd);
      body.removeListener('error', onBroken);
      body.removeListener('close', onClose);
      socket.removeListener('drain', onDrain);
    };
    const onEnd = () => {
      cleanup();
      if (this.exchange !== exchange) return;
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      exchange.bodySent = true;
    };
    const onBroken = (err?: Error) => {
      cleanup();
      if (this.exchange !== exchange) return;
      this.detachBroken();
      exchange.fail(new UpstreamError(UpstreamErrorCodes.requestBody, 'the request body ended early', err));
    };
    const onClose = () => {
      if (!body.readableEnded) onBroken();
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onBroken);
    body.once('close', onClose);
    if (body.isPaused()) body.resume();
  }

  private onData(chunk: Buffer): void {
    const exchange = this.exchange;
    if (exchange === null) {
      // Bytes on an idle connection: the upstream is not speaking HTTP/1.1 with us any more.
      if (!this.broken) this.detachBroken();
      return;
    }
    exchange.received = true;
    if (this.pending !== null) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    try {
      this.parse(exchange, chunk);
    } catch (err) {
      // A protocol error, or a handler that threw while taking the response: either way this exchange is over.
      if (this.exchange === exchange) this.detachBroken();
      exchange.fail(err as Error);
    }
  }

  private parse(exchange: Exchange, chunk: Buffer): void {
    const handler = exchange.handler;
    const length = chunk.length;
    let pos = 0;
    while (this.exchange === exchange) {
      switch (this.state) {
        case Reading.head: {
          const end = chunk.indexOf(BLANK_LINE, pos);
          if (end === -1) {
            if (length - pos > this.owner.maxHeaderSize) {
              throw new UpstreamError(UpstreamErrorCodes.headersOverflow, 'response head too large');
            }
            this.pending = pos === 0 ? chunk : chunk.subarray(pos);
            return;
          }
          if (end - pos > this.owner.maxHeaderSize) {
            throw new UpstreamError(UpstreamErrorCodes.headersOverflow, 'response head too large');
          }
          const head = parseResponseHead(chunk.toString('latin1', pos, end));
          pos = end + 4;
          const status = head.statusCode;
          if (status < 200) {
            if (status === 101) {
              if (exchange.request.upgrade === null) throw new UpstreamError(UpstreamErrorCodes.protocol, '101 without an upgrade request');
              this.upgrade(exchange, head.headers, pos < length ? chunk.subarray(pos) : null);
              return;
            }
            continue; // 100 Continue, 103 Early Hints: the final response follows
          }
          exchange.clearHeadersTimer();
          this.keepAlive = head.keepAlive;
          this.keepAliveMs = head.keepAliveTimeoutMs;
          handler.onResponseStart?.(exchange, status, head.headers, head.statusMessage);
          if (this.exchange !== exchange) return;
          if (exchange.isHead || status === 204 || status === 304) {
            this.complete(exchange, pos < length);
            return;
          }
          if (head.chunked) {
            this.state = Reading.chunkSize;
          } else if (head.contentLength >= 0) {
            if (head.contentLength === 0) {
              this.complete(exchange, pos < length);
              return;
            }
            this.remaining = head.contentLength;
            this.state = Reading.fixed;
          } else {
            this.keepAlive = false;
            this.state = Reading.untilClose;
          }
          break;
        }
        case Reading.fixed: {
          if (pos >= length) return;
          const n = Math.min(this.remaining, length - pos);
          const piece = pos === 0 && n === length ? chunk : chunk.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          handler.onResponseData?.(exchange, piece);
          if (this.remaining === 0 && this.exchange === exchange) {
            this.complete(exchange, pos < length);
            return;
          }
          break;
        }
        case Reading.chunkSize: {
          const lf = chunk.indexOf(10, pos);
          if (lf === -1) {
            if (length - pos > MAX_CHUNK_LINE) throw new UpstreamError(UpstreamErrorCodes.protocol, 'chunk size line too long');
            if (pos < length) this.pending = chunk.subarray(pos);
            return;
          }
          const size = parseChunkSize(chunk, pos, lf);
          pos = lf + 1;
          if (size === 0) this.state = Reading.trailers;
          else {
            this.remaining = size;
            this.state = Reading.chunkData;
          }
          break;
        }
        case Reading.chunkData: {
          if (pos >= length) return;
          const n = Math.min(this.remaining, length - pos);
          const piece = chunk.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = Reading.chunkDataEnd;
          handler.onResponseData?.(exchange, piece);
          break;
        }
        case Reading.chunkDataEnd: {
          if (length - pos < 2) {
            if (pos < length) this.pending = chunk.subarray(pos);
            return;
          }
          if (chunk[pos] !== 13 || chunk[pos + 1] !== 10) throw new UpstreamError(UpstreamErrorCodes.protocol, 'missing CRLF after chunk data');
          pos += 2;
          this.state = Reading.chunkSize;
          break;
        }
        case Reading.trailers: {
          // Trailer fields are read and dropped (Traefik's proxy does not forward them over HTTP/1.1 either).
          const lf = chunk.indexOf(10, pos);
          if (lf === -1) {
            if (length - pos > this.owner.maxHeaderSize) throw new UpstreamError(UpstreamErrorCodes.headersOverflow, 'response trailers too large');
            if (pos < length) this.pending = chunk.subarray(pos);
            return;
          }
          const empty = lf === pos || (lf === pos + 1 && chunk[pos] === 13);
          pos = lf + 1;
          if (empty) {
            this.complete(exchange, pos < length);
            return;
          }
          break;
        }
        case Reading.untilClose: {
          if (pos < length) handler.onResponseData?.(exchange, pos === 0 ? chunk : chunk.subarray(pos));
          return;
        }
        default:
          return;
      }
    }
  }

  /** The response is complete: hand the connection back (or close it), then tell the handler. */
  private complete(exchange: Exchange, trailingBytes: boolean): void {
    exchange.done = true;
    exchange.clearHeadersTimer();
    this.exchange = null;
    this.state = Reading.idle;
    this.pending = null;
    if (this.keepAlive && !trailingBytes && exchange.bodySent && !this.broken && !this.socket.destroyed) {
      if (exchange.paused) this.socket.resume();
      this.owner.release(this, this.keepAliveMs);
    } else {
      this.detachBroken();
    }
    exchange.handler.onResponseEnd?.(exchange, NO_TRAILERS);
  }

  private upgrade(exchange: Exchange, headers: Record<string, string | string[] | undefined>, rest: Buffer | null): void {
    exchange.done = true;
    exchange.clearHeadersTimer();
    this.exchange = null;
    this.broken = true;
    this.owner.forget(this);
    const socket = this.socket;
    socket.removeListener('data', this.dataListener);
    socket.removeListener('close', this.closeListener);
    // The error listener stays (it only records): an 'error' before the handler adds its own must not go unhandled.
    // Unshifted bytes are emitted on a later tick, so a handler that reads (or pipes) now gets them first.
    if (rest !== null) socket.unshift(rest);
    exchange.handler.onRequestUpgrade?.(exchange, 101, headers, socket);
    // Nobody reads yet: hold the bytes in the socket rather than emit them to no listener.
    if (!socket.destroyed && socket.listenerCount('data') === 0 && socket.listenerCount('readable') === 0) socket.pause();
  }

  private onClose(): void {
    if (this.connectTimer !== null) {
      this.connectTimer.clear();
      this.connectTimer = null;
    }
    this.owner.forget(this);
    const exchange = this.exchange;
    if (exchange === null) return;
    this.exchange = null;
    if (this.state === Reading.untilClose && this.lastError === null) {
      this.broken = true;
      exchange.done = true;
      exchange.handler.onResponseEnd?.(exchange, NO_TRAILERS);
      return;
    }
    const err = this.lastError;
    // A keep-alive connection the upstream closed while it sat idle: nothing was processed, so it is safe to
    // send the request again on a fresh connection (Go's Transport does the same for replayable requests).
    const stale = this.reused && !exchange.received && !exchange.retried && exchange.replayable && !exchange.aborted
      && (err === null || (err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE');
    if (stale) {
      exchange.retried = true;
      exchange.clearHeadersTimer();
      this.owner.retry(exchange);
      return;
    }
    exchange.fail(err ?? new UpstreamError(UpstreamErrorCodes.closed, 'upstream closed the connection before the response was complete'));
  }
}

/** A chunk-size line: hex digits, optional `;extensions`, CRLF. Anything else is a framing error. */
function parseChunkSize(chunk: Buffer, start: number, lf: number): number {
  let end = lf;
  if (end > start && chunk[end - 1] === 13) end--;
  else throw new UpstreamError(UpstreamErrorCodes.protocol, 'chunk size line without CRLF');
  let size = 0;
  let digits = 0;
  let i = start;
  for (; i < end; i++) {
    const c = chunk[i]!;
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else if (c >= 65 && c <= 70) v = c - 55;
    else break;
    if (++digits > 12) throw new UpstreamError(UpstreamErrorCodes.protocol, 'chunk size too large');
    size = size * 16 + v;
  }
  if (digits === 0) throw new UpstreamError(UpstreamErrorCodes.protocol, 'invalid chunk size');
  if (i < end) {
    // Only chunk extensions (after optional whitespace) may follow the size.
    while (i < end && (chunk[i] === 32 || chunk[i] === 9)) i++;
    if (i < end && chunk[i] !== 59) throw new UpstreamError(UpstreamErrorCodes.protocol, 'invalid chunk size');
    for (let j = i; j < end; j++) {
      const c = chunk[j]!;
      if (c < 32 && c !== 9 || c === 127) throw new UpstreamError(UpstreamErrorCodes.protocol, 'invalid chunk extension');
    }
  }
  return size;
}
