/**
 * Catalog instances → one dynamic configuration, as Traefik's consulcatalog `buildConfiguration` and
 * `provider.Merge` do it:
 *
 * - each instance (an "item": one service on one node) is kept only when enabled (`traefik.enable`, default
 *   `exposedByDefault`), Connect-enabled only when the provider is `connectAware`, matching the `constraints`, and
 *   with an aggregated health status in `strictChecks`;
 * - a Connect-enabled item (`traefik.consulcatalog.connect=true`, or `connectByDefault`) is one of the service's
 *   Connect proxies: its load balancer reaches `https://<proxy address>:<proxy port>` through a servers transport
 *   named `tls-<namespace>-<datacenter>-<service>` that presents the gateway's leaf certificate, trusts the mesh's
 *   roots and accepts only the service's SPIFFE ID (Traefik's consulcatalog config.go addServer /
 *   itemServersTransportKey and connect_tls.go serversTransport);
 * - its `traefik.http.*` tags become routers, services and middlewares; with no service tag a load balancer named
 *   after the service (normalised; a canary gets a hash of its tags) is made, each load balancer gets one server
 *   `<scheme>://<address>:<port>` (the tag's `server.port`/`server.scheme` or the instance's port and `http`);
 *   with no router tag a router named after the service uses the `defaultRule` template; a router with no service
 *   takes the only one;
 * - the items are merged in the order of their `node-service-id` key: a service defined the same way by several
 *   instances becomes one load balancer with one server per instance; two instances that disagree about a router,
 *   a middleware or a load balancer's settings drop that element (Traefik logs "defined multiple times with
 *   different configurations") and everything else stays.
 *
 * Each item is validated on its own before merging, so one badly tagged instance is skipped (logged with the key it
 * breaks) and never takes the rest of the catalog with it.
 */
import type { Logger } from '../../lib/logger.ts';
import { emptyDynamicConfig, validateDynamicConfig, type DynamicConfig, type RouterConfig } from '../config/dynamic.ts';
import type { DefaultRuleTemplate } from '../rules/template.ts';
import { normalize } from '../rules/template.ts';
import type { ServiceConfigInput } from '../services/schema.ts';
import type { TagMatcher } from './consulcatalog-constraints.ts';
import { decodeLabels, type LabelServer } from './consulcatalog-labels.ts';
import { buildLayerSection, canonical, hasLayer, joinHostPort, mergeLayers } from './consulcatalog-layer4.ts';

/** One instance of a service as the provider sees it (Traefik's itemData). */
export interface CatalogItem {
  id: string;
  node: string;
  datacenter: string;
  name: string;
  namespace: string;
  /** Service address, or the node's when the service has none. */
  address: string;
  port: string;
  /** Consul's aggregated status of the instance's checks: passing, warning, critical or maintenance. */
  status: string;
  /** Neutral labels (`traefik.…`) from the tags with the provider's prefix. */
  labels: Record<string, string>;
  tags: string[];
}

export interface BuildOptions {
  exposedByDefault: boolean;
  connectByDefault: boolean;
  defaultRule: DefaultRuleTemplate;
  constraints: TagMatcher;
  /** Instance statuses kept (Traefik's strictChecks); `any` keeps every status. */
  strictChecks: readonly string[];
  /** Traefik's allowEmptyServices: a service with no usable instance still gets its routers and an empty load balancer (503). */
  allowEmptyServices?: boolean;
  /** Traefik's connectAware: Connect-enabled services are kept (they are skipped otherwise). */
  connectAware?: boolean;
  /** The gateway's Connect leaf and the mesh's roots; Connect items wait for them. */
  connect?: ConnectCertificates;
  logger: Logger;
}

/** What a Connect servers transport needs: the gateway's own leaf (PEM) and the CA roots (PEM). */
export interface ConnectCertificates {
  roots: readonly string[];
  certPem: string;
  keyPem: string;
}

/** A service of the catalog as a whole (its tags' union), for `allowEmptyServices` when no instance is kept. */
export interface CatalogService {
  name: string;
  labels: Record<string, string>;
  tags: string[];
}

/** Provider-specific labels (Traefik's `configuration`: `traefik.enable`, `traefik.consulcatalog.*`). */
export interface ExtraConf {
  enable: boolean;
  connect: boolean;
  canary: boolean;
}

function goBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new Error(`label "${key}": invalid boolean "${value}"`);
}

/** Reads `traefik.enable`, `traefik.consulcatalog.connect` and `.canary` (case-insensitive). Throws on a bad value. */
export function extraConfOf(labels: Record<string, string>, options: Pick<BuildOptions, 'exposedByDefault' | 'connectByDefault'>): ExtraConf {
  const conf: ExtraConf = { enable: options.exposedByDefault, connect: options.connectByDefault, canary: false };
  for (const [key, value] of Object.entries(labels)) {
    const lower = key.toLowerCase();
    if (lower === 'traefik.enable') conf.enable = goBool(key, value);
    else if (lower === 'traefik.consulcatalog.connect') conf.connect = goBool(key, value);
    else if (lower === 'traefik.consulcatalog.canary') conf.canary = goBool(key, value);
  }
  return conf;
}

/** Go's hash/fnv New64 (FNV-1, not 1a) of a UTF-8 string, as an unsigned decimal. */
export function fnv1_64(text: string): string {
  const mask = (1n << 64n) - 1n;
  let hash = 14695981039346656037n;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash = (hash * 1099511628211n) & mask;
    hash ^= BigInt(byte);
  }
  return hash.toString();
}

/** Traefik's getName: the service name normalised; a canary instance gets its own name from its sorted tags. */
export function itemName(item: CatalogItem, extra: ExtraConf): string {
  if (!extra.canary) return normalize(item.name);
  return normalize(`${item.name}-${fnv1_64([...item.tags].sort().join(''))}`);
}

/** Traefik's itemServersTransportKey: the transport a Connect item's load balancer goes through. */
export function connectTransportName(item: Pick<CatalogItem, 'namespace' | 'datacenter' | 'name'>): string {
  return normalize(`tls-${item.namespace}-${item.datacenter}-${item.name}`);
}

/** Traefik's connectCert.serversTransport: mTLS with the gateway's leaf, the service's SPIFFE ID required. */
export function connectTransport(item: Pick<CatalogItem, 'namespace' | 'datacenter' | 'name'>, certs: ConnectCertificates): Record<string, unknown> {
  return {
    // The server name makes the transport change whenever the identity it verifies changes (Traefik's comment).
    serverName: `${item.namespace}-${item.datacenter}-${item.name}`,
    // Only the host-name check is off; with peerCertURI the chain is still verified against rootCAs.
    insecureSkipVerify: true,
    rootCAs: [...certs.roots],
    certificates: [{ certFile: certs.certPem, keyFile: certs.keyPem }],
    peerCertURI: `spiffe:///ns/${item.namespace}/dc/${item.datacenter}/svc/${item.name}`,
  };
}

/** Traefik's consulcatalog addServer: a `server.url` label is taken as is; otherwise scheme://address:port. */
function serverOf(item: CatalogItem, label: LabelServer, connect = false): { url: string; weight?: number; preservePath?: boolean } {
  if (item.address === '') throw new Error('address is missing');
  const extras = {
    ...(label.weight !== undefined ? { weight: label.weight } : {}),
    ...(label.preservePath !== undefined ? { preservePath: label.preservePath } : {}),
  };
  if (label.url !== undefined && label.url !== '') {
    if (label.port !== undefined || label.scheme !== undefined) throw new Error('defining scheme or port is not allowed when URL is defined');
    return { url: label.url, ...extras };
  }
  // An empty `server.port` label is no port: the instance's port is used.
  const port = label.port ?? item.port;
  if (port === '' || port === '0') throw new Error('port is missing');
  const scheme = connect ? 'https' : label.scheme && label.scheme !== '' ? label.scheme : 'http';
  return {
    url: `${scheme}://${joinHostPort(item.address, port)}`,
    ...(label.weight !== undefined ? { weight: label.weight } : {}),
    ...(label.preservePath !== undefined ? { preservePath: label.preservePath } : {}),
  };
}

/** Why an item is left out, or undefined when it is kept (Traefik's keepContainer). */
export function filterReason(item: CatalogItem, extra: ExtraConf, options: BuildOptions): string | undefined {
  if (!extra.enable) return 'disabled';
  if (extra.connect && !options.connectAware) return 'Connect-enabled, and connectAware is off';
  if (extra.connect && !options.connect) return 'Connect-enabled, and the Connect certificates are not there yet';
  if (!options.constraints(item.tags)) return 'pruned by the constraints';
  if (!options.strictChecks.includes(item.status) && !options.strictChecks.includes('any')) return `status "${item.status}" is not in strictChecks`;
  return undefined;
}

/** One item's configuration, validated alone; throws with the reason when the item cannot be used. */
function buildItem(item: CatalogItem, extra: ExtraConf, options: BuildOptions, log: Logger, empty = false): DynamicConfig {
  const decoded = decodeLabels(item.labels);
  const conf = emptyDynamicConfig();
  const name = itemName(item, extra);
  // Traefik's buildConfiguration: `traefik.tcp.*`/`traefik.udp.*` tags make the TCP/UDP part; an instance with only
  // those gets no HTTP router or service. A load balancer that cannot get its server skips the whole instance.
  const tcp = hasLayer(decoded.tcp);
  const udp = hasLayer(decoded.udp);
  if (tcp && extra.connect) throw new Error('TCP routers to Connect-enabled services are not supported by meshgate');
  if (tcp && !empty) conf.tcp = buildLayerSection('tcp', decoded.tcp, item, name, log) as NonNullable<DynamicConfig['tcp']>;
  if (udp && !empty) conf.udp = buildLayerSection('udp', decoded.udp, item, name, log) as NonNullable<DynamicConfig['udp']>;
  const httpLabels = Object.keys(decoded.routers).length + Object.keys(decoded.services).length + Object.keys(decoded.middlewares).length;
  if ((tcp || udp) && httpLabels === 0) return validateDynamicConfig(conf, `consul catalog instance ${item.node}/${item.id} of ${item.name}`);

  const labelServices = Object.keys(decoded.services).length > 0 ? decoded.services : { [name]: { loadBalancer: {}, server: {} } };
  for (const [serviceName, svc] of Object.entries(labelServices)) {
    // Traefik's ServersLoadBalancer.SetDefaults, then whatever the labels say.
    conf.http.services[serviceName] = {
      loadBalancer: {
        passHostHeader: true, responseForwarding: { flushInterval: '100ms' }, ...svc.loadBalancer,
        ...(extra.connect && !empty ? { serversTransport: connectTransportName(item) } : {}),
        servers: empty ? [] : [serverOf(item, svc.server, extra.connect)],
      },
    } as ServiceConfigInput;
  }
  if (extra.connect && !empty && options.connect) {
    conf.http.serversTransports[connectTransportName(item)] = connectTransport(item, options.connect) as (typeof conf.http.serversTransports)[string];
  }
  for (const [mwName, mw] of Object.entries(decoded.middlewares)) conf.http.middlewares[mwName] = mw;

  const routers: Record<string, RouterConfig> = { ...(decoded.routers as Record<string, RouterConfig>) };
  const serviceNames = Object.keys(conf.http.services);
  if (Object.keys(routers).length === 0) {
    if (serviceNames.length > 1) log.info('consulcatalog: no router for the instance: too many services');
    else routers[name] = {};
  }
  for (const [routerName, router] of Object.entries(routers)) {
    if (!router.rule) {
      let rule: string;
      try {
        rule = options.defaultRule.execute({ Name: item.name, Labels: item.labels });
      } catch (err) {
        log.error({ router: routerName, err: { message: (err as Error).message } }, 'consulcatalog: error while executing the default rule');
        delete routers[routerName];
        continue;
      }
      if (rule === '') {
        log.error({ router: routerName }, 'consulcatalog: undefined rule');
        delete routers[routerName];
        continue;
      }
      router.rule = rule;
    }
    if (!router.service) {
      if (serviceNames.length > 1) {
        log.error({ router: routerName }, 'consulcatalog: could not define the service name for the router: too many services');
        delete routers[routerName];
        continue;
      }
      router.service = serviceNames[0]!;
    }
  }
  conf.http.routers = routers;
  return validateDynamicConfig(conf, `consul catalog instance ${item.node}/${item.id} of ${item.name}`);
}

/** Builds the provider's whole configuration from the current instances. Never throws; bad items are logged. */
export function buildConfiguration(items: readonly CatalogItem[], options: BuildOptions, services: readonly CatalogService[] = []): DynamicConfig {
  const perItem = new Map<string, DynamicConfig>();
  const served = new Set<string>();
  for (const item of items) {
    const key = normalize(`${item.node}-${item.name}-${item.id}`);
    const log = options.logger.child({ service: item.name, instance: item.id, node: item.node });
    let extra: ExtraConf;
    try {
      extra = extraConfOf(item.labels, options);
    } catch (err) {
      log.error({ err: { message: (err as Error).message } }, 'consulcatalog: instance skipped');
      continue;
    }
    const reason = filterReason(item, extra, options);
    if (reason) {
      log.debug({ reason }, 'consulcatalog: instance filtered');
      continue;
    }
    try {
      perItem.set(key, buildItem(item, extra, options, log));
      served.add(item.name);
    } catch (err) {
      log.error({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'consulcatalog: instance skipped');
    }
  }
  if (options.allowEmptyServices) {
    for (const service of services) {
      if (served.has(service.name)) continue;
      const log = options.logger.child({ service: service.name });
      const item: CatalogItem = { id: '', node: '', datacenter: '', name: service.name, namespace: 'default', address: '', port: '', status: '', labels: service.labels, tags: service.tags };
      try {
        perItem.set(normalize(`empty-${service.name}`), buildItem(item, extraConfOf(service.labels, options), options, log, true));
      } catch (err) {
        log.error({ err: { message: (err as Error).message } }, 'consulcatalog: empty service skipped');
      }
    }
  }
  return merge(perItem, options.logger);
}

/** provider.Merge for the HTTP part: equal definitions fold together, load balancers pool their servers. */
export function merge(configurations: ReadonlyMap<string, DynamicConfig>, logger: Logger): DynamicConfig {
  const out = emptyDynamicConfig();
  const conflicts = { routers: new Set<string>(), services: new Set<string>(), middlewares: new Set<string>(), serversTransports: new Set<string>() };
  const origins = {
    routers: new Map<string, string[]>(), services: new Map<string, string[]>(), middlewares: new Map<string, string[]>(), serversTransports: new Map<string, string[]>(),
  };
  for (const root of [...configurations.keys()].sort()) {
    const conf = configurations.get(root)!;
    for (const [name, service] of Object.entries(conf.http.services)) {
      origins.services.set(name, [...(origins.services.get(name) ?? []), root]);
      const existing = out.http.services[name];
      if (!existing) {
        out.http.services[name] = structuredClone(service);
        continue;
      }
      const a = existing.loadBalancer;
      const b = service.loadBalancer;
      const { servers: aServers, ...aRest } = a ?? {};
      const { servers: bServers, ...bRest } = b ?? {};
      if (!a || !b || canonical(aRest) !== canonical(bRest)) {
        conflicts.services.add(name);
        continue;
      }
      const seen = new Set((aServers ?? []).map((s) => s.url));
      for (const server of bServers ?? []) {
        if (!seen.has(server.url)) {
          seen.add(server.url);
          (a.servers ??= []).push(server);
        }
      }
    }
    for (const section of ['routers', 'middlewares', 'serversTransports'] as const) {
      const target = out.http[section] as Record<string, unknown>;
      for (const [name, value] of Object.entries(conf.http[section])) {
        origins[section].set(name, [...(origins[section].get(name) ?? []), root]);
        if (!(name in target)) target[name] = value;
        else if (canonical(target[name]) !== canonical(value)) conflicts[section].add(name);
      }
    }
  }
  for (const section of ['services', 'routers', 'middlewares', 'serversTransports'] as const) {
    for (const name of conflicts[section]) {
      logger.error({ [section.slice(0, -1)]: name, instances: origins[section].get(name) }, `consulcatalog: ${section.slice(0, -1)} defined multiple times with different configurations`);
      delete (out.http[section] as Record<string, unknown>)[name];
    }
  }
  mergeLayers([...configurations.keys()].sort().map((root) => [root, configurations.get(root)!]), out, logger);
  return out;
}
