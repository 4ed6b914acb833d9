/**
 * A keep-alive connection pool for one upstream origin (Go's Transport per host, which Traefik uses): connections
 * are opened on demand with no cap (MaxConnsPerHost 0), reused last-in-first-out so the warmest stay busy, and at
 * most `maxIdle` are kept idle (maxIdleConnsPerHost). An idle connection closes after idleConnTimeout, or one
 * second before the upstream's own `Keep-Alive: timeout` hint, whichever is sooner.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Connection, Exchange, type ConnectionOwner } from './connection.ts';
import { UpstreamError, UpstreamErrorCodes } from './errors.ts';
import { serializeRequestHead } from './head.ts';
import type { UpstreamDispatcher, UpstreamHandler, UpstreamRequest } from './types.ts';

export interface UpstreamPoolOptions {
  /** Dial timeout in ms (0: none). */
  connectTimeoutMs: number;
  /** Time allowed for the response head after the request was sent, in ms (0: none). */
  headersTimeoutMs: number;
  /** Idle connections close after this many ms. */
  idleTimeoutMs: number;
  /** Idle connections kept at most; more are closed on release. */
  maxIdle: number;
  /** Response head size limit in bytes. */
  maxHeaderSize: number;
  /** For https origins: CA, client certificate, servername, rejectUnauthorized. */
  tls?: ConnectionOptions;
}

/** How often idle connections are checked against their deadline. */
const SWEEP_INTERVAL_MS = 1000;

export class UpstreamPool implements UpstreamDispatcher, ConnectionOwner {
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly tlsOptions: ConnectionOptions;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly maxHeaderSize: number;
  private readonly idleTimeoutMs: number;
  private readonly maxIdle: number;
  /** The Host header used when the request carries none (passHostHeader false sets it explicitly). */
  private readonly defaultHost: string;
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private drained: (() => void) | null = null;

  constructor(origin: string, options: UpstreamPoolOptions) {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UpstreamError(UpstreamErrorCodes.invalidRequest, `unsupported upstream scheme "${url.protocol}"`);
    }
    this.origin = url.origin;
    this.secure = url.protocol === 'https:';
    this.host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.port = Number(url.port || (this.secure ? 443 : 80));
    this.defaultHost = url.host;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.headersTimeoutMs = options.headersTimeoutMs;
    this.idleTimeoutMs = Math.max(1, options.idleTimeoutMs);
    this.maxIdle = Math.max(0, options.maxIdle);
    this.maxHeaderSize = options.maxHeaderSize;
    const tlsOptions: ConnectionOptions = { ALPNProtocols: ['http/1.1'], ...options.tls };
    // SNI carries host names only; node warns about (and servers ignore) an IP address there.
    if (this.secure && tlsOptions.servername === undefined && isIP(this.host) === 0) tlsOptions.servername = this.host;
    this.tlsOptions = tlsOptions;
  }

  /** Connections open now (busy and idle). */
  get size(): number {
    return this.all.size;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): boolean {
    let exchange: Exchange;
    try {
      const { head, chunked } = serializeRequestHead(request, this.defaultHost);
      exchange = new Exchange(request, handler, head, chunked);
    } catch (err) {
      handler.onResponseError?.(rejected, err as Error);
      return true;
    }
    handler.onRequestStart?.(exchange, null);
    if (exchange.aborted) return true;
    if (this.closing) {
      exchange.fail(new UpstreamError(UpstreamErrorCodes.poolClosed, 'the upstream pool is closed'));
      return true;
    }
    this.start(exchange, this.idle.pop());
    return true;
  }

  private start(exchange: Exchange, reuse: Connection | undefined): void {
    let connection = reuse;
    if (connection === undefined) {
      connection = new Connection(this);
      this.all.add(connection);
    }
    connection.send(exchange);
  }

  retry(exchange: Exchange): void {
    if (this.closing) {
      exchange.fail(new UpstreamError(UpstreamErrorCodes.poolClosed, 'the upstream pool is closed'));
      return;
    }
    this.start(exchange, undefined);
  }

  release(connection: Connection, keepAliveMs: number): void {
    if (this.closing || this.idle.length >= this.maxIdle) {
      this.forget(connection);
      connection.close();
      return;
    }
    const now = Date.now();
    const hint = keepAliveMs > 0 ? Math.max(keepAliveMs - 1000, 500) : Infinity;
    connection.idleDeadline = now + Math.min(this.idleTimeoutMs, hint);
    this.idle.push(connection);
    if (this.sweepTimer === null) {
      this.sweepTimer = setInterval(() => this.sweep(), Math.min(SWEEP_INTERVAL_MS, this.idleTimeoutMs));
      this.sweepTimer.unref();
    }
  }

  forget(connection: Connection): void {
    const at = this.idle.lastIndexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    if (this.all.delete(connection) && this.all.size === 0 && this.drained !== null) this.drained();
  }

  private sweep(): void {
    const now = Date.now();
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const connection = this.idle[i]!;
      if (connection.idleDeadline <= now) {
        this.idle.splice(i, 1);
        this.forget(connection);
        connection.close();
      }
    }
    if (this.idle.length === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  /** Stops taking requests, closes idle connections and resolves once the busy ones have finished. */
  close(): Promise<void> {
    this.closing = true;
    for (const connection of this.idle.splice(0)) {
      this.all.delete(connection);
      connection.close();
    }
    if (this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
    if (this.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => { this.drained = resolve; });
  }

  /** Closes every connection now; exchanges in flight fail. */
  destroy(): Promise<void> {
    const done = this.close();
    for (const connection of [...this.all]) connection.socket.destroy();
    return done;
  }
}

/** The controller handed to a handler whose request could not even be serialised. */
const rejected = Object.freeze({
  aborted: true,
  paused: false,
  reason: null,
  abort() {},
  pause() {},
  resume() {},
});
