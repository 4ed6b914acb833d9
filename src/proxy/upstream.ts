/**
 * One upstream: the traffic our app sends to a destination service, independent of how it arrived. `handleConnection`
 * takes an accepted plain socket — from this upstream's own listener (listener.ts) or, later, from a transparent
 * listener that mapped the connection's original destination to this upstream — and serves it by the destination's
 * protocol: `tcp` joins it to an mTLS connection to a healthy instance's sidecar; `http`/`http2`/`grpc` parses
 * HTTP/1.1 requests and routes each through the compiled discovery chain (chain.ts): route, split, resolver target,
 * failover target when the primary has no healthy instance, request timeout and retries. The chain is followed with a
 * blocking query, so config entry changes apply to the next request.
 */
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { constants as h2c, createServer as createH2Server, type ClientHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { ConsulClient } from '../api/client.ts';
import type { CompiledDiscoveryChain, DiscoveryTarget } from '../api/types.ts';
import { readBodyLimited } from '../lib/http/body.ts';
import type { Logger } from '../lib/logger.ts';
import type { AccessLog } from './access-log.ts';
import { relayAnswer } from './answer.ts';
import { fixedPlan, planConnection, planRequest, type RoutePlan } from './chain.ts';
import { ConnectFailure, dialPeer } from './dialer.ts';
import { NOT_KNOWN, type Endpoint, type EndpointSet } from './endpoints.ts';
import { h1Downstream, streamDownstream, type Downstream } from './h2/forward.ts';
import { h2RequestHeaders } from './h2/headers.ts';
import { withPrefix } from './h2/prefixed.ts';
import { openSession, SessionPool } from './h2/sessions.ts';
import { copyRequestHeaders, copyResponseHeaders, isH2Protocol, isHttpLike } from './http-forward.ts';
import type { ProxyIdentity } from './identity.ts';
import type { ProxyMetrics } from './metrics.ts';
import { PeerAgent } from './peer-agent.ts';
import { joinSockets } from './pipe.ts';

export interface UpstreamSpec {
  /** The destination service (Upstreams[].DestinationName). */
  readonly destinationName: string;
  readonly datacenter?: string | undefined;
  /** Upstreams[].Config.protocol: overrides the chain's protocol (Consul compiles the chain with it). */
  readonly protocol?: string | undefined;
  /** Upstreams[].Config.connect_timeout_ms: overrides the resolver's ConnectTimeout. */
  readonly connectTimeoutMs?: number | undefined;
  readonly localBindAddress: string;
  readonly localBindPort: number;
}

export interface UpstreamDeps {
  readonly client: ConsulClient;
  readonly identity: ProxyIdentity;
  readonly endpoints: EndpointSet;
  readonly metrics: ProxyMetrics;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
  /** Our own service: the downstream in access logs. */
  readonly service: string;
}

/** Request bodies up to this size are held so a retry can resend them; larger ones stream and are not retried. */
const RETRY_BUFFER_LIMIT = 1 << 20;
const EMPTY = Buffer.alloc(0);
/** Attempts of an L4 connection across endpoints when a connect fails (nothing was sent yet). */
const TCP_CONNECT_ATTEMPTS = 3;

/** A target of the discovery chain and the endpoint picked for it. */
interface Picked { target: DiscoveryTarget; endpoint: Endpoint }
/** The HTTP/2 client connection preface (RFC 9113 §3.4): how an h2c (prior knowledge) app connection starts. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** How long start() waits for the first discovery chain (a non-blocking read) before it lets the listener open. */
const FIRST_CHAIN_WAIT_MS = 10_000;

export class Upstream {
  readonly spec: UpstreamSpec;
  private readonly d: UpstreamDeps;
  private readonly abort = new AbortController();
  private chain: CompiledDiscoveryChain | undefined;
  /** The chain's plan when it is the same for every request (fixedPlan), computed once per chain version. */
  private plan: RoutePlan | undefined;
  private readonly http = createHttpServer({ keepAliveTimeout: 60_000 });
  private readonly agents = new Map<string, PeerAgent>();
  private agentGeneration = 0;
  private readonly sockets = new Set<Socket>();
  /** h2c from the app, for http2/grpc upstreams. */
  private readonly h2 = createH2Server();
  /** HTTP/2 sessions over mTLS to peer sidecars, one per target and endpoint under the current TLS generation. */
  private readonly peerSessions: SessionPool;
  private sessionGeneration = 0;

  constructor(spec: UpstreamSpec, deps: UpstreamDeps) {
    this.spec = spec;
    this.d = deps;
    this.http.on('request', (req, res) => {
      if (isH2Protocol(this.protocol)) void this.serveH2(h1Downstream(req, res));
      else void this.onRequest(req, res);
    });
    this.http.on('clientError', (err, socket) => socket.destroy(err));
    this.peerSessions = new SessionPool((err, key) => deps.logger.debug({ err: err.message, upstream: this.name, key }, 'peer HTTP/2 session failed'));
    this.h2.on('session', (session) => session.on('error', () => {}));
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      stream.on('error', () => {});
      void this.serveH2(streamDownstream(stream, headers, (flags & h2c.NGHTTP2_FLAG_END_STREAM) !== 0));
    });
  }

  get name(): string {
    return this.spec.destinationName;
  }

  get protocol(): string {
    return this.chain?.Protocol ?? this.spec.protocol ?? 'tcp';
  }

  /**
   * Follows the destination's discovery chain; resolves once the first one is in, or after `firstChainWaitMs`
   * without one. The bound matters: callers open the listener after this and apply registration edits one at a
   * time, so a chain the server cannot answer (a datacenter it has no path to, a chain that does not compile) must
   * not hold back every later edit. Until a chain arrives the listener refuses connections (no route), as Envoy
   * resets connections to a cluster it has no configuration for; the watch keeps trying meanwhile.
   */
  start(firstChainWaitMs = FIRST_CHAIN_WAIT_MS): Promise<void> {
    let loaded!: () => void;
    const ready = new Promise<void>((r) => (loaded = r));
    const timer = setTimeout(() => {
      this.d.logger.warn({ upstream: this.name, waitedMs: firstChainWaitMs }, 'no discovery chain yet; opening the upstream without one (connections are refused until it arrives)');
      loaded();
    }, firstChainWaitMs);
    timer.unref();
    const overrides = {
      ...(this.spec.protocol ? { OverrideProtocol: this.spec.protocol } : {}),
      ...(this.spec.connectTimeoutMs ? { OverrideConnectTimeout: `${this.spec.connectTimeoutMs}ms` } : {}),
    };
    const hasOverrides = Object.keys(overrides).length > 0;
    this.d.client.watchEach(
      (q) => this.d.client.configEntries.discoveryChain(this.spec.destinationName, {
        ...q, ...(hasOverrides ? { overrides } : {}), ...(this.spec.datacenter ? { datacenter: this.spec.datacenter } : {}),
      }),
      (r) => {
        this.chain = r.value.Chain;
        try {
          this.plan = fixedPlan(this.chain);
        } catch {
          // a chain without a resolver: route() walks it per request and reports the problem there
          this.plan = undefined;
        }
        this.d.logger.debug({ upstream: this.name, protocol: this.chain.Protocol, start: this.chain.StartNode }, 'discovery chain updated');
        clearTimeout(timer);
        loaded();
      },
      { signal: this.abort.signal, onError: (err, info) => this.d.logger.warn({ err, upstream: this.name, attempt: info.attempt }, 'watching the discovery chain failed') },
    ).done.catch((err: unknown) => this.d.logger.error({ err, upstream: this.name }, 'discovery chain watch stopped'));
    this.abort.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    return ready;
  }

  stop(): void {
    this.abort.abort();
    for (const s of this.sockets) s.destroy();
    this.http.close();
    this.h2.close();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
    this.peerSessions.destroy();
  }

  /** Serves one accepted connection from the app. */
  handleConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.setNoDelay(true);
    if (isH2Protocol(this.protocol)) {
      // Consul's upstream listener for http2/grpc takes both h2c (prior knowledge) and HTTP/1.1 from the app
      // (Envoy's codec AUTO): the first bytes tell which.
      socket.once('data', (chunk: Buffer) => {
        socket.pause();
        const n = Math.min(chunk.length, H2_PREFACE.length);
        if (chunk.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
          this.h2.emit('connection', withPrefix(socket, chunk));
          return;
        }
        socket.unshift(chunk);
        this.http.emit('connection', socket);
        socket.resume();
      });
      return;
    }
    if (isHttpLike(this.protocol)) {
      this.http.emit('connection', socket);
      return;
    }
    void this.handleTcp(socket);
  }

  private async handleTcp(socket: Socket): Promise<void> {
    const { metrics, accessLog, logger } = this.d;
    const started = performance.now();
    const label = { direction: 'outbound' as const, service: this.name };
    socket.pause();
    socket.on('error', () => socket.destroy());
    let plan: RoutePlan;
    try {
      plan = planConnection(this.requireChain());
    } catch (err) {
      logger.warn({ err, upstream: this.name }, 'no route for connection');
      socket.destroy();
      return;
    }
    const tried = new Set<string>();
    for (let attempt = 0; attempt < TCP_CONNECT_ATTEMPTS; attempt++) {
      const picked = await this.pickEndpoint(plan.targets, tried);
      if (!picked) break;
      tried.add(picked.endpoint.key);
      try {
        const peer = await dialPeer({
          endpoint: picked.endpoint, expectedService: picked.target.Service, sni: picked.target.SNI, tls: this.d.identity.current(), timeoutMs: plan.connectTimeoutMs,
        });
        if (socket.destroyed) {
          peer.destroy();
          return;
        }
        peer.setNoDelay(true);
        metrics.connections.inc(label);
        metrics.activeConnections.inc(label);
        const pipe = joinSockets(socket, peer);
        socket.resume();
        const { aToB, bToA } = await pipe;
        metrics.activeConnections.dec(label);
        metrics.bytes.inc({ ...label, flow: 'tx' }, aToB);
        metrics.bytes.inc({ ...label, flow: 'rx' }, bToA);
        const durationMs = performance.now() - started;
        metrics.connectionDuration.observe(label, durationMs / 1000);
        accessLog({
          direction: 'outbound', protocol: 'tcp', downstream: this.d.service, upstream: picked.target.Service, outcome: 'allow', bytesIn: aToB, bytesOut: bToA,
          durationMs, endpoint: picked.endpoint.key,
        });
        return;
      } catch (err) {
        this.connectFailed(err, picked.endpoint);
      }
    }
    accessLog({ direction: 'outbound', protocol: 'tcp', downstream: this.d.service, upstream: this.name, outcome: 'no_healthy_upstream', bytesIn: 0, bytesOut: 0, durationMs: performance.now() - started });
    socket.destroy();
  }

  private connectFailed(err: unknown, endpoint: Endpoint): void {
    const reason = err instanceof ConnectFailure ? err.reason : 'error';
    if (reason === 'tls' || reason === 'identity') this.d.metrics.tlsFailures.inc({ direction: 'outbound', service: this.name });
    this.d.metrics.upstreamFailures.inc({ service: this.name, reason });
    this.d.logger.info({ upstream: this.name, endpoint: endpoint.key, reason, err: (err as Error).message }, 'upstream connect failed');
  }

  private requireChain(): CompiledDiscoveryChain {
    if (!this.chain) throw new Error(`no discovery chain for ${this.name} yet`);
    return this.chain;
  }

  /** The first target (in failover order) with a healthy endpoint, and one of its endpoints. */
  private async pickEndpoint(targets: readonly DiscoveryTarget[], exclude: ReadonlySet<string>): Promise<Picked | undefined> {
    for (const target of targets) {
      const endpoint = await this.d.endpoints.pick(target, exclude);
      if (endpoint) return { target, endpoint };
    }
    return undefined;
  }

  /**
   * pickEndpoint() without a promise when every target it has to look at is known — every request after the
   * first to a target; NOT_KNOWN sends the caller to pickEndpoint(). Same order and round-robin as pickEndpoint().
   */
  private pickKnownEndpoint(targets: readonly DiscoveryTarget[], exclude: ReadonlySet<string>): Picked | undefined | typeof NOT_KNOWN {
    for (const target of targets) {
      const endpoint = this.d.endpoints.pickKnown(target, exclude);
      if (endpoint === NOT_KNOWN) return NOT_KNOWN;
      if (endpoint) return { target, endpoint };
    }
    return undefined;
  }

  /** The pool for an endpoint under the current TLS identity; pools of older identities are retired. */
  private agentFor(target: DiscoveryTarget, endpoint: Endpoint, connectTimeoutMs: number): PeerAgent {
    const tls = this.d.identity.current();
    if (tls.generation !== this.agentGeneration) {
      for (const a of this.agents.values()) a.retire();
      this.agents.clear();
      this.agentGeneration = tls.generation;
    }
    const key = `${target.ID}|${endpoint.key}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new PeerAgent({ endpoint, expectedService: target.Service, sni: target.SNI, tls });
      this.agents.set(key, agent);
    }
    agent.connectTimeoutMs = connectTimeoutMs;
    return agent;
  }

  /** The chain's plan for a request and the path to send (the route's prefix rewrite applied); throws without a route. */
  private route(method: string, url: string, headers: IncomingHttpHeaders): { plan: RoutePlan; path: string } {
    if (this.plan) return { plan: this.plan, path: url };
    const q = url.indexOf('?');
    const plan = planRequest(this.requireChain(), { method, path: q === -1 ? url : url.slice(0, q), query: q === -1 ? '' : url.slice(q + 1), headers });
    const rewrite = plan.prefixRewrite;
    return { plan, path: rewrite && url.startsWith(rewrite.prefix) ? rewrite.replacement + url.slice(rewrite.prefix.length) : url };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { metrics, accessLog, logger } = this.d;
    const started = performance.now();
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    let status = 0;
    let outcome = 'allow';
    let endpointKey: string | undefined;
    let upstreamService = this.name;
    let bytesIn = 0;
    let bytesOut = 0;
    const done = (): void => {
      const durationMs = performance.now() - started;
      metrics.recordRequest('outbound', this.name, status, durationMs / 1000, bytesOut, bytesIn);
      accessLog({
        direction: 'outbound', protocol: 'http', downstream: this.d.service, upstream: upstreamService, method, path: url, status, outcome, bytesIn, bytesOut, durationMs,
        endpoint: endpointKey,
      });
    };
    const fail = (code: number, body: string, why: string): void => {
      status = code;
      outcome = why;
      if (!res.headersSent) res.writeHead(code, { 'content-type': 'text/plain' }).end(body);
      else res.destroy();
      done();
    };

    let plan: RoutePlan;
    let path: string;
    try {
      ({ plan, path } = this.route(method, url, req.headers));
    } catch (err) {
      logger.warn({ err, upstream: this.name }, 'no route for request');
      req.resume();
      fail(503, 'no healthy upstream', 'no_route');
      return;
    }
    // A body we can hold is held, so a retry can resend it; GET and friends usually have none.
    let body: Buffer | undefined;
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!chunked && (length === undefined || length === '0')) {
      // No body (HTTP/1.1 without length or chunking has none): nothing to read, and a retry can resend it.
      body = EMPTY;
      req.resume();
    } else if (!chunked && Number(length) <= RETRY_BUFFER_LIMIT) {
      body = (await readBodyLimited(req, RETRY_BUFFER_LIMIT)).body;
      bytesIn = body.length;
    } else {
      req.on('data', (c: Buffer) => (bytesIn += c.length));
    }
    const retries = body === undefined ? 0 : plan.numRetries > 0 ? plan.numRetries : plan.retryOnConnectFailure || plan.retryOnStatusCodes.length > 0 ? 1 : 0;
    const headers = copyRequestHeaders(req.headers);
    const deadline = plan.requestTimeoutMs > 0 ? started + plan.requestTimeoutMs : Infinity;
    const tried = new Set<string>();
    // One extra try for a failed connect even without a retry policy: no byte of the request has left yet.
    let connectRetryLeft = 1;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const known = this.pickKnownEndpoint(plan.targets, tried);
      const picked = known === NOT_KNOWN ? await this.pickEndpoint(plan.targets, tried) : known;
      if (!picked) {
        fail(503, 'no healthy upstream', 'no_healthy_upstream');
        return;
      }
      tried.add(picked.endpoint.key);
      endpointKey = picked.endpoint.key;
      upstreamService = picked.target.Service;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        fail(504, 'upstream request timeout', 'timeout');
        return;
      }
      const result = await this.attempt(req, picked.target, picked.endpoint, plan, method, path, headers, body, remaining);
      if (result.kind === 'response') {
        const upRes = result.response;
        const code = upRes.statusCode ?? 502;
        if (attempt < retries && plan.retryOnStatusCodes.includes(code)) {
          upRes.resume();
          continue;
        }
        status = code;
        res.writeHead(code, copyResponseHeaders(upRes.headers));
        upRes.on('data', (c: Buffer) => (bytesOut += c.length));
        relayAnswer(upRes, res, () => {
          outcome = 'downstream_closed';
          done();
        });
        upRes.once('end', done);
        upRes.once('error', () => {
          if (res.destroyed) return; // the caller left first: relayAnswer destroyed the answer and reported it
          outcome = 'reset';
          res.destroy();
          done();
        });
        return;
      }
      if (result.kind === 'timeout') {
        fail(504, 'upstream request timeout', 'timeout');
        return;
      }
      this.connectFailed(result.error, picked.endpoint);
      if (result.kind === 'connect-failure' && body !== undefined) {
        if (plan.retryOnConnectFailure || retries > 0) continue;
        if (connectRetryLeft-- > 0) {
          attempt--;
          continue;
        }
      }
      fail(503, 'upstream connect error or disconnect/reset before headers', result.kind);
      return;
    }
    fail(503, 'upstream connect error or disconnect/reset before headers', 'retries_exhausted');
  }

  private attempt(
    req: IncomingMessage, target: DiscoveryTarget, endpoint: Endpoint, plan: RoutePlan, method: string, path: string,
    headers: ReturnType<typeof copyRequestHeaders>, body: Buffer | undefined, timeoutMs: number,
  ): Promise<{ kind: 'response'; response: IncomingMessage } | { kind: 'connect-failure' | 'reset' | 'timeout'; error: unknown }> {
    return new Promise((resolve) => {
      const agent = this.agentFor(target, endpoint, plan.connectTimeoutMs);
      const up = httpRequest({ method, path, headers, agent, host: target.SNI, setHost: false });
      let timer: NodeJS.Timeout | undefined;
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          up.destroy();
          resolve({ kind: 'timeout', error: new Error('request timeout') });
        }, timeoutMs);
      }
      up.once('response', (response) => {
        clearTimeout(timer);
        resolve({ kind: 'response', response });
      });
      up.once('error', (error) => {
        clearTimeout(timer);
        resolve({ kind: error instanceof ConnectFailure ? 'connect-failure' : 'reset', error });
      });
      if (body === EMPTY) up.end();
      else if (body !== undefined) up.end(body);
      else req.pipe(up);
    });
  }

  /**
   * One request of an http2/grpc upstream: routed through the discovery chain like an HTTP/1.1 one, then sent over a
   * shared HTTP/2 session to the chosen peer. A failed connect moves to another endpoint (nothing was sent); once
   * the request is on its way it is not retried — a stream cannot be replayed.
   */
  private async serveH2(down: Downstream): Promise<void> {
    const { metrics, accessLog, logger } = this.d;
    const started = performance.now();
    const { method } = down;
    let upstreamService = this.name;
    let endpointKey: string | undefined;
    const done = (status: number, outcome: string, bytesIn: number, bytesOut: number): void => {
      const durationMs = performance.now() - started;
      metrics.recordRequest('outbound', this.name, status, durationMs / 1000, bytesOut, bytesIn);
      accessLog({
        direction: 'outbound', protocol: 'http', downstream: this.d.service, upstream: upstreamService, method, path: down.path, status, outcome, bytesIn, bytesOut, durationMs,
        endpoint: endpointKey,
      });
    };
    const fail = (status: number, message: string, outcome: string): void => {
      down.localReply(status, message);
      done(status, outcome, 0, 0);
    };
    let plan: RoutePlan;
    let path: string;
    try {
      ({ plan, path } = this.route(method, down.path, down.headers));
    } catch (err) {
      logger.warn({ err, upstream: this.name }, 'no route for request');
      fail(503, 'no healthy upstream', 'no_route');
      return;
    }
    const deadline = plan.requestTimeoutMs > 0 ? started + plan.requestTimeoutMs : Infinity;
    const tried = new Set<string>();
    for (let attempt = 0; attempt < TCP_CONNECT_ATTEMPTS; attempt++) {
      const known = this.pickKnownEndpoint(plan.targets, tried);
      const picked = known === NOT_KNOWN ? await this.pickEndpoint(plan.targets, tried) : known;
      if (!picked) {
        fail(503, 'no healthy upstream', 'no_healthy_upstream');
        return;
      }
      tried.add(picked.endpoint.key);
      endpointKey = picked.endpoint.key;
      upstreamService = picked.target.Service;
      let session = this.readyPeerSession(picked.target, picked.endpoint);
      if (!session) {
        try {
          session = await this.peerSession(picked.target, picked.endpoint, plan.connectTimeoutMs);
        } catch (err) {
          this.connectFailed(err, picked.endpoint);
          continue;
        }
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        fail(504, 'upstream request timeout', 'timeout');
        return;
      }
      const headers = h2RequestHeaders(down.headers, { method, path, authority: down.authority || picked.target.SNI, scheme: 'https' });
      const r = await down.relay(session, headers, remaining);
      done(r.status, r.outcome, r.bytesIn, r.bytesOut);
      return;
    }
    fail(503, 'upstream connect error or disconnect/reset before headers', 'connect-failure');
  }

  /** peerSession()'s session when it is open under the current TLS identity, without a promise; else undefined. */
  private readyPeerSession(target: DiscoveryTarget, endpoint: Endpoint): ClientHttp2Session | undefined {
    if (this.d.identity.current().generation !== this.sessionGeneration) return undefined;
    return this.peerSessions.ready(`${target.ID}|${endpoint.key}`);
  }

  /** The HTTP/2 session to a peer under the current TLS identity; sessions of an older identity are retired. */
  private peerSession(target: DiscoveryTarget, endpoint: Endpoint, connectTimeoutMs: number): Promise<ClientHttp2Session> {
    const tls = this.d.identity.current();
    if (tls.generation !== this.sessionGeneration) {
      this.peerSessions.retire(() => false);
      this.sessionGeneration = tls.generation;
    }
    return this.peerSessions.get(`${target.ID}|${endpoint.key}`, async () => {
      const socket = await dialPeer({ endpoint, expectedService: target.Service, sni: target.SNI, tls, timeoutMs: connectTimeoutMs, alpn: ['h2'] });
      if (socket.alpnProtocol !== 'h2') {
        socket.destroy();
        throw new ConnectFailure('tls', `peer at ${endpoint.key} did not negotiate h2 (ALPN ${String(socket.alpnProtocol)})`);
      }
      socket.setNoDelay(true);
      return openSession(`https://${target.SNI || endpoint.host}`, { createConnection: () => socket });
    });
  }
}
