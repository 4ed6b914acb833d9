/**
 * Builds one configuration into what serves it, once, from the managers (Traefik's pkg/server): the router manager
 * assigns routers to entry points and builds their chains from the middleware manager and the service manager, the
 * TLS manager maps hosts to option sets, and the route table is compiled. A problem with one router (rule that does
 * not parse, missing service or middleware, unknown entry point) disables that router only; everything else is
 * built and serves. Every step that grows with the configuration runs in slices (`Slicer`) so the configuration
 * still serving keeps answering while a large one builds; nothing here is visible until the runtime swaps it in.
 */
import type { Logger } from '../../lib/logger.ts';
import { markPhase } from '../../lib/phases.ts';
import { NameRecorder, namesSliced, nearTableGrowth, NEVER_YIELD, sortSliced, uniqueSliced, type Slicer } from '../../lib/slices.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import type { Handler } from '../http/types.ts';
import type { TlsConfiguration } from '../entrypoints/tls-configuration.ts';
import { addError, STATUS_ENABLED, type RouterInfo, type RuntimeInfo } from './info.ts';
import { internalConfiguration } from './internal.ts';
import { MiddlewareManager, type MiddlewareManagerDependencies } from './middleware-manager.ts';
import { RouterManager, applyEntryPointModels, type RouteInput, type RouteTarget, type RouterManagerDependencies } from './router-manager.ts';
import { ServiceManager, retiredServices as retiredServiceEntries, type ServiceEntry, type ServiceManagerDependencies } from './service-manager.ts';
import { TlsManager } from './tls-manager.ts';
import { buildLayer4, type Layer4Routing } from './layer4.ts';

export { defaultEntryPoints, tlsRouteKey, type RouteTarget } from './router-manager.ts';
export type { ServiceEntry } from './service-manager.ts';

export interface RouteMatcher<T> {
  match(entryPoint: string, req: { method: string; host: string; path: string; query: string; headers: import('node:http').IncomingHttpHeaders; rawHeaders?: readonly string[] | undefined; clientIp: string }): { name: string; target: T } | undefined;
}

/** Compiles the route table in slices (`compileRoutesSliced` of the rules part). */
export type CompileRoutes = (routes: RouteInput[], slicer: Slicer) => Promise<{ routes: RouteMatcher<RouteTarget>; errors: Map<string, string> }>;

export interface BuildDependencies extends ServiceManagerDependencies, MiddlewareManagerDependencies, RouterManagerDependencies {
  readonly staticConfig: StaticConfig;
  readonly logger: Logger;
  readonly compileRoutes: CompileRoutes;
  /** Internal services by qualified name (`api@internal`, …); built per configuration since the API shows it. */
  internalServices(info: RuntimeInfo): Map<string, Handler>;
}

export interface BuiltConfiguration {
  readonly info: RuntimeInfo;
  readonly routes: RouteMatcher<RouteTarget>;
  /** Services by qualified name, for reuse by the next build. */
  readonly services: Map<string, ServiceEntry>;
  /** Certificates, TLS option sets and which option set each host gets on each entry point. */
  readonly tls: TlsConfiguration;
  /** The TCP and UDP routers (absent only in the runtime's placeholder before the first build). */
  readonly layer4?: Layer4Routing;
}

/**
 * The runtime view before building: every element as configured, enabled until building finds a problem. The
 * routers are the entry point models' objects, new for this build (`applyEntryPointModels`): they become the runtime
 * view in place — status now, the build's findings later — instead of being copied once more.
 */
async function initialInfo(config: DynamicConfig, slicer: Slicer): Promise<RuntimeInfo> {
  const info: RuntimeInfo = { routers: new Map(), services: new Map(), middlewares: new Map() };
  const { routers, services, middlewares } = config.http;
  // The sections' names were recorded as they were built (no enumeration); an unrecorded section is enumerated on a
  // turn of its own, since collecting the names of a large one is a step that cannot be split.
  for (const name of await namesSliced(routers, slicer)) {
    // Growing a large map is one step: on a turn of its own.
    if (nearTableGrowth(info.routers.size)) await slicer.fresh();
    const router = routers[name] as RouterInfo;
    router.status = STATUS_ENABLED;
    info.routers.set(name, router);
    const pending = slicer.tick();
    if (pending) await pending;
  }
  for (const name of await namesSliced(services, slicer)) {
    info.services.set(name, { config: services[name] as Record<string, unknown>, status: STATUS_ENABLED, usedBy: [] });
    const pending = slicer.tick();
    if (pending) await pending;
  }
  for (const name of await namesSliced(middlewares, slicer)) {
    info.middlewares.set(name, { config: middlewares[name]!, status: STATUS_ENABLED, usedBy: [] });
    const pending = slicer.tick();
    if (pending) await pending;
  }
  return info;
}

export async function buildConfiguration(merged: DynamicConfig, deps: BuildDependencies, previous?: BuiltConfiguration, slicer: Slicer = NEVER_YIELD): Promise<BuiltConfiguration> {
  const { staticConfig, logger } = deps;
  markPhase('build:entrypoint-models');
  const internal = internalConfiguration(staticConfig);
  const config: DynamicConfig = {
    http: {
      routers: await applyEntryPointModels([merged.http.routers, internal.routers], staticConfig, slicer),
      services: merged.http.services,
      middlewares: await withInternal(merged.http.middlewares, internal.middlewares, slicer),
      serversTransports: merged.http.serversTransports,
    },
    tls: merged.tls,
    ...(merged.tcp !== undefined ? { tcp: merged.tcp } : {}),
    ...(merged.udp !== undefined ? { udp: merged.udp } : {}),
  };
  markPhase('build:info');
  const info = await initialInfo(config, slicer);
  const internalHandlers = deps.internalServices(info);
  for (const name of internalHandlers.keys()) info.services.set(name, { config: {}, status: STATUS_ENABLED, usedBy: [] });

  const services = new ServiceManager(config.http, deps, info, internalHandlers, previous?.services);
  const middlewares = new MiddlewareManager(config.http, deps, info, (name) => services.handler(name));
  services.useMiddlewares((names, handler) => middlewares.chain(names, handler));
  const tls = new TlsManager(config.tls, logger, previous?.tls);
  const routers = new RouterManager(deps, info, services, middlewares, tls);
  markPhase('build:routers');
  const routes = await routers.build(slicer);
  markPhase('build:compile');

  const compiled = await deps.compileRoutes(routes, slicer);
  for (const [name, message] of compiled.errors) {
    const router = info.routers.get(name);
    if (router) addError(router, message, true);
  }
  markPhase('build:tail');
  tls.assignHostOptions(info);
  const layer4 = buildLayer4(config, staticConfig, logger, () => deps.transports.currentSvid());
  info.tcp = layer4.tcp.info;
  info.udp = layer4.udp.info;

  // A service or middleware every router uses lists 50,000 names: deduplicated and sorted in slices too.
  for (const items of [info.services.values(), info.middlewares.values()]) {
    for (const item of items) {
      if (item.usedBy.length > 1) item.usedBy = await sortSliced(await uniqueSliced(item.usedBy, slicer), compareNames, slicer);
      const pending = slicer.tick();
      if (pending) await pending;
    }
  }
  // The routers' recorded names (the entry point models recorded them), not the map's entries: no entry array and
  // iterator result per router.
  for (const name of await namesSliced(config.http.routers, slicer)) {
    const router = info.routers.get(name)!;
    if (router.error) logger.error({ router: name, errors: router.error }, `router ${name} ${router.status === 'disabled' ? 'disabled' : 'has warnings'}`);
    const pending = slicer.tick();
    if (pending) await pending;
  }
  // Nothing of this build may keep the previous one alive once it serves (services reused later hold the manager).
  services.release();
  return { info, routes: compiled.routes, services: services.services, tls: tls.tls, layer4 };
}

/** `Array.prototype.sort`'s order for strings (UTF-16 code units), as a comparator. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The providers' middlewares and the internal ones in one object (an internal name wins, as `{ ...a, ...b }` would):
 * copied in slices, since a spread of a large section is one step the size of the section.
 */
async function withInternal<T>(providers: Record<string, T>, internal: Record<string, T>, slicer: Slicer): Promise<Record<string, T>> {
  const out: Record<string, T> = {};
  const names = new NameRecorder();
  for (const name of await namesSliced(providers, slicer)) {
    if (nearTableGrowth(names.names.length)) await slicer.fresh();
    names.add(name);
    out[name] = providers[name]!;
    const pending = slicer.tick();
    if (pending) await pending;
  }
  for (const name in internal) {
    if (!Object.hasOwn(out, name)) names.add(name);
    out[name] = internal[name]!;
  }
  names.record(out);
  return out;
}

/** Services of `previous` the new build did not reuse; they are closed once the previous build has drained. */
export function retiredServices(previous: BuiltConfiguration, next: BuiltConfiguration | undefined): ReturnType<typeof retiredServiceEntries> {
  return retiredServiceEntries(previous.services, next?.services);
}
