/**
 * The UDP routers of one configuration (Traefik's pkg/server/router/udp Manager and pkg/config/runtime
 * runtime_udp.go): a UDP router has no rule, only entry points and a service, so an entry point serves one router.
 * With several on one entry point Traefik warns and takes the first whose service builds, in reverse name order
 * (BuildHandlers sorts names descending); the same here, so the choice is stable. A router on an unknown or
 * non-UDP entry point gets a warning; one left with no entry point, or whose service fails, is disabled.
 */
import type { Logger } from '../../lib/logger.ts';
import { udpRouterSchema, type UdpSection } from '../config/schema/tcp.ts';
import { qualifyIn } from '../config/merge.ts';
import { addError, addUsedBy, initialLayerInfo, type LayerInfo } from '../runtime/info.ts';
import { UdpServices } from './services.ts';
import type { UdpHandler } from './types.ts';

export interface UdpRoutingOptions {
  /** Every UDP entry point of the static configuration. */
  readonly entryPoints: readonly string[];
  /** Where a router without `entryPoints` goes. */
  readonly defaultEntryPoints: readonly string[];
  readonly logger: Logger;
}

export interface UdpRouting {
  readonly byEntryPoint: ReadonlyMap<string, UdpHandler>;
  readonly info: LayerInfo;
}

export function buildUdpRouting(section: UdpSection | undefined, options: UdpRoutingOptions): UdpRouting {
  const info = initialLayerInfo(section);
  const byEntryPoint = new Map<string, UdpHandler>();
  if (section === undefined) return { byEntryPoint, info };
  const services = new UdpServices(section.services, options.logger);
  const routersOf = new Map<string, Array<{ name: string; service: string }>>();
  for (const [name, raw] of Object.entries(section.routers)) {
    const routerInfo = info.routers.get(name)!;
    const parsed = udpRouterSchema.safeParse(raw);
    if (!parsed.success) {
      addError(routerInfo, parsed.error.issues.map((i) => `${i.path.join('.') || name}: ${i.message}`).join('; '), true);
      continue;
    }
    const service = qualifyIn(parsed.data.service, name);
    addUsedBy(info.services.get(service), name);
    for (const ep of parsed.data.entryPoints ?? options.defaultEntryPoints) {
      if (!options.entryPoints.includes(ep)) {
        addError(routerInfo, `entryPoint "${ep}" doesn't exist`, false);
        continue;
      }
      if (!routerInfo.using!.includes(ep)) routerInfo.using!.push(ep);
      let list = routersOf.get(ep);
      if (list === undefined) routersOf.set(ep, (list = []));
      list.push({ name, service });
    }
    routerInfo.using!.sort();
    if (routerInfo.using!.length === 0) addError(routerInfo, 'no valid entryPoint for this router', true);
  }
  for (const [ep, routers] of routersOf) {
    if (routers.length > 1) options.logger.warn({ entryPoint: ep, routers: routers.map((r) => r.name) }, 'more than one UDP router for an entry point; the first in reverse name order serves');
    routers.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    for (const router of routers) {
      try {
        byEntryPoint.set(ep, services.handler(router.service));
        break;
      } catch (err) {
        const message = (err as Error).message;
        addError(info.routers.get(router.name)!, message, true);
        options.logger.error({ router: router.name, err: message }, `UDP router ${router.name} disabled`);
      }
    }
  }
  for (const [name, message] of services.failures()) {
    const item = info.services.get(name);
    if (item !== undefined) addError(item, message, true);
  }
  return { byEntryPoint, info };
}
