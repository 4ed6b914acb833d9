/**
 * The `traefik.tcp.*` and `traefik.udp.*` tags of a catalog instance → its `tcp` and `udp` sections, as Traefik's
 * consulcatalog config.go does (buildTCPServiceConfiguration, buildUDPServiceConfiguration, addServerTCP,
 * addServerUDP; pkg/provider BuildTCPRouterConfiguration, BuildUDPRouterConfiguration): with no service tag a load
 * balancer named after the service is made; each load balancer gets one server, the instance's address with the
 * tag's `server.port` or the instance's port; a TCP router without a rule is dropped; a router without a service
 * takes the only one (dropped when there are several). Merging pools the servers of equal load balancers and drops
 * a router, service or middleware that instances define differently (pkg/provider Merge).
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import type { TcpSection, UdpSection } from '../config/schema/tcp.ts';
import type { LayerLabels } from './consulcatalog-labels.ts';

export interface LayerItem {
  readonly address: string;
  readonly port: string;
}

export function joinHostPort(host: string, port: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function hasLayer(labels: LayerLabels): boolean {
  return Object.keys(labels.routers).length > 0 || Object.keys(labels.services).length > 0;
}

/** The instance's `tcp` or `udp` section; throws `<service>: <why>` when a load balancer cannot get its server. */
export function buildLayerSection(layer: 'tcp' | 'udp', labels: LayerLabels, item: LayerItem, defaultName: string, log: Logger): TcpSection | UdpSection {
  const services: Record<string, unknown> = {};
  const named = Object.keys(labels.services).length > 0 ? labels.services : { [defaultName]: { loadBalancer: {}, server: {} } };
  for (const [name, service] of Object.entries(named)) {
    if (item.address === '') throw new Error(`${name}: address is missing`);
    const port = service.server.port ?? item.port;
    if (port === '' || port === '0') throw new Error(`${name}: port is missing`);
    const server: Record<string, unknown> = { address: joinHostPort(item.address, port) };
    if (layer === 'tcp' && service.server.tls !== undefined) server.tls = service.server.tls;
    if (service.server.weight !== undefined) server.weight = service.server.weight;
    services[name] = { loadBalancer: { ...service.loadBalancer, servers: [server] } };
  }
  const routers: Record<string, unknown> = {};
  const serviceNames = Object.keys(services);
  for (const [name, raw] of Object.entries(labels.routers)) {
    const router = { ...raw };
    if (layer === 'tcp' && (typeof router.rule !== 'string' || router.rule === '')) {
      log.error({ router: name }, 'consulcatalog: empty rule; TCP router dropped');
      continue;
    }
    if (typeof router.service !== 'string' || router.service === '') {
      if (serviceNames.length > 1) {
        log.error({ router: name }, 'consulcatalog: could not define the service name for the router: too many services');
        continue;
      }
      router.service = serviceNames[0]!;
    }
    routers[name] = router;
  }
  if (layer === 'udp') return { routers, services };
  return { routers, services, middlewares: { ...labels.middlewares }, serversTransports: {} };
}

/** JSON with sorted keys: Go's reflect.DeepEqual for configuration values. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

type Section = Record<string, Record<string, unknown>>;

/** provider.Merge for `tcp` and `udp`, into `out`; `configurations` in their merge order. */
export function mergeLayers(configurations: ReadonlyArray<[string, DynamicConfig]>, out: DynamicConfig, logger: Logger): void {
  for (const layer of ['tcp', 'udp'] as const) {
    const merged: Section = {};
    const conflicts = new Set<string>();
    const origins = new Map<string, string[]>();
    for (const [root, conf] of configurations) {
      const section = conf[layer] as unknown as Section | undefined;
      if (section === undefined) continue;
      for (const [kind, elements] of Object.entries(section)) {
        const target = (merged[kind] ??= {});
        for (const [name, value] of Object.entries(elements as Record<string, unknown>)) {
          const id = `${kind}/${name}`;
          origins.set(id, [...(origins.get(id) ?? []), root]);
          if (!(name in target)) {
            target[name] = structuredClone(value);
            continue;
          }
          if (kind === 'services') {
            const a = (target[name] as { loadBalancer?: { servers?: Array<{ address: string }> } }).loadBalancer;
            const b = (value as { loadBalancer?: { servers?: Array<{ address: string }> } }).loadBalancer;
            const { servers: aServers, ...aRest } = a ?? {};
            const { servers: bServers, ...bRest } = b ?? {};
            if (a === undefined || b === undefined || canonical(aRest) !== canonical(bRest)) {
              conflicts.add(id);
              continue;
            }
            const seen = new Set((aServers ?? []).map((s) => s.address));
            for (const server of bServers ?? []) {
              if (!seen.has(server.address)) {
                seen.add(server.address);
                (a.servers ??= []).push(server);
              }
            }
          } else if (canonical(target[name]) !== canonical(value)) conflicts.add(id);
        }
      }
    }
    if (Object.keys(merged).length === 0) continue;
    for (const id of conflicts) {
      const [kind, name] = [id.slice(0, id.indexOf('/')), id.slice(id.indexOf('/') + 1)];
      logger.error({ [`${layer}${kind.slice(0, -1)}`]: name, instances: origins.get(id) }, `consulcatalog: ${layer} ${kind.slice(0, -1)} defined multiple times with different configurations`);
      delete merged[kind]![name];
    }
    if (layer === 'tcp') out.tcp = { routers: merged.routers ?? {}, services: merged.services ?? {}, middlewares: merged.middlewares ?? {}, serversTransports: merged.serversTransports ?? {} };
    else out.udp = { routers: merged.routers ?? {}, services: merged.services ?? {} };
  }
}
