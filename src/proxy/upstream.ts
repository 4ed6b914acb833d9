/**
 * One upstream: the traffic our app sends to a destination service, independent of how it arrived. `handleConnection`
 * takes an accepted plain socket — from this upstream's own listener (listener.ts) or, later, from a transparent
 * listener that mapped the connection's original destination to this upstream — and serves it by the destination's
 * protocol: `tcp` joins it to an mTLS connection to a healthy instance's sidecar; `http`/`http2`/`grpc` parses
 * HTTP/1.1 requests and routes each through the compiled discovery chain (chain.ts): route, split, resolver target,
 * failover target when the primary has no healthy instance, request timeout and retries. The chain is followed with a
 * blocking query, so config entry changes apply to the next request.
 */
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConsulClient } from '../api/client.ts';
import type { CompiledDiscoveryChain, DiscoveryTarget } from '../api/types.ts';
import { readBodyLimited } from '../lib/http/body.ts';
import type { Logger } from '../lib/logger.ts';
import type { AccessLog } from './access-log.ts';
import { planConnection, planRequest, type RoutePlan } from './chain.ts';
import { ConnectFailure, dialPeer } from './dialer.ts';
import type { Endpoint, EndpointSet } from './endpoints.ts';
import { copyRequestHeaders, copyResponseHeaders, isHttpLike } from './http-forward.ts';
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

export class Upstream {
  readonly spec: UpstreamSpec;
  private readonly d: UpstreamDeps;
  private readonly abort = new AbortController();
  private chain: CompiledDiscoveryChain | undefined;
  private readonly http = createHttpServer({ keepAliveTimeout: 60_000 });
  private readonly agents = new Map<string, PeerAgent>();
  private agentGeneration = 0;
  private readonly sockets = new Set<Socket>();

  constructor(spec: UpstreamSpec, deps: UpstreamDeps) {
    this.spec = spec;
    this.d = deps;
    this.http.on('request', (req, res) => void this.onRequest(req, res));
    this.http.on('clientError', (err, socket) => socket.destroy(err));
  }

  get name(): string {
    return this.spec.destinationName;
  }

  get protocol(): string {
    return this.chain?.Protocol ?? this.spec.protocol ?? 'tcp';
  }

  /** Follows the destination's discovery chain; resolves once the first one is in. */
  start(): Promise<void> {
    let loaded!: () => void;
    const ready = new Promise<void>((r) => (loaded = r));
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
        this.d.logger.debug({ upstream: this.name, protocol: this.chain.Protocol, start: this.chain.StartNode }, 'discovery chain updated');
        loaded();
      },
      { signal: this.abort.signal, onError: (err, info) => this.d.logger.warn({ err, upstream: this.name, attempt: info.attempt }, 'watching the discovery chain failed') },
    ).done.catch((err: unknown) => this.d.logger.error({ err, upstream: this.name }, 'discovery chain watch stopped'));
    return ready;
  }

  stop(): void {
    this.abort.abort();
    for (const s of this.sockets) s.destroy();
    this.http.close();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }

  /** Serves one accepted connection from the app. */
  handleConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.setNoDelay(true);
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
  private async pickEndpoint(targets: readonly DiscoveryTarget[], exclude: ReadonlySet<string>): Promise<{ target: DiscoveryTarget; endpoint: Endpoint } | undefined> {
    for (const target of targets) {
      const endpoint = await this.d.endpoints.pick(target, exclude);
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

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { metrics, accessLog, logger } = this.d;
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
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
    try {
      plan = planRequest(this.requireChain(), { method, path: q === -1 ? url : url.slice(0, q), query: q === -1 ? '' : url.slice(q + 1), headers: req.headers });
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
    let path = url;
    if (plan.prefixRewrite && path.startsWith(plan.prefixRewrite.prefix)) path = plan.prefixRewrite.replacement + path.slice(plan.prefixRewrite.prefix.length);
    const headers = copyRequestHeaders(req.headers);
    const deadline = plan.requestTimeoutMs > 0 ? started + plan.requestTimeoutMs : Infinity;
    const tried = new Set<string>();
    // One extra try for a failed connect even without a retry policy: no byte of the request has left yet.
    let connectRetryLeft = 1;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const picked = await this.pickEndpoint(plan.targets, tried);
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
        upRes.pipe(res);
        upRes.once('end', done);
        upRes.once('error', () => {
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
}
