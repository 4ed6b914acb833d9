/**
 * Reading the proxy's `connect-proxy` registration from the local agent (`/v1/agent/services`) the way Consul's
 * built-in proxy does (command/connect/proxy LookupProxyIDForSidecar and proxy.Config): `-sidecar-for <id>` finds the
 * one connect-proxy whose `Proxy.DestinationServiceID` is that service ID; `-proxy-id` names it directly. The public
 * listener binds `Config.bind_address`/`bind_port`, else the registration's address and port; the local app is
 * `Config.local_service_address`, else `LocalServiceAddress` (127.0.0.1) and `LocalServicePort`; each upstream binds
 * `LocalBindAddress` (127.0.0.1) and `LocalBindPort`.
 */
import type { ConsulClient } from '../api/client.ts';
import type { AgentService } from '../api/types.ts';
import { ProxyErrors } from './errors.ts';
import { parseExposePaths, type ExposePathSpec } from './expose.ts';
import type { UpstreamSpec } from './upstream.ts';

export interface ProxySettings {
  readonly proxyId: string;
  readonly proxyName: string;
  /** The service we front: our SPIFFE identity and the intentions' destination. */
  readonly service: string;
  readonly serviceId: string;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Config.protocol, when the registration sets it (it overrides service-defaults for the inbound side). */
  readonly protocol: string | undefined;
  readonly localConnectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly upstreams: readonly UpstreamSpec[];
  /** `Proxy.Mode`: "transparent" starts the outbound listener that redirect-traffic's rules feed. */
  readonly mode: 'direct' | 'transparent';
  /** `Proxy.TransparentProxy.OutboundListenerPort`, default 15001 (Consul's). */
  readonly outboundListenerPort: number;
  /** `Proxy.Expose.Paths`: plain-HTTP listeners for single paths of the local app (expose.ts). */
  readonly expose: readonly ExposePathSpec[];
}

/** The proxy ID for `-sidecar-for`: exactly one local connect-proxy must front that service ID. */
export async function lookupProxyIdForSidecar(client: ConsulClient, sidecarFor: string): Promise<string> {
  const services = await client.agent.services();
  const ids = Object.values(services).filter((s) => s.Kind === 'connect-proxy' && s.Proxy?.DestinationServiceID === sidecarFor).map((s) => s.ID);
  if (ids.length === 0) throw ProxyErrors.registration(`No sidecar proxy registered for ${sidecarFor}`);
  if (ids.length > 1) throw ProxyErrors.registration(`More than one sidecar proxy registered for ${sidecarFor}.\n    Start proxy with -proxy-id and one of the following IDs: ${ids.sort().join(', ')}`);
  return ids[0]!;
}

export async function loadProxySettings(client: ConsulClient, proxyId: string): Promise<ProxySettings> {
  const svc = await client.agent.service(proxyId);
  if (!svc) throw ProxyErrors.registration(`proxy service ${JSON.stringify(proxyId)} is not registered with the local agent`);
  return settingsFromRegistration(svc);
}

/** Pure: the registration (as `/v1/agent/service/:id` returns it) → what the proxy runs. */
export function settingsFromRegistration(svc: AgentService): ProxySettings {
  if (svc.Kind !== 'connect-proxy') throw ProxyErrors.registration(`service ${JSON.stringify(svc.ID)} is not a connect-proxy (Kind ${JSON.stringify(svc.Kind ?? '')})`);
  const proxy = svc.Proxy ?? {};
  const config = (proxy.Config ?? {}) as Record<string, unknown>;
  const service = proxy.DestinationServiceName ?? '';
  if (!service) throw ProxyErrors.registration('Proxy.DestinationServiceName is empty');
  let localAddress = proxy.LocalServiceAddress || '127.0.0.1';
  let localPort = proxy.LocalServicePort ?? 0;
  if (typeof config.local_service_address === 'string' && config.local_service_address !== '') {
    const hp = splitHostPort(config.local_service_address, 'Proxy.Config.local_service_address');
    localAddress = hp.host;
    localPort = hp.port;
  }
  if (!localPort) throw ProxyErrors.config('Proxy.LocalServicePort', 'the local service port is not set');
  const bindAddress = str(config.bind_address) ?? (svc.Address || '0.0.0.0');
  const bindPort = num(config.bind_port, 'Proxy.Config.bind_port') ?? svc.Port;
  if (!bindPort) throw ProxyErrors.config('Port', 'the proxy registration has no port for its public listener');
  const upstreams: UpstreamSpec[] = [];
  for (const [i, raw] of (proxy.Upstreams ?? []).entries()) {
    const u = raw as Record<string, unknown>;
    const field = `Proxy.Upstreams[${i}]`;
    const type = str(u.DestinationType) ?? 'service';
    if (type !== 'service') throw ProxyErrors.config(`${field}.DestinationType`, `${JSON.stringify(type)} upstreams are not supported (only service)`);
    const name = str(u.DestinationName);
    if (!name) throw ProxyErrors.config(`${field}.DestinationName`, 'must be set');
    const port = num(u.LocalBindPort, `${field}.LocalBindPort`);
    if (port === undefined) throw ProxyErrors.config(`${field}.LocalBindPort`, 'must be set');
    const uc = (u.Config ?? {}) as Record<string, unknown>;
    upstreams.push({
      destinationName: name,
      datacenter: str(u.Datacenter),
      protocol: str(uc.protocol),
      connectTimeoutMs: num(uc.connect_timeout_ms, `${field}.Config.connect_timeout_ms`),
      localBindAddress: str(u.LocalBindAddress) ?? '127.0.0.1',
      localBindPort: port,
    });
  }
  return {
    proxyId: svc.ID,
    proxyName: svc.Service,
    service,
    serviceId: proxy.DestinationServiceID ?? service,
    bindAddress,
    bindPort,
    localAddress,
    localPort,
    protocol: str(config.protocol),
    localConnectTimeoutMs: num(config.local_connect_timeout_ms, 'Proxy.Config.local_connect_timeout_ms') ?? 1000,
    handshakeTimeoutMs: num(config.handshake_timeout_ms, 'Proxy.Config.handshake_timeout_ms') ?? 10_000,
    upstreams,
    mode: proxy.Mode === 'transparent' ? 'transparent' : 'direct',
    outboundListenerPort: num((proxy.TransparentProxy ?? {})['OutboundListenerPort'], 'Proxy.TransparentProxy.OutboundListenerPort') || 15001,
    expose: parseExposePaths(proxy.Expose),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw ProxyErrors.config(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

function splitHostPort(text: string, field: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const port = Number(text.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw ProxyErrors.config(field, `must be host:port, got ${JSON.stringify(text)}`);
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port };
}
