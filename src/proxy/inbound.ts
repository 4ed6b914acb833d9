/**
 * The public listener: mTLS in front of the local app. Every connection must present a certificate chaining to a
 * current root (TLS does that), carrying one service SPIFFE ID in our trust domain (peer.ts). For a `tcp` service the
 * intention is asked once per connection and a denied one is closed before a byte reaches the app; for `http`,
 * `http2` and `grpc` every request is asked against the intentions' L7 permissions, a denied one answered 403 (a gRPC
 * call: status PERMISSION_DENIED, h2/forward.ts). `http` is served as HTTP/1.1 to the app; `http2` and `grpc` offer
 * ALPN h2 (then http/1.1) to peers and reach the app over h2c, as Consul configures Envoy (agent/xds/listeners.go
 * `getAlpnProtocols`: grpc/http2 → ["h2", "http/1.1"], http → ["http/1.1"]; clusters.go gives the local app cluster
 * HTTP/2 protocol options for those two). The protocol is read for each new connection, so a service-defaults change
 * applies without a restart. New connections take the current TLS context (identity.ts swaps it on renewal or
 * rotation); connections already open keep theirs.
 */
import { Agent, createServer as createHttpServer, request as httpRequest, type ClientRequestArgs, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { constants as h2c, createServer as createH2Server, type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import { connect as netConnect, type AddressInfo, type NetConnectOpts, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import type { SpiffeService } from '../lib/spiffe.ts';
import { formatSpiffeId } from '../lib/spiffe.ts';
import type { Logger } from '../lib/logger.ts';
import type { AccessLog } from './access-log.ts';
import { relayAnswer } from './answer.ts';
import { armConnectTimeout } from './connect-timeout.ts';
import { h1Downstream, streamDownstream, type Downstream } from './h2/forward.ts';
import { h2RequestHeaders } from './h2/headers.ts';
import { openSession, SessionPool } from './h2/sessions.ts';
import { copyRequestHeaders, copyResponseHeaders, isH2Protocol, isHttpLike } from './http-forward.ts';
import type { ProxyIdentity, TlsMaterial } from './identity.ts';
import type { IntentionWatcher } from './intentions.ts';
import type { ProxyMetrics } from './metrics.ts';
import { peerService } from './peer.ts';
import { joinSockets } from './pipe.ts';

export interface InboundOptions {
  readonly service: string;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly localConnectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  /** The protocol now in force (proxy Config.protocol, else the service's discovery chain). */
  readonly protocol: () => string;
  readonly identity: ProxyIdentity;
  readonly intentions: IntentionWatcher;
  readonly metrics: ProxyMetrics;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
}

const peers = new WeakMap<Socket, SpiffeService>();
const sessionPeers = new WeakMap<Http2Session, SpiffeService>();
const xfccs = new WeakMap<SpiffeService, { by: string; value: string }>();

/** Whether a request head announces a body (HTTP/1.1: a non-zero Content-Length or a Transfer-Encoding). */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

/**
 * The keep-alive pool to the local app. A new connection is timed until it connects, here where it is made: a
 * listener and a closure on every request to find the rare one that opens a connection was per-request work.
 */
class AppAgent extends Agent {
  private readonly connectTimeoutMs: number;

  constructor(connectTimeoutMs: number) {
    super({ keepAlive: true, maxFreeSockets: 64 });
    this.connectTimeoutMs = connectTimeoutMs;
  }

  override createConnection(options: ClientRequestArgs): Duplex {
    const socket = netConnect(options as NetConnectOpts);
    armConnectTimeout(socket, this.connectTimeoutMs, () => socket.destroy(new Error('local app connect timeout')));
    return socket;
  }
}

export class InboundListener {
  private readonly o: InboundOptions;
  private readonly tls: TlsServer;
  private readonly http = createHttpServer({ keepAliveTimeout: 60_000 });
  private readonly appAgent: AppAgent;
  private readonly sockets = new Set<Socket>();
  /** HTTP/2 from peers (ALPN h2) for http2/grpc services. */
  private readonly h2: Http2Server = createH2Server();
  /** h2c sessions to the local app. */
  private readonly appSessions: SessionPool;
  /** The peer of the connection being handed to the HTTP/2 server ('session' is emitted synchronously). */
  private handingOver: SpiffeService | undefined;

  constructor(options: InboundOptions) {
    this.o = options;
    this.appAgent = new AppAgent(options.localConnectTimeoutMs);
    const material = options.identity.current();
    // tls.Server builds its own context from these options (it ignores a `secureContext` option).
    this.tls = createTlsServer({
      ...material.options,
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: options.handshakeTimeoutMs,
      noDelay: true,
      // Chosen per connection, so a service-defaults protocol change applies to the next handshake.
      ALPNCallback: ({ protocols }) => {
        if (isH2Protocol(options.protocol()) && protocols.includes('h2')) return 'h2';
        return protocols.includes('http/1.1') ? 'http/1.1' : protocols[0];
      },
    });
    this.appSessions = new SessionPool((err) => options.logger.debug({ err: err.message }, 'local app HTTP/2 session failed'));
    this.h2.on('session', (session: Http2Session) => {
      if (this.handingOver) sessionPeers.set(session, this.handingOver);
      session.on('error', () => {});
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      stream.on('error', () => {});
      const peer = stream.session ? sessionPeers.get(stream.session) : undefined;
      void this.serveH2(streamDownstream(stream, headers, (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0), peer);
    });
    // New connections pick up a new leaf or new roots; established ones continue with what they negotiated.
    options.identity.on('change', (m: TlsMaterial) => this.tls.setSecureContext(m.options));
    this.tls.on('secureConnection', (socket) => this.accept(socket));
    this.tls.on('tlsClientError', (err, socket) => {
      options.metrics.tlsFailures.inc({ direction: 'inbound', service: 'unknown' });
      options.logger.debug({ err: err.message, remote: socket.remoteAddress }, 'inbound TLS handshake failed');
    });
    this.tls.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.http.on('request', (req, res) => this.onRequest(req, res));
    this.http.on('clientError', (err, socket) => socket.destroy(err));
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.tls.once('error', reject);
      this.tls.listen(this.o.bindPort, this.o.bindAddress, () => resolve());
    });
    return this.tls.address() as AddressInfo;
  }

  async close(): Promise<void> {
    // close() waits for open connections: peers' keep-alive pools would hold it for their idle timeout.
    const closed = new Promise<void>((resolve) => this.tls.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.http.close();
    this.h2.close();
    this.appAgent.destroy();
    this.appSessions.destroy();
  }

  /** Envoy's XFCC for the app — who we are (By) and who called (URI) — built once per peer connection and leaf. */
  private xfcc(peer: SpiffeService): string {
    const by = this.o.identity.current().leafUri;
    let cached = xfccs.get(peer);
    if (cached?.by !== by) {
      cached = { by, value: `By=${by};URI=${formatSpiffeId(peer)}` };
      xfccs.set(peer, cached);
    }
    return cached.value;
  }

  private accept(socket: TLSSocket): void {
    const { metrics, logger } = this.o;
    let peer: SpiffeService;
    try {
      peer = peerService(socket, this.o.identity.current().trustDomain);
    } catch (err) {
      metrics.tlsFailures.inc({ direction: 'inbound', service: 'unknown' });
      logger.info({ err: (err as Error).message, remote: socket.remoteAddress }, 'inbound connection refused: no valid identity');
      socket.destroy();
      return;
    }
    const downstream = peer.service;
    if (isHttpLike(this.o.protocol())) {
      peers.set(socket, peer);
      metrics.connections.inc({ direction: 'inbound', service: downstream });
      metrics.activeConnections.inc({ direction: 'inbound', service: downstream });
      socket.once('close', () => metrics.activeConnections.dec({ direction: 'inbound', service: downstream }));
      if (socket.alpnProtocol === 'h2') {
        this.handingOver = peer;
        try {
          this.h2.emit('connection', socket);
        } finally {
          this.handingOver = undefined;
        }
        return;
      }
      this.http.emit('connection', socket);
      return;
    }
    this.acceptTcp(socket, downstream);
  }

  private acceptTcp(socket: TLSSocket, downstream: string): void {
    const { metrics, logger, accessLog, service } = this.o;
    const started = performance.now();
    const decision = this.o.intentions.connection(downstream);
    if (!decision.allowed) {
      metrics.intentionDenials.inc({ downstream, layer: 'l4' });
      logger.info({ downstream, reason: decision.reason }, 'inbound connection denied by intentions');
      accessLog({ direction: 'inbound', protocol: 'tcp', downstream, upstream: service, outcome: 'deny', bytesIn: 0, bytesOut: 0, durationMs: performance.now() - started });
      socket.destroy();
      return;
    }
    metrics.connections.inc({ direction: 'inbound', service: downstream });
    metrics.activeConnections.inc({ direction: 'inbound', service: downstream });
    socket.pause();
    const app = netConnect({ host: this.o.localAddress, port: this.o.localPort });
    app.setNoDelay(true);
    armConnectTimeout(app, this.o.localConnectTimeoutMs, () => app.destroy(new Error('local app connect timeout')));
    void joinSockets(socket, app).then(({ aToB, bToA }) => {
      metrics.activeConnections.dec({ direction: 'inbound', service: downstream });
      metrics.bytes.inc({ direction: 'inbound', service: downstream, flow: 'rx' }, aToB);
      metrics.bytes.inc({ direction: 'inbound', service: downstream, flow: 'tx' }, bToA);
      const durationMs = performance.now() - started;
      metrics.connectionDuration.observe({ direction: 'inbound', service: downstream }, durationMs / 1000);
      accessLog({ direction: 'inbound', protocol: 'tcp', downstream, upstream: service, outcome: 'allow', bytesIn: aToB, bytesOut: bToA, durationMs });
    });
    socket.resume();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (isH2Protocol(this.o.protocol())) {
      // A peer that did not negotiate h2 still reaches an http2/grpc app over h2c.
      void this.serveH2(h1Downstream(req, res), peers.get(req.socket));
      return;
    }
    const { metrics, accessLog, service, logger } = this.o;
    const started = performance.now();
    const peer = peers.get(req.socket);
    const downstream = peer?.service ?? 'unknown';
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const finish = (status: number, outcome: string, bytesIn: number, bytesOut: number): void => {
      const durationMs = performance.now() - started;
      metrics.recordRequest('inbound', downstream, status, durationMs / 1000, bytesIn, bytesOut);
      accessLog({ direction: 'inbound', protocol: 'http', downstream, upstream: service, method, path, status, outcome, bytesIn, bytesOut, durationMs });
    };
    if (!peer) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('RBAC: access denied');
      finish(403, 'deny', 0, 0);
      return;
    }
    const decision = this.o.intentions.request(downstream, { method, path, headers: req.headers });
    if (!decision.allowed) {
      metrics.intentionDenials.inc({ downstream, layer: 'l7' });
      logger.info({ downstream, method, path, reason: decision.reason }, 'inbound request denied by intentions');
      // Envoy's RBAC filter answers a denied request 403 with this body; clients of Consul meshes see the same.
      req.resume();
      res.writeHead(403, { 'content-type': 'text/plain' }).end('RBAC: access denied');
      finish(403, 'deny', 0, 0);
      return;
    }
    const headers = copyRequestHeaders(req.headers);
    // Envoy's XFCC for the app: who called (URI) and who we are (By).
    headers['x-forwarded-client-cert'] = this.xfcc(peer);
    let bytesIn = 0;
    let bytesOut = 0;
    // A request without a body (most) needs no listener per request to count it.
    if (hasBody(req.headers)) req.on('data', (c: Buffer) => (bytesIn += c.length));
    const replayable = isReplayable(method, req.headers);
    if (replayable) req.resume();
    this.toApp(req, res, { method, path, headers, replayable, downstream }, (status, outcome) => finish(status, outcome, bytesIn, bytesOut), (n) => (bytesOut += n));
  }

  /**
   * Sends one request to the app over the kept-connection pool. The app may close a kept connection just as a request
   * goes out on it (its idle timeout): the request is then reset unanswered and the app never saw it. Like Go's HTTP
   * client (net/http persistConn.shouldRetryRequest: a reused connection, an idempotent request without a body), a
   * replayable request is sent again — each failed kept connection is dropped, so this ends on a new connection.
   */
  private toApp(
    req: IncomingMessage, res: ServerResponse, r: { method: string; path: string; headers: ReturnType<typeof copyRequestHeaders>; replayable: boolean; downstream: string },
    finish: (status: number, outcome: string) => void, countOut: (bytes: number) => void,
  ): void {
    const { logger } = this.o;
    const { method, path, headers, downstream } = r;
    const up = httpRequest({ host: this.o.localAddress, port: this.o.localPort, method, path, headers, agent: this.appAgent });
    let answered = false;
    up.on('response', (upRes) => {
      answered = true;
      res.writeHead(upRes.statusCode ?? 502, copyResponseHeaders(upRes.headers));
      // A declared length is what a complete answer carried ('end' comes only then) — except where the length
      // describes a body that is not sent (HEAD, 304); chunked answers are counted as they pass.
      const declared = upRes.headers['content-length'];
      const counted = declared !== undefined && method !== 'HEAD' && upRes.statusCode !== 304 ? Number(declared) : 0;
      if (declared === undefined) upRes.on('data', (c: Buffer) => countOut(c.length));
      relayAnswer(upRes, res, () => finish(upRes.statusCode ?? 502, 'downstream_closed'));
      upRes.once('end', () => {
        if (counted > 0) countOut(counted);
        finish(upRes.statusCode ?? 502, 'allow');
      });
    });
    up.on('error', (err: NodeJS.ErrnoException) => {
      if (answered && res.destroyed) return; // the caller left mid-answer: relayAnswer closed the app's side and reported it
      if (r.replayable && up.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        logger.debug({ err: err.message, downstream, path }, 'the app closed a kept connection under the request; sending it again');
        this.toApp(req, res, r, finish, countOut);
        return;
      }
      logger.warn({ err: err.message, downstream, path }, 'local app request failed');
      if (!res.headersSent) res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream connect error or disconnect/reset before headers');
      else res.destroy();
      finish(503, 'error');
    });
    if (r.replayable) up.end();
    else req.pipe(up);
  }

  /** One HTTP/2-bound request (http2/grpc service): the intention per request, then h2c to the app. */
  private async serveH2(down: Downstream, peer: SpiffeService | undefined): Promise<void> {
    const { metrics, accessLog, service, logger } = this.o;
    const started = performance.now();
    const downstream = peer?.service ?? 'unknown';
    const { method, path } = down;
    const finish = (status: number, outcome: string, bytesIn: number, bytesOut: number): void => {
      const durationMs = performance.now() - started;
      metrics.recordRequest('inbound', downstream, status, durationMs / 1000, bytesIn, bytesOut);
      accessLog({ direction: 'inbound', protocol: 'http', downstream, upstream: service, method, path, status, outcome, bytesIn, bytesOut, durationMs });
    };
    const decision = peer ? this.o.intentions.request(downstream, { method, path, headers: down.headers }) : { allowed: false, reason: 'no peer identity' };
    if (!decision.allowed) {
      metrics.intentionDenials.inc({ downstream, layer: 'l7' });
      logger.info({ downstream, method, path, reason: decision.reason }, 'inbound request denied by intentions');
      // Envoy's RBAC filter: 403 "RBAC: access denied"; for a gRPC call its local reply carries PERMISSION_DENIED.
      down.localReply(403, 'RBAC: access denied');
      finish(403, 'deny', 0, 0);
      return;
    }
    const headers = h2RequestHeaders(down.headers, { method, path, authority: down.authority || this.appAuthority(), scheme: 'http' });
    headers['x-forwarded-client-cert'] = this.xfcc(peer!);
    let session = this.appSessions.ready('app');
    if (!session) {
      try {
        // noDelay as on every other hop: a small frame must not wait for the app's delayed ACK.
        const connection = (): Socket => netConnect({ host: this.o.localAddress, port: this.o.localPort, noDelay: true });
        session = await this.appSessions.get('app', () => openSession(`http://${this.appAuthority()}`, { createConnection: connection }, this.o.localConnectTimeoutMs));
      } catch (err) {
        logger.warn({ err: (err as Error).message, downstream, path }, 'local app HTTP/2 connect failed');
        down.localReply(503, 'upstream connect error or disconnect/reset before headers');
        finish(503, 'error', 0, 0);
        return;
      }
    }
    const r = await down.relay(session, headers, 0);
    finish(r.status, r.outcome, r.bytesIn, r.bytesOut);
  }

  private appAuthority(): string {
    const host = this.o.localAddress.includes(':') ? `[${this.o.localAddress}]` : this.o.localAddress;
    return `${host}:${this.o.localPort}`;
  }
}

/** RFC 9110 §9.2.2's idempotent methods. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** An idempotent request without a body: sending it twice is safe (nothing of it is read from the caller twice). */
function isReplayable(method: string, headers: IncomingHttpHeaders): boolean {
  if (!IDEMPOTENT.has(method)) return false;
  const length = headers['content-length'];
  return headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}
