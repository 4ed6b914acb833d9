/**
 * Builds one configuration into what serves it, once (Traefik's router and service managers): routers assigned to
 * entry points, middleware chains from the registry, service handlers from the data plane, and one compiled route
 * table. A problem with one router (rule that does not parse, missing service or middleware, unknown entry point)
 * disables that router only, recorded as Traefik's runtime API shows it; everything else is built and serves.
 * A service whose configuration is unchanged since the previous build is reused as is, health state included.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig, RouterConfig } from '../config/dynamic.ts';
import { parseMiddleware } from '../config/dynamic.ts';
import { providerOf, qualifyName } from '../config/merge.ts';
import type { StaticConfig } from '../config/static.ts';
import type { Handler, Middleware } from '../http/types.ts';
import type { MiddlewareBuildContext } from '../middlewares/registry.ts';
import { serviceSchema } from '../services/schema.ts';
import { buildServiceHandler, type BuiltService, type HealthRegistry, type TransportRegistry } from '../services/index.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import { parseRuleSyntax, type RuleNode } from '../rules/parser.ts';
import { DEFAULT_TLS_OPTIONS, TlsConfiguration } from '../entrypoints/tls-configuration.ts';
import { addError, STATUS_ENABLED, type MiddlewareInfo, type RouterInfo, type RuntimeInfo, type ServiceInfo } from './info.ts';
import { internalConfiguration, INTERNAL_PROVIDER } from './internal.ts';

/** What the router needs to dispatch a match: names for the access log and metrics, and the built chain. */
export interface RouteTarget {
  readonly routerName: string;
  readonly serviceName: string;
  readonly handler: Handler;
}

export interface RouteMatcher<T> {
  match(entryPoint: string, req: { method: string; host: string; path: string; query: string; headers: import('node:http').IncomingHttpHeaders; clientIp: string }): { name: string; target: T } | undefined;
}

/** The route-table key of an entry point's TLS routers (a NUL cannot occur in an entry point's name). */
export function tlsRouteKey(entryPoint: string): string {
  return `${entryPoint}\u0000tls`;
}

export type CompileRoutes = <T>(routes: Array<{ name: string; rule: string; priority?: number; entryPoints: string[]; target: T }>) => {
  routes: RouteMatcher<T>;
  errors: Map<string, string>;
};

export interface BuildDependencies {
  readonly staticConfig: StaticConfig;
  readonly logger: Logger;
  readonly compileRoutes: CompileRoutes;
  /** Upstream pools per servers transport; updated by the runtime before each build, shared across builds. */
  readonly transports: TransportRegistry;
  /** Per-server health that outlives a configuration. */
  readonly healthRegistry: HealthRegistry;
  readonly metrics?: GatewayMetrics;
  /** Internal services by qualified name (`api@internal`, …); built per configuration since the API shows it. */
  internalServices(info: RuntimeInfo): Map<string, Handler>;
  /** State middlewares keep across reloads (rate-limit buckets, circuit state). */
  readonly middlewareState: Map<string, unknown>;
  /** Wraps a router's chain (router-level metrics, access log fields). */
  wrapRouter?(routerName: string, serviceName: string, handler: Handler): Handler;
  /** Wraps a service's handler (service-level metrics). */
  wrapService?(serviceName: string, handler: Handler): Handler;
}

interface ServiceEntry {
  readonly key: string;
  readonly built: BuiltService;
  readonly handler: Handler;
}

export interface BuiltConfiguration {
  readonly info: RuntimeInfo;
  readonly routes: RouteMatcher<RouteTarget>;
  /** The merged configuration this was built from, with internal routers and entry point defaults applied. */
  readonly config: DynamicConfig;
  /** Services by qualified name, for reuse by the next build. */
  readonly services: Map<string, ServiceEntry>;
  /** Certificates, TLS option sets and which option set each host gets on each entry point. */
  readonly tls: TlsConfiguration;
}

/** Entry points a router without `entryPoints` gets: those marked `asDefault`, else all but the internal `traefik`. */
export function defaultEntryPoints(staticConfig: StaticConfig): string[] {
  const all = Object.values(staticConfig.entryPoints);
  const marked = all.filter((ep) => ep.asDefault).map((ep) => ep.name);
  if (marked.length > 0) return marked.sort();
  return all.filter((ep) => ep.name !== 'traefik').map((ep) => ep.name).sort();
}

/**
 * Traefik's applyModel: entry point `http.middlewares` go in front of a router's own, entry point `http.tls` makes
 * its routers TLS by default. A router on entry points with different models is split into `<ep>-<name>` copies.
 */
function applyEntryPointModels(config: DynamicConfig, staticConfig: StaticConfig): Record<string, RouterConfig> {
  const defaults = defaultEntryPoints(staticConfig);
  const out: Record<string, RouterConfig> = {};
  for (const [name, router] of Object.entries(config.http.routers)) {
    const eps = router.entryPoints && router.entryPoints.length > 0 ? router.entryPoints : defaults;
    const modelOf = (ep: string) => {
      const http = staticConfig.entryPoints[ep]?.http;
      return JSON.stringify([http?.middlewares ?? [], http?.tls ?? null]);
    };
    const models = new Set(eps.map(modelOf));
    const apply = (r: RouterConfig, ep: string | undefined): RouterConfig => {
      const http = ep ? staticConfig.entryPoints[ep]?.http : undefined;
      if (!http || providerOf(name) === INTERNAL_PROVIDER) return r;
      const copy = { ...r };
      if (http.middlewares && http.middlewares.length > 0) copy.middlewares = [...http.middlewares, ...(r.middlewares ?? [])];
      if (http.tls && !copy.tls) copy.tls = { ...(http.tls.options ? { options: http.tls.options } : {}), ...(http.tls.domains ? { domains: http.tls.domains } : {}) };
      return copy;
    };
    if (models.size <= 1) {
      out[name] = apply({ ...router, entryPoints: eps }, eps[0]);
    } else {
      const at = name.lastIndexOf('@');
      for (const ep of eps) out[`${ep}-${name.slice(0, at)}${name.slice(at)}`] = apply({ ...router, entryPoints: [ep] }, ep);
    }
  }
  return out;
}

function fail(message: string): never {
  throw new Error(message);
}

export function buildConfiguration(merged: DynamicConfig, deps: BuildDependencies, previous?: BuiltConfiguration): BuiltConfiguration {
  const { staticConfig, logger } = deps;
  const internal = internalConfiguration(staticConfig);
  const config: DynamicConfig = {
    http: {
      routers: applyEntryPointModels({ ...merged, http: { ...merged.http, routers: { ...merged.http.routers, ...internal.routers } } }, staticConfig),
      services: merged.http.services,
      middlewares: { ...merged.http.middlewares, ...internal.middlewares },
      serversTransports: merged.http.serversTransports,
    },
    tls: merged.tls,
  };

  const info: RuntimeInfo = { routers: new Map(), services: new Map(), middlewares: new Map() };
  for (const [name, router] of Object.entries(config.http.routers)) info.routers.set(name, { ...router, status: STATUS_ENABLED });
  for (const [name, service] of Object.entries(config.http.services)) {
    info.services.set(name, { config: service as Record<string, unknown>, status: STATUS_ENABLED, usedBy: [] });
  }
  for (const [name, middleware] of Object.entries(config.http.middlewares)) info.middlewares.set(name, { config: middleware, status: STATUS_ENABLED, usedBy: [] });
  const internalHandlers = deps.internalServices(info);
  for (const name of internalHandlers.keys()) info.services.set(name, { config: {}, status: STATUS_ENABLED, usedBy: [] });

  // ---- services: built on demand from routers, memoised, cycles detected
  const services = new Map<string, ServiceEntry>();
  const serviceErrors = new Map<string, Error>();
  const building = new Set<string>();
  const keys = new Map<string, string>();

  const serviceKey = (name: string, seen = new Set<string>()): string => {
    const cached = keys.get(name);
    if (cached !== undefined) return cached;
    if (seen.has(name)) return `cycle:${name}`;
    seen.add(name);
    const raw = config.http.services[name] as Record<string, unknown> | undefined;
    const provider = providerOf(name);
    const parts: unknown[] = [raw];
    const lb = raw?.loadBalancer as { serversTransport?: string } | undefined;
    if (lb) parts.push(lb.serversTransport ? config.http.serversTransports[qualifyName(lb.serversTransport, provider)] ?? null : null);
    const children: string[] = [];
    const w = raw?.weighted as { services?: Array<{ name: string }> } | undefined;
    if (w?.services) children.push(...w.services.map((s) => s.name));
    const m = raw?.mirroring as { service?: string; mirrors?: Array<{ name: string }> } | undefined;
    if (m?.service) children.push(m.service, ...(m.mirrors ?? []).map((x) => x.name));
    const f = raw?.failover as { service?: string; fallback?: string } | undefined;
    if (f?.service) children.push(f.service);
    if (f?.fallback) children.push(f.fallback);
    for (const child of children) {
      const q = qualifyName(child, provider);
      parts.push(internalHandlers.has(q) ? q : serviceKey(q, seen));
    }
    const key = JSON.stringify(parts);
    keys.set(name, key);
    return key;
  };

  const getService = (name: string): ServiceEntry | Handler => {
    const internalHandler = internalHandlers.get(name);
    if (internalHandler) return internalHandler;
    const done = services.get(name);
    if (done) return done;
    const failed = serviceErrors.get(name);
    if (failed) throw failed;
    const raw = config.http.services[name];
    if (raw === undefined) fail(`the service "${name}" does not exist`);
    if (building.has(name)) fail(`the service "${name}" is part of a cycle`);
    building.add(name);
    const serviceInfo = info.services.get(name)!;
    try {
      const key = serviceKey(name);
      const reused = previous?.services.get(name);
      let entry: ServiceEntry;
      if (reused && reused.key === key) {
        entry = reused;
      } else {
        const parsed = serviceSchema.safeParse(raw);
        if (!parsed.success) fail(`service "${name}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        const provider = providerOf(name);
        const config = parsed.data;
        // Transport references resolve within the service's provider, like every other reference.
        if (config.loadBalancer?.serversTransport) config.loadBalancer.serversTransport = qualifyName(config.loadBalancer.serversTransport, provider);
        const built = buildServiceHandler(name, config, {
          resolveService: (child) => {
            const q = qualifyName(child, provider);
            const got = getService(q);
            info.services.get(q)?.usedBy.push(name);
            return typeof got === 'function' ? got : got.handler;
          },
          transports: deps.transports,
          healthRegistry: deps.healthRegistry,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
          logger: logger.child({ service: name }),
        });
        const handler = deps.wrapService ? deps.wrapService(name, built.handler) : built.handler;
        entry = { key, built, handler };
      }
      const built = entry.built;
      serviceInfo.serverStatus = () => built.status().serverStatus;
      services.set(name, entry);
      return entry;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      addError(serviceInfo, error.message, true);
      serviceErrors.set(name, error);
      throw error;
    } finally {
      building.delete(name);
    }
  };

  // ---- middlewares: parsed and created once per name, applied per router
  const middlewares = new Map<string, Middleware>();
  const middlewareErrors = new Map<string, Error>();
  const resolving = new Set<string>();
  const getMiddleware = (name: string): Middleware => {
    const done = middlewares.get(name);
    if (done) return done;
    const failed = middlewareErrors.get(name);
    if (failed) throw failed;
    const raw = config.http.middlewares[name];
    if (raw === undefined) fail(`middleware "${name}" does not exist`);
    if (resolving.has(name)) fail(`middleware "${name}" is part of a chain cycle`);
    const mwInfo = info.middlewares.get(name)!;
    resolving.add(name);
    try {
      const parsed = parseMiddleware(raw, name);
      if ('error' in parsed) fail(parsed.error);
      const provider = providerOf(name);
      const context: MiddlewareBuildContext = {
        name,
        provider,
        logger: logger.child({ middleware: name }),
        resolveMiddleware: (other) => {
          const q = qualifyName(other, provider);
          const mw = getMiddleware(q);
          info.middlewares.get(q)?.usedBy.push(name);
          return mw;
        },
        resolveService: (other) => {
          const q = qualifyName(other, provider);
          const got = getService(q);
          info.services.get(q)?.usedBy.push(name);
          return typeof got === 'function' ? got : got.handler;
        },
        state: deps.middlewareState,
      };
      const mw = parsed.definition.create(parsed.config, context);
      middlewares.set(name, mw);
      return mw;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      addError(mwInfo, error.message, true);
      middlewareErrors.set(name, error);
      throw error;
    } finally {
      resolving.delete(name);
    }
  };

  // ---- TLS: option sets resolved once; contexts of unchanged pairs come from the previous build
  const tls = new TlsConfiguration(config.tls, previous?.tls);
  for (const problem of tls.problems) logger.error({ tls: problem }, 'TLS configuration problem');
  for (const [name, message] of tls.optionErrors()) logger.error({ tlsOptions: name, err: message }, `TLS options ${name} are invalid; routers using them are disabled`);
  const tlsRouters: Array<{ name: string; entryPoints: string[]; options: string; hosts: string[] }> = [];

  // ---- routers
  const routes: Array<{ name: string; rule: string; priority?: number; entryPoints: string[]; target: RouteTarget }> = [];
  for (const [name, routerInfo] of [...info.routers].sort(([a], [b]) => (a < b ? -1 : 1))) {
    buildRouter(name, routerInfo);
  }

  function buildRouter(name: string, router: RouterInfo): void {
    const provider = providerOf(name);
    const using: string[] = [];
    for (const ep of router.entryPoints ?? []) {
      if (staticConfig.entryPoints[ep]) using.push(ep);
      else addError(router, `entryPoint "${ep}" doesn't exist`, false);
    }
    if (using.length === 0) {
      addError(router, 'no valid entryPoint for this router', true);
      return;
    }
    router.using = [...new Set(using)].sort();
    if (router.tls?.certResolver) {
      addError(router, `tls.certResolver "${router.tls.certResolver}" is ignored: Meshgate has no ACME resolver; certificates come from tls.certificates`, false);
    }
    let tlsOptions: string | undefined;
    if (router.tls) {
      // Traefik: `default` is never qualified; any other name resolves within the router's provider.
      const wanted = router.tls.options;
      tlsOptions = !wanted || wanted === DEFAULT_TLS_OPTIONS ? DEFAULT_TLS_OPTIONS : qualifyName(wanted, provider);
      const problem = tls.optionsError(tlsOptions);
      if (problem !== undefined) {
        addError(router, problem, true);
        return;
      }
    }
    if (router.rule === undefined || router.rule === '') {
      addError(router, 'the rule is missing on the router', true);
      return;
    }
    if (!router.service) {
      addError(router, 'the service is missing on the router', true);
      return;
    }
    const serviceName = qualifyName(router.service, provider);
    const middlewareNames = (router.middlewares ?? []).map((m) => qualifyName(m, provider));
    router.service = serviceName;
    router.middlewares = router.middlewares ? middlewareNames : undefined;
    if (router.middlewares === undefined) delete router.middlewares;
    info.services.get(serviceName)?.usedBy.push(name);
    for (const m of middlewareNames) info.middlewares.get(m)?.usedBy.push(name);
    let handler: Handler;
    try {
      const got = getService(serviceName);
      handler = typeof got === 'function' ? got : got.handler;
      for (let i = middlewareNames.length - 1; i >= 0; i--) handler = getMiddleware(middlewareNames[i]!)(handler);
    } catch (err) {
      addError(router, (err as Error).message, true);
      return;
    }
    if (deps.wrapRouter) handler = deps.wrapRouter(name, serviceName, handler);
    if (tlsOptions !== undefined) tlsRouters.push({ name, entryPoints: router.using, options: tlsOptions, hosts: ruleHosts(router.rule) });
    routes.push({
      name,
      rule: router.rule,
      ...(router.priority !== undefined && router.priority !== 0 ? { priority: router.priority } : {}),
      // A TLS router answers only requests that came over TLS, a plain one only plain requests (Traefik keeps
      // separate HTTP and HTTPS routers per entry point); the route table keys them apart.
      entryPoints: tlsOptions !== undefined ? router.using.map(tlsRouteKey) : router.using,
      target: { routerName: name, serviceName, handler },
    });
  }

  const compiled = deps.compileRoutes(routes);
  for (const [name, message] of compiled.errors) {
    const router = info.routers.get(name);
    if (router) addError(router, message, true);
  }

  assignTlsOptions(tls, tlsRouters.filter((r) => info.routers.get(r.name)?.status !== 'disabled'), info, logger);

  for (const item of [...info.services.values(), ...info.middlewares.values()]) item.usedBy = [...new Set(item.usedBy)].sort();
  for (const [name, router] of info.routers) {
    if (router.error) logger.error({ router: name, errors: router.error }, `router ${name} ${router.status === 'disabled' ? 'disabled' : 'has warnings'}`);
  }
  return { info, routes: compiled.routes, config, services, tls };
}

/** Host names a rule's `Host(...)` matchers name (not under `!`), lower-case: what TLS options map onto (Traefik's ParseDomains). */
function ruleHosts(rule: string): string[] {
  let tree: RuleNode;
  try {
    tree = parseRuleSyntax(rule);
  } catch {
    // The route compiler reports the rule's error on the router; it has no hosts to give TLS options to.
    return [];
  }
  const hosts: string[] = [];
  const walk = (node: RuleNode): void => {
    if (node.kind === 'matcher') { if (node.name === 'Host') hosts.push(...node.args.map((h) => h.toLowerCase())); }
    else if (node.kind !== 'not') { walk(node.left); walk(node.right); }
  };
  walk(tree);
  return hosts;
}

/**
 * Traefik's TLS option mapping: on each entry point, a host takes the option set of the routers whose Host rule names
 * it. Routers that disagree on a host get a warning and the host falls back to `default`, as Traefik does.
 */
function assignTlsOptions(tls: TlsConfiguration, routers: Array<{ name: string; entryPoints: string[]; options: string; hosts: string[] }>, info: RuntimeInfo, logger: Logger): void {
  const byEntryPoint = new Map<string, Map<string, Map<string, string[]>>>();
  for (const r of routers) {
    for (const ep of r.entryPoints) {
      const hosts = byEntryPoint.get(ep) ?? new Map<string, Map<string, string[]>>();
      byEntryPoint.set(ep, hosts);
      for (const host of r.hosts) {
        const options = hosts.get(host) ?? new Map<string, string[]>();
        hosts.set(host, options);
        options.set(r.options, [...(options.get(r.options) ?? []), r.name]);
      }
    }
  }
  for (const [ep, hosts] of byEntryPoint) {
    const chosen = new Map<string, string>();
    for (const [host, options] of hosts) {
      if (options.size === 1) {
        chosen.set(host, [...options.keys()][0]!);
        continue;
      }
      const message = `found different TLS options for routers on the same host ${host}, so using the default TLS options instead`;
      logger.warn({ entryPoint: ep, host, tlsOptions: [...options.keys()] }, message);
      for (const names of options.values()) for (const name of names) { const router = info.routers.get(name); if (router) addError(router, message, false); }
    }
    tls.setHostOptions(ep, chosen);
  }
}

/** Services of `previous` the new build did not reuse; they are closed once the previous build has drained. */
export function retiredServices(previous: BuiltConfiguration, next: BuiltConfiguration | undefined): BuiltService[] {
  const out: BuiltService[] = [];
  for (const [name, entry] of previous.services) {
    if (next?.services.get(name) !== entry) out.push(entry.built);
  }
  return out;
}
