/**
 * Upstream connection pools, one set per `http.serversTransports` entry (Traefik's roundtripper manager): an
 * UpstreamPool (upstream/, our HTTP/1.1 client) per server origin, kept alive across requests and, when the transport's configuration is unchanged,
 * across configuration reloads. `default@internal` is Traefik's default transport.
 */
import { readFileSync } from 'node:fs';
import { maxHeaderSize } from 'node:http';
import { Agent } from 'undici';
import type { ConnectionOptions } from 'node:tls';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream/pool.ts';
import { H2Pool } from './upstream/h2-pool.ts';
import { AlpnDispatcher } from './upstream/alpn.ts';
import type { UpstreamDispatcher } from './upstream/types.ts';
import { type ServersTransportConfig, serversTransportSchema, SERVICE_DEFAULTS } from './schema.ts';
import { Errors } from '../../lib/errors.ts';
import { certUriMatches, uriSans } from '../../lib/spiffe.ts';
import { peerSanProblem } from './upstream/peer-sans.ts';
import { spiffeAuthorizer } from '../spiffe/authorize.ts';
import type { Svid, SvidSource } from '../spiffe/source.ts';
import { spiffeTlsOptions } from '../spiffe/tls.ts';
import { resolveTlsOptions } from '../entrypoints/tls-options.ts';

export const DEFAULT_TRANSPORT = 'default@internal';

export class ServersTransport {
  readonly name: string;
  readonly config: ServersTransportConfig;
  /** Response-header timeout in ms (0: none), applied per request so it can be told from a dial timeout. */
  readonly responseHeaderTimeout: number;
  private readonly pools = new Map<string, UpstreamPool>();
  /** HTTP/2 (`h2c://` servers) and ALPN-choosing (`https://` unless disableHTTP2) dispatchers, by origin. */
  private readonly others = new Map<string, H2Pool | AlpnDispatcher>();
  private readonly poolOptions: UpstreamPoolOptions;
  private checkAgent: Agent | undefined;

  constructor(name: string, config: ServersTransportConfig, svid?: Svid) {
    this.name = name;
    this.config = config;
    const timeouts = config.forwardingTimeouts;
    this.responseHeaderTimeout = timeouts?.responseHeaderTimeout ?? 0;
    const tls = config.spiffe ? spiffeTransportTls(name, config, svid) : classicTls(config);
    applyProtocolBounds(name, config, tls);
    this.poolOptions = {
      connectTimeoutMs: timeouts?.dialTimeout ?? SERVICE_DEFAULTS.dialTimeout,
      headersTimeoutMs: this.responseHeaderTimeout,
      idleTimeoutMs: timeouts?.idleConnTimeout ?? SERVICE_DEFAULTS.idleConnTimeout,
      // Go's Transport: 0 means its DefaultMaxIdleConnsPerHost (2), a negative value keeps no idle connection.
      maxIdle: config.maxIdleConnsPerHost !== 0 ? config.maxIdleConnsPerHost : 2,
      maxHeaderSize,
      tls,
    };
  }

  /** The keep-alive pool for one origin (`http://10.0.0.1:8080`); created on first use. */
  pool(origin: string): UpstreamPool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new UpstreamPool(origin, this.poolOptions);
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * The dispatcher for one server URL: `h2c://` speaks HTTP/2 with prior knowledge, `https://` lets ALPN choose h2
   * or HTTP/1.1 unless `disableHTTP2`, `http://` is the HTTP/1.1 pool (the common case, unchanged).
   */
  dispatcher(url: URL): UpstreamDispatcher {
    if (url.protocol === 'http:' || (url.protocol === 'https:' && this.config.disableHTTP2 === true)) return this.pool(url.origin);
    const key = `${url.protocol}//${url.host}`;
    let found = this.others.get(key);
    if (found !== undefined) return found;
    const { connectTimeoutMs, headersTimeoutMs, idleTimeoutMs, tls } = this.poolOptions;
    const h2Options = { connectTimeoutMs, headersTimeoutMs, idleTimeoutMs, ...(tls !== undefined ? { tls } : {}) };
    if (url.protocol === 'h2c:') found = new H2Pool(`http://${url.host}`, h2Options);
    else if (url.protocol === 'https:') {
      const origin = `https://${url.host}`;
      found = new AlpnDispatcher(this.pool(origin), tls ?? {}, connectTimeoutMs, (socket) => new H2Pool(origin, h2Options, socket));
    } else throw Errors.invalidConfig(`servers.url "${url.href}": scheme ${url.protocol.slice(0, -1)} is not http, https or h2c`);
    this.others.set(key, found);
    return found;
  }

  /** A separate agent for health checks so probes never queue behind traffic. */
  healthCheckAgent(): Agent {
    // Probes are not on the request path: undici, with the same dial, idle and TLS settings as the pools.
    const { connectTimeoutMs, idleTimeoutMs, tls } = this.poolOptions;
    return (this.checkAgent ??= new Agent({
      connections: 2,
      pipelining: 1,
      connectTimeout: connectTimeoutMs,
      keepAliveTimeout: Math.max(1, idleTimeoutMs),
      keepAliveMaxTimeout: Math.max(1, idleTimeoutMs),
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: tls as Agent.Options['connect'],
    }));
  }

  /** Lets requests in flight finish (up to `graceMs`), then destroys what is left. */
  async close(graceMs = 1000): Promise<void> {
    const all: Promise<void>[] = [];
    for (const pool of this.pools.values()) all.push(closeWithin(pool, graceMs));
    for (const other of this.others.values()) all.push(closeWithin(other, graceMs));
    this.others.clear();
    if (this.checkAgent) all.push(closeWithin(this.checkAgent, graceMs));
    this.pools.clear();
    this.checkAgent = undefined;
    await Promise.allSettled(all);
  }
}

/** TLS for a transport configured with certificates, roots and peerCertURI (Traefik's createTLSConfig). */
/**
 * Traefik v3.7 serversTransport `minVersion`, `maxVersion` and `cipherSuites`: the Go names of tls.options, mapped the
 * same way (TLS 1.3 suites are accepted and not configurable, as in Go's crypto/tls).
 */
function applyProtocolBounds(name: string, config: ServersTransportConfig, tls: ConnectionOptions): void {
  if (config.minVersion === undefined && config.maxVersion === undefined && config.cipherSuites === undefined) return;
  const bounds = resolveTlsOptions(name, config, ['http/1.1'], `http.serversTransports.${name}`);
  tls.minVersion = bounds.minVersion;
  tls.maxVersion = bounds.maxVersion;
  if (bounds.ciphers !== undefined) tls.ciphers = bounds.ciphers;
}

function classicTls(config: ServersTransportConfig): ConnectionOptions {
  const peerCertURI = config.peerCertURI !== undefined && config.peerCertURI !== '' ? config.peerCertURI : undefined;
  const peerCertSANs = config.peerCertSANs ?? [];
  const identity = peerCertURI !== undefined || peerCertSANs.length > 0;
  // Traefik's VerifyPeerCertificate with peerCertURI or peerCertSANs (pkg/tls): the chain is always verified against
  // rootCAs — `insecureSkipVerify`, which Consul Connect transports set, only turns off the host-name check — and the
  // identity is the certificate's first URI SAN (a SPIFFE ID) compared as certUriMatches does, and one of the
  // configured SANs (upstream/peer-sans.ts) instead of the server name.
  const tls: ConnectionOptions = { rejectUnauthorized: identity || !config.insecureSkipVerify };
  if (config.serverName) tls.servername = config.serverName;
  if (identity) {
    tls.checkServerIdentity = (_host, cert) => {
      if (peerCertURI !== undefined) {
        const first = uriSans(cert.subjectaltname)[0];
        if (first === undefined || !certUriMatches(first, peerCertURI)) return new Error(`peer certificate URI SAN ${first ?? '(none)'} does not match ${peerCertURI}`);
      }
      return peerCertSANs.length > 0 ? peerSanProblem(cert, peerCertSANs) : undefined;
    };
  }
  if (config.rootCAs?.length) tls.ca = config.rootCAs.map((ca) => pemOrFile(ca, 'rootCAs'));
  const cert = config.certificates?.[0];
  if (cert) {
    tls.cert = pemOrFile(cert.certFile, 'certificates.certFile');
    tls.key = pemOrFile(cert.keyFile, 'certificates.keyFile');
  }
  return tls;
}

/**
 * TLS for a transport with `spiffe` (Traefik's transport.go): refused beside the TLS fields, as Traefik does, and
 * when no SVID source is configured or none has arrived yet.
 */
function spiffeTransportTls(name: string, config: ServersTransportConfig, svid: Svid | undefined): ConnectionOptions {
  if ((config.rootCAs?.length ?? 0) > 0 || (config.certificates?.length ?? 0) > 0 || (config.peerCertURI ?? '') !== '' || (config.peerCertSANs?.length ?? 0) > 0) {
    throw Errors.invalidConfig(`serversTransport "${name}": TLS and SPIFFE configuration cannot be defined at the same time`);
  }
  if (svid === undefined) throw Errors.invalidConfig(`serversTransport "${name}": SPIFFE is enabled for this transport, but not configured (static spiffe.workloadAPIAddr or spiffe.mesh)`);
  const tls = spiffeTlsOptions(svid, spiffeAuthorizer(config.spiffe!, `serversTransports.${name}.spiffe`));
  if (config.serverName) tls.servername = config.serverName;
  return tls;
}

function closeWithin(dispatcher: UpstreamPool | Agent | H2Pool | AlpnDispatcher, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => { dispatcher.destroy().then(resolve, resolve); }, graceMs);
  });
  return Promise.race([dispatcher.close().catch(() => dispatcher.destroy()), forced]).finally(() => clearTimeout(timer));
}

function pemOrFile(value: string, field: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw Errors.invalidConfig(`serversTransport ${field}: cannot read "${value}": ${(err as Error).message}`);
  }
}

/**
 * All transports of the running configuration. `update` keeps a transport (and its warm pools) whose configuration
 * did not change and closes the ones that went away.
 */
export class TransportRegistry {
  private readonly transports = new Map<string, { json: string; transport: ServersTransport }>();
  private svidSource: SvidSource | undefined;

  constructor(configs: Record<string, unknown> = {}, svidSource?: SvidSource) {
    this.svidSource = svidSource;
    // A new SVID rebuilds the SPIFFE transports at the next update (their fingerprint changes), and with them the
    // services that use them (runtime/service-manager.ts keys on fingerprint()): the gateway re-applies its
    // configuration on every new SVID (runtime/gateway.ts), so new connections present it.
    this.update(configs);
  }

  /** The SVID SPIFFE transports present now (TCP ones read it per connection: tcp/services.ts). */
  currentSvid(): Svid | undefined {
    return this.svidSource?.current();
  }

  update(configs: Record<string, unknown>): void {
    const next = new Map<string, { json: string; transport: ServersTransport }>();
    const entries: [string, unknown][] = Object.entries(configs);
    if (!(DEFAULT_TRANSPORT in configs)) entries.push([DEFAULT_TRANSPORT, {}]);
    const svid = this.svidSource?.current();
    for (const [name, raw] of entries) {
      const usesSpiffe = typeof raw === 'object' && raw !== null && 'spiffe' in raw;
      const json = JSON.stringify(raw) + (usesSpiffe && svid ? `\0${svid.certPem}${svid.bundle.join('')}` : '');
      const existing = this.transports.get(name);
      if (existing && existing.json === json) {
        next.set(name, existing);
        continue;
      }
      const config = serversTransportSchema.parse(raw);
      next.set(name, { json, transport: new ServersTransport(name, config, svid) });
    }
    for (const [name, entry] of this.transports) {
      if (next.get(name) !== entry) void entry.transport.close();
    }
    this.transports.clear();
    for (const [name, entry] of next) this.transports.set(name, entry);
  }

  /** A transport by name; unqualified names are looked up as given, then with `@file`. */
  get(name?: string): ServersTransport {
    const key = name ?? DEFAULT_TRANSPORT;
    const found = this.entry(key);
    if (!found) throw Errors.invalidConfig(`serversTransport "${key}" does not exist`);
    return found.transport;
  }

  /** What the transport `get(name)` returns was built from (its block, and the SVID of a SPIFFE one); '' if none. */
  fingerprint(name?: string): string {
    return this.entry(name ?? DEFAULT_TRANSPORT)?.json ?? '';
  }

  private entry(key: string): { json: string; transport: ServersTransport } | undefined {
    return this.transports.get(key) ?? this.transports.get(`${key}@file`)
      ?? (key.includes('@') ? this.transports.get(key.slice(0, key.indexOf('@'))) : undefined);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.transports.values()].map((e) => e.transport.close()));
    this.transports.clear();
  }
}
