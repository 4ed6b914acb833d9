/**
 * TCP services (Traefik's pkg/server/service/tcp Manager): `loadBalancer` spreads connections over its servers by
 * weighted round robin (pkg/tcp WRRLoadBalancer), each forwarded as forward.ts does, with the PROXY header and
 * termination delay of the block or of its `serversTransport`; `weighted` spreads them over other TCP services.
 * A reference without `@` resolves in the provider of the service that makes it.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../../lib/logger.ts';
import { Errors } from '../../lib/errors.ts';
import { certUriMatches, uriSans } from '../../lib/spiffe.ts';
import { spiffeAuthorizer } from '../spiffe/authorize.ts';
import type { Svid } from '../spiffe/source.ts';
import { spiffeTlsOptions } from '../spiffe/tls.ts';
import { tcpServersTransportSchema, tcpServiceSchema, TCP_DEFAULT_TERMINATION_DELAY_MS, type TcpServersTransportConfig } from '../config/schema/tcp.ts';
import { qualifyIn } from '../config/merge.ts';
import { forwarder } from './forward.ts';
import type { TcpConnection, TcpHandler } from './types.ts';

/** Smooth weighted round robin (nginx's, which Traefik's WRR matches in distribution). */
export class WeightedRoundRobin<T> {
  private readonly items: Array<{ value: T; weight: number; current: number }> = [];

  add(value: T, weight: number): void {
    if (weight > 0) this.items.push({ value, weight, current: 0 });
  }

  get size(): number {
    return this.items.length;
  }

  next(): T | undefined {
    let best: { value: T; weight: number; current: number } | undefined;
    let total = 0;
    for (const item of this.items) {
      item.current += item.weight;
      total += item.weight;
      if (best === undefined || item.current > best.current) best = item;
    }
    if (best === undefined) return undefined;
    best.current -= total;
    return best.value;
  }
}

function pem(value: string, field: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw Errors.invalidConfig(`${field}: cannot read "${value}": ${(err as Error).message}`);
  }
}

/**
 * TLS with `spiffe` (Traefik's TLSClientConfig.Spiffe, as the HTTP transports: services/transport.ts): refused beside
 * the other certificate fields and without an SVID source; otherwise the options of the current SVID, rebuilt when
 * the mesh rotates it (new connections present the new one).
 */
function spiffeTls(name: string, config: TcpServersTransportConfig, svid: (() => Svid | undefined) | undefined): () => ConnectionOptions {
  const t = config.tls!;
  if ((t.rootCAs?.length ?? 0) > 0 || (t.certificates?.length ?? 0) > 0 || (t.peerCertURI ?? '') !== '') {
    throw Errors.invalidConfig(`tcp serversTransport "${name}": TLS and SPIFFE configuration cannot be defined at the same time`);
  }
  if (svid?.() === undefined) throw Errors.invalidConfig(`tcp serversTransport "${name}": SPIFFE is enabled for this transport, but not configured (static spiffe.workloadAPIAddr or spiffe.mesh)`);
  const authorize = spiffeAuthorizer(t.spiffe!, `tcp.serversTransports.${name}.tls.spiffe`);
  let built: { svid: Svid; options: ConnectionOptions } | undefined;
  return () => {
    const current = svid();
    if (current === undefined) throw new Error(`tcp serversTransport "${name}": no SVID yet`);
    if (built?.svid !== current) {
      const options = spiffeTlsOptions(current, authorize);
      if (t.serverName !== undefined) options.servername = t.serverName;
      built = { svid: current, options };
    }
    return built.options;
  };
}

function transportTls(config: TcpServersTransportConfig): ConnectionOptions {
  const t = config.tls;
  if (t === undefined) return {};
  const uri = t.peerCertURI !== undefined && t.peerCertURI !== '' ? t.peerCertURI : undefined;
  // As the HTTP transports (services/transport.ts): with peerCertURI the chain is always verified.
  const out: ConnectionOptions = { rejectUnauthorized: uri !== undefined || !t.insecureSkipVerify };
  if (t.serverName !== undefined) out.servername = t.serverName;
  if (t.rootCAs !== undefined) out.ca = t.rootCAs.map((ca) => pem(ca, 'tcp.serversTransports.tls.rootCAs'));
  const cert = t.certificates?.[0];
  if (cert !== undefined) {
    out.cert = pem(cert.certFile, 'tcp.serversTransports.tls.certificates.certFile');
    out.key = pem(cert.keyFile, 'tcp.serversTransports.tls.certificates.keyFile');
  }
  if (uri !== undefined) {
    out.checkServerIdentity = (_host, c) => {
      const first = uriSans(c.subjectaltname)[0];
      return first !== undefined && certUriMatches(first, uri) ? undefined : new Error(`peer certificate URI SAN ${first ?? '(none)'} does not match ${uri}`);
    };
  }
  return out;
}

export interface TcpServicesInput {
  readonly services: Record<string, unknown>;
  readonly serversTransports: Record<string, unknown>;
  readonly logger: Logger;
  /** The gateway's current SVID (static spiffe.mesh), for transports with `tls.spiffe`. */
  readonly svid?: () => Svid | undefined;
}

/** Builds services on demand (a router asks for its service), each once; errors name the service. */
export class TcpServices {
  private readonly input: TcpServicesInput;
  private readonly built = new Map<string, TcpHandler | Error>();
  private readonly building = new Set<string>();

  constructor(input: TcpServicesInput) {
    this.input = input;
  }

  /** Services that failed to build, with why (the runtime view reports them; gateway/api). */
  failures(): Array<[string, string]> {
    return [...this.built].filter((e): e is [string, Error] => e[1] instanceof Error).map(([name, err]) => [name, err.message]);
  }

  handler(name: string): TcpHandler {
    const got = this.built.get(name);
    if (got instanceof Error) throw got;
    if (got !== undefined) return got;
    if (this.building.has(name)) throw Errors.invalidConfig(`tcp service "${name}": circular reference`);
    this.building.add(name);
    try {
      const handler = this.build(name);
      this.built.set(name, handler);
      return handler;
    } catch (err) {
      this.built.set(name, err as Error);
      throw err;
    } finally {
      this.building.delete(name);
    }
  }

  private transport(name: string | undefined, owner: string): TcpServersTransportConfig & { name?: string } {
    if (name === undefined) return tcpServersTransportSchema.parse({});
    const key = qualifyIn(name, owner);
    const raw = this.input.serversTransports[key] ?? this.input.serversTransports[name];
    if (raw === undefined) throw Errors.invalidConfig(`tcp service "${owner}": serversTransport "${name}" does not exist`);
    return { ...tcpServersTransportSchema.parse(raw), name: key in this.input.serversTransports ? key : name };
  }

  private build(name: string): TcpHandler {
    const raw = this.input.services[name];
    if (raw === undefined) throw Errors.invalidConfig(`the service "${name}" does not exist`);
    const config = tcpServiceSchema.parse(raw);
    if (config.weighted !== undefined) {
      const wrr = new WeightedRoundRobin<TcpHandler>();
      for (const child of config.weighted.services) wrr.add(this.handler(qualifyIn(child.name, name)), child.weight ?? 1);
      return (conn: TcpConnection) => {
        const next = wrr.next();
        if (next === undefined) conn.socket.destroy();
        else next(conn);
      };
    }
    const lb = config.loadBalancer!;
    const transport = this.transport(lb.serversTransport, name);
    const tlsOptions = transport.tls?.spiffe !== undefined ? spiffeTls(transport.name!, transport, this.input.svid) : transportTls(transport);
    const proxyProtocol = lb.proxyProtocol?.version ?? transport.proxyProtocol?.version;
    // The block's terminationDelay is Traefik's older spelling (ms); the transport's is a duration.
    const terminationDelayMs = lb.terminationDelay ?? (lb.serversTransport !== undefined ? transport.terminationDelay : TCP_DEFAULT_TERMINATION_DELAY_MS);
    const wrr = new WeightedRoundRobin<TcpHandler>();
    for (const server of lb.servers) {
      wrr.add(forwarder({
        address: server.address, tls: server.tls === true, tlsOptions, dialTimeoutMs: transport.dialTimeout, terminationDelayMs,
        ...(proxyProtocol !== undefined ? { proxyProtocol } : {}), logger: this.input.logger,
      }), server.weight ?? 1);
    }
    return (conn: TcpConnection) => {
      const next = wrr.next();
      // No server: Traefik closes the connection.
      if (next === undefined) conn.socket.destroy();
      else next(conn);
    };
  }
}
