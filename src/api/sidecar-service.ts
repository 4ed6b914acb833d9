/**
 * `connect { sidecar_service {} }`: the registration sugar every Consul agent expands into a second service, the
 * parent's `connect-proxy` (agent/sidecar_service.go, sidecarServiceFromNodeService and
 * sidecarPortFromServiceIDLocked). Both agents use it — `meshgate agent` for its definitions and its local API, the
 * server's own local agent for `PUT /v1/agent/service/register` — so a sidecar comes out the same whichever agent a
 * client registers with: ID `<parent id>-sidecar-proxy`, name `<parent name>-sidecar-proxy`, the first free port of
 * the sidecar range (the one it already had when re-registered), tags and meta inherited when it names none, the
 * proxy pointed at the parent, and, when it brings no checks, a TCP "Connect Sidecar Listening" check and an alias of
 * the parent.
 */
import type { AgentServiceCheck, AgentServiceRegistration } from './types.ts';

export const SIDECAR_SUFFIX = '-sidecar-proxy';
/** Consul's defaults for ports.sidecar_min_port and ports.sidecar_max_port. */
export const DEFAULT_SIDECAR_MIN_PORT = 21000;
export const DEFAULT_SIDECAR_MAX_PORT = 21255;

/** What of the parent service the expansion reads. */
export interface SidecarParent {
  ID: string;
  Service: string;
  Address: string;
  Port: number;
  SocketPath: string;
  Tags: readonly string[];
  Meta: Readonly<Record<string, string>>;
}

export interface SidecarPortRange {
  min: number;
  max: number;
}

/** The ports of the agent's services: the sidecar's own (when it is re-registered) and every other one. */
export interface PortsInUse {
  own?: number;
  taken: ReadonlySet<number>;
}

export function sidecarId(parentId: string): string {
  return `${parentId}${SIDECAR_SUFFIX}`;
}

/**
 * The port a sidecar without one gets: the one it already holds when that is inside the range, else the lowest free
 * port of the range (Consul assigns sequentially so a reload keeps every sidecar's port). Undefined when none is left
 * or the range is switched off (a bound below 1).
 */
export function pickSidecarPort(range: SidecarPortRange, inUse: PortsInUse): number | undefined {
  if (range.min < 1 || range.max < range.min) return undefined;
  if (inUse.own !== undefined && inUse.own >= range.min && inUse.own <= range.max) return inUse.own;
  for (let port = range.min; port <= range.max; port++) if (!inUse.taken.has(port)) return port;
  return undefined;
}

/**
 * Consul's NodeService.Validate rules on the nested definition, in its words (the caller prefixes "Validation
 * failed: " as AgentRegisterService does). Undefined when it is acceptable.
 */
export function sidecarDefinitionProblem(sidecar: AgentServiceRegistration): string | undefined {
  if (sidecar.ID) return 'A SidecarService cannot specify an ID as this is managed by the agent';
  if (sidecar.Connect?.SidecarService) return 'A SidecarService cannot have a nested SidecarService';
  return undefined;
}

/** sidecarDefaultChecks' interval for the TCP check of the sidecar's port. */
export const SIDECAR_CHECK_INTERVAL_MS = 10_000;

/**
 * The sidecar's registration, ready to validate and register like any other: `port` is used when the definition
 * names none (pickSidecarPort). The nested Check/Checks, when present, replace the default checks. The default TCP
 * check's interval is written as `interval` says: Go's text ('10s', for a registration still to be decoded) or
 * milliseconds (for one whose nested checks were decoded already, as the server's schema does).
 */
export function sidecarRegistration(parent: SidecarParent, sidecar: AgentServiceRegistration, port: number, interval: 'text' | 'ms' = 'text'): AgentServiceRegistration {
  const proxy = { ...sidecar.Proxy };
  proxy.DestinationServiceName ||= parent.Service;
  proxy.DestinationServiceID ||= parent.ID;
  if (!proxy.LocalServiceSocketPath && (!proxy.LocalServiceAddress || !proxy.LocalServicePort || proxy.LocalServicePort < 1)) {
    if (parent.SocketPath) proxy.LocalServiceSocketPath = parent.SocketPath;
    else {
      proxy.LocalServiceAddress ||= '127.0.0.1';
      if (!proxy.LocalServicePort || proxy.LocalServicePort < 1) proxy.LocalServicePort = parent.Port;
    }
  }
  const sidecarPort = sidecar.Port && sidecar.Port > 0 ? sidecar.Port : port;
  const address = sidecar.Address || parent.Address;
  const checks = [...(sidecar.Check ? [sidecar.Check] : []), ...(sidecar.Checks ?? [])];
  // sidecarDefaultChecks: the check dials the sidecar's address, or the local service address when it has none.
  const defaults: AgentServiceCheck[] = [
    {
      Name: 'Connect Sidecar Listening',
      TCP: `${formatHost(address || proxy.LocalServiceAddress || '127.0.0.1')}:${sidecarPort}`,
      Interval: (interval === 'ms' ? SIDECAR_CHECK_INTERVAL_MS : `${SIDECAR_CHECK_INTERVAL_MS / 1000}s`) as string,
    },
    { Name: `Connect Sidecar Aliasing ${parent.ID}`, AliasService: parent.ID },
  ];
  const { Check: _check, Checks: _checks, Token: _token, ...rest } = sidecar as AgentServiceRegistration & { Token?: string };
  return {
    ...rest,
    ID: sidecarId(parent.ID),
    Name: sidecar.Name || `${parent.Service}${SIDECAR_SUFFIX}`,
    Kind: sidecar.Kind || 'connect-proxy',
    Port: sidecarPort,
    ...(address ? { Address: address } : {}),
    Tags: sidecar.Tags && sidecar.Tags.length > 0 ? sidecar.Tags : [...parent.Tags],
    Meta: sidecar.Meta && Object.keys(sidecar.Meta).length > 0 ? sidecar.Meta : { ...parent.Meta },
    Proxy: proxy,
    Checks: checks.length > 0 ? checks : defaults,
  };
}

/** The token the sidecar is registered with: its own when the definition carries one, else the parent's. */
export function sidecarToken(sidecar: AgentServiceRegistration, parentToken: string): string {
  const own = (sidecar as { Token?: unknown }).Token;
  return typeof own === 'string' && own !== '' ? own : parentToken;
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
