/**
 * The router manager of one build (Traefik's pkg/server/router/router.go): applies the entry points' models
 * (`http.middlewares` in front, `http.tls` by default), checks each router's entry points, TLS options, rule and
 * service, builds its handler — middleware chain around the service — and hands the route table its input. A
 * problem with one router disables that router only, recorded as Traefik's runtime API shows it. Routers are
 * visited in name order, in slices (`Slicer`), so a configuration of any size builds beside live traffic.
 */
import { NameRecorder, namesSliced, nearTableGrowth, sortSliced, type Slicer } from '../../lib/slices.ts';
import type { RouterConfig } from '../config/dynamic.ts';
import { providerOf, qualifyName } from '../config/merge.ts';
import type { StaticConfig } from '../config/static.ts';
import type { Handler } from '../http/types.ts';
import { addError, type RouterInfo, type RuntimeInfo } from './info.ts';
import { INTERNAL_PROVIDER } from './internal.ts';
import type { MiddlewareManager } from './middleware-manager.ts';
import type { ServiceManager } from './service-manager.ts';
import type { TlsManager } from './tls-manager.ts';
import { childDispatcher, childrenByParent, layerProblem, type ChildRoute } from './router-layers.ts';

/** What the router needs to dispatch a match: names for the access log and metrics, and the built chain. */
export interface RouteTarget {
  readonly routerName: string;
  readonly serviceName: string;
  readonly handler: Handler;
}

/** One enabled router as the route table compiles it. */
export interface RouteInput {
  name: string;
  rule: string;
  priority?: number;
  entryPoints: readonly string[];
  target: RouteTarget;
  /** `v2` runs the rule with Traefik v2's matchers (the router's `ruleSyntax`, else `core.defaultRuleSyntax`). */
  ruleSyntax?: 'v2' | 'v3';
}

/** The route-table key of an entry point's TLS routers (a NUL cannot occur in an entry point's name). */
export function tlsRouteKey(entryPoint: string): string {
  return `${entryPoint}\u0000tls`;
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
 * Every router of the result is a new object (the sources' are never returned): the build takes them as its runtime
 * view and completes them in place (runtime/build.ts `initialInfo`), rather than copying 50,000 routers once more.
 */
export async function applyEntryPointModels(
  sources: Record<string, RouterConfig> | ReadonlyArray<Record<string, RouterConfig>>,
  staticConfig: StaticConfig,
  slicer: Slicer,
): Promise<Record<string, RouterConfig>> {
  // Several sources (the providers' routers, the internal ones) are read in turn rather than spread into one object
  // first: a spread of 50,000 routers is one step of ~80 ms. A later source wins a name, as the spread did.
  const list = Array.isArray(sources) ? sources : [sources as Record<string, RouterConfig>];
  const defaults = defaultEntryPoints(staticConfig);
  // One model text per entry point, not one per router and entry point.
  const models = new Map<string, string>();
  const modelOf = (ep: string): string => {
    let model = models.get(ep);
    if (model === undefined) {
      const http = staticConfig.entryPoints[ep]?.http;
      models.set(ep, (model = JSON.stringify([http?.middlewares ?? [], http?.tls ?? null])));
    }
    return model;
  };
  const out: Record<string, RouterConfig> = {};
  // The result's names, recorded (`recordedNames`) so the build lists its routers without enumerating them.
  const names = new NameRecorder();
  const put = (name: string, router: RouterConfig): void => {
    if (!Object.hasOwn(out, name)) names.add(name);
    out[name] = router;
  };
  // Traefik's entryPointModels carry core.defaultRuleSyntax to every root router without a ruleSyntax of its own
  // (internal routers set v3 themselves). Only v2 changes anything: an unset syntax already means v3.
  const v2ByDefault = staticConfig.core?.defaultRuleSyntax === 'v2';
  const applyModel = (name: string, given: RouterConfig): void => {
    // Multi-layer routing: only root routers take models (a child is reached through its parent, never an entry point).
    if (given.parentRefs && given.parentRefs.length > 0) {
      put(name, { ...given });
      return;
    }
    const router: RouterConfig = v2ByDefault && given.ruleSyntax === undefined && providerOf(name) !== INTERNAL_PROVIDER ? { ...given, ruleSyntax: 'v2' } : given;
    const eps = router.entryPoints && router.entryPoints.length > 0 ? router.entryPoints : defaults;
    const apply = (r: RouterConfig, ep: string | undefined): RouterConfig => {
      const http = ep ? staticConfig.entryPoints[ep]?.http : undefined;
      if (!http || providerOf(name) === INTERNAL_PROVIDER) return r;
      const copy = { ...r };
      if (http.middlewares && http.middlewares.length > 0) copy.middlewares = [...http.middlewares, ...(r.middlewares ?? [])];
      if (http.tls && !copy.tls) copy.tls = { ...(http.tls.options ? { options: http.tls.options } : {}), ...(http.tls.domains ? { domains: http.tls.domains } : {}) };
      return copy;
    };
    let single = true;
    for (let i = 1; i < eps.length && single; i++) single = modelOf(eps[i]!) === modelOf(eps[0]!);
    if (single) {
      put(name, apply({ ...router, entryPoints: eps }, eps[0]));
    } else {
      const at = name.lastIndexOf('@');
      for (const ep of eps) put(`${ep}-${name.slice(0, at)}${name.slice(at)}`, apply({ ...router, entryPoints: [ep] }, ep));
    }
  };
  for (let source = 0; source < list.length; source++) {
    const routers = list[source]!;
    // The merge recorded the providers' routers' names; otherwise they are enumerated on a turn of their own.
    const sourceNames = await namesSliced(routers, slicer);
    for (let i = 0; i < sourceNames.length; i++) {
      const name = sourceNames[i]!;
      if (shadowed(name, list, source)) continue;
      // Growing the result when it is large is one step: on a turn of its own.
      if (nearTableGrowth(names.names.length)) await slicer.fresh();
      applyModel(name, routers[name]!);
      const pending = slicer.tick();
      if (pending) await pending;
    }
  }
  names.record(out);
  return out;
}

const NO_NAMES: readonly string[] = Object.freeze([]);

/** A child router (multi-layer routing): it names parents. */
function hasParents(router: RouterConfig): boolean {
  return router.parentRefs !== undefined && router.parentRefs.length > 0;
}

/** True when a later source than `source` defines `name` too (it wins, as in `{ ...a, ...b }`). */
function shadowed(name: string, sources: ReadonlyArray<Record<string, RouterConfig>>, source: number): boolean {
  for (let later = source + 1; later < sources.length; later++) if (Object.hasOwn(sources[later]!, name)) return true;
  return false;
}

export interface RouterManagerDependencies {
  readonly staticConfig: StaticConfig;
  /** Wraps a router's chain (its observability: gateway/tracing); `router` is the router as built. */
  wrapRouter?(routerName: string, serviceName: string, handler: Handler, router: RouterInfo): Handler;
}

export class RouterManager {
  readonly #deps: RouterManagerDependencies;
  readonly #info: RuntimeInfo;
  readonly #services: ServiceManager;
  readonly #middlewares: MiddlewareManager;
  readonly #tls: TlsManager;
  /** Children by parent (multi-layer routing), known once `build` starts. */
  #children = new Map<string, string[]>();
  /** Built child routes (a child of two parents is built once), or the reason it cannot serve. */
  readonly #childRoutes = new Map<string, ChildRoute | Error>();
  readonly #buildingChildren = new Set<string>();
  /** `#using`'s results by entry point list. */
  readonly #usingByList = new Map<string, readonly string[]>();
  /** `#qualify`'s results by provider and name. */
  readonly #qualified = new Map<string, Map<string, string>>();

  constructor(deps: RouterManagerDependencies, info: RuntimeInfo, services: ServiceManager, middlewares: MiddlewareManager, tls: TlsManager) {
    this.#deps = deps;
    this.#info = info;
    this.#services = services;
    this.#middlewares = middlewares;
    this.#tls = tls;
  }

  /** Builds every router of `info` in name order; returns the route table's input (enabled routers only). */
  async build(slicer: Slicer): Promise<RouteInput[]> {
    await slicer.fresh();
    const names = [...this.#info.routers.keys()];
    // Names are unique, so the order is total: no tie-break needed. Sorted in slices (50,000 names: ~15 ms at once).
    await sortSliced(names, (a, b) => (a < b ? -1 : 1), slicer);
    this.#children = await childrenByParent(this.#info.routers, slicer);
    const routes: RouteInput[] = [];
    for (const name of names) {
      const info = this.#info.routers.get(name)!;
      if (hasParents(info)) {
        // A child is built through its parents; one no parent reaches still reports what is wrong with it.
        const problem = layerProblem(name, info, this.#children.has(name), (p) => this.#info.routers.has(p));
        if (problem !== undefined) addError(info, problem, true);
        continue;
      }
      const route = this.buildRouter(name, info);
      if (route) routes.push(route);
      const pending = slicer.tick();
      if (pending) await pending;
    }
    // A child no root reaches (its parents form a cycle) would never serve: say so, as Traefik does.
    // The sorted names again, not the map's entries: an entry array and an iterator result per router are garbage.
    for (const name of names) {
      const info = this.#info.routers.get(name)!;
      if (hasParents(info) && !this.#childRoutes.has(name) && !info.error) addError(info, 'router is not reachable: no parent of it is an enabled root router or a reachable child (a parent in error, or a parentRefs cycle)', true);
      const pending = slicer.tick();
      if (pending) await pending;
    }
    return routes;
  }

  /** One router: its handler and route, or undefined with the reason recorded on `router`. */
  buildRouter(name: string, router: RouterInfo): RouteInput | undefined {
    const { staticConfig } = this.#deps;
    const provider = providerOf(name);
    const using = this.#using(router);
    if (using.length === 0) {
      addError(router, 'no valid entryPoint for this router', true);
      return undefined;
    }
    router.using = using;
    // Traefik's router manager: a resolver the static configuration does not define is a warning, not a failure.
    if (router.tls?.certResolver && staticConfig.certificatesResolvers?.[router.tls.certResolver] === undefined) {
      addError(router, `Router uses a nonexistent certificate resolver: ${router.tls.certResolver}`, false);
    }
    let tlsOptions: string | undefined;
    if (router.tls) {
      const chosen = this.#tls.optionsFor(router.tls, provider);
      if ('error' in chosen) {
        addError(router, chosen.error, true);
        return undefined;
      }
      tlsOptions = chosen.options;
    }
    if (router.rule === undefined || router.rule === '') {
      addError(router, 'the rule is missing on the router', true);
      return undefined;
    }
    const isParent = this.#children.has(name);
    const problem = layerProblem(name, router, isParent, (p) => this.#info.routers.has(p));
    if (problem !== undefined) {
      addError(router, problem, true);
      return undefined;
    }
    if (isParent) return this.#parentRoute(name, router, tlsOptions);
    if (!router.service) {
      addError(router, 'the service is missing on the router', true);
      return undefined;
    }
    const serviceName = this.#qualify(router.service, provider);
    router.service = serviceName;
    let middlewareNames: readonly string[] = NO_NAMES;
    // Assigned only where the router has middlewares: an `undefined` added and then deleted turned every router's
    // runtime view into a dictionary-mode object (~0.5 KiB more each, kept while the configuration serves).
    if (router.middlewares !== undefined) middlewareNames = router.middlewares = router.middlewares.map((m) => this.#qualify(m, provider));
    else if (Object.hasOwn(router, 'middlewares')) delete router.middlewares;
    this.#info.services.get(serviceName)?.usedBy.push(name);
    for (const m of middlewareNames) this.#info.middlewares.get(m)?.usedBy.push(name);
    let handler: Handler;
    try {
      handler = this.#middlewares.chain(middlewareNames, this.#services.handler(serviceName));
    } catch (err) {
      addError(router, (err as Error).message, true);
      return undefined;
    }
    if (this.#deps.wrapRouter) handler = this.#deps.wrapRouter(name, serviceName, handler, router);
    if (tlsOptions !== undefined) this.#tls.addRouter(name, router.using, tlsOptions, router.rule);
    const route: RouteInput = {
      name,
      rule: router.rule,
      // A TLS router answers only requests that came over TLS, a plain one only plain requests (Traefik keeps
      // separate HTTP and HTTPS routers per entry point); the route table keys them apart.
      entryPoints: tlsOptions !== undefined ? router.using.map(tlsRouteKey) : router.using,
      target: { routerName: name, serviceName, handler },
    };
    if (router.priority !== undefined && router.priority !== 0) route.priority = router.priority;
    if (router.ruleSyntax !== undefined) route.ruleSyntax = router.ruleSyntax;
    return route;
  }

  /**
   * The entry points `router` is attached to: its own that exist, deduplicated and sorted; a missing one is a warning
   * on the router. One array per distinct list, shared by the routers that name the same entry points (nothing
   * changes it afterwards), instead of a Set and two arrays per router.
   */
  #using(router: RouterInfo): readonly string[] {
    const eps = router.entryPoints ?? NO_NAMES;
    const key = eps.length === 1 ? eps[0]! : eps.join('\u0000');
    const known = this.#usingByList.get(key);
    if (known !== undefined) return known;
    const { staticConfig } = this.#deps;
    const using: string[] = [];
    let missing = false;
    for (const ep of eps) {
      if (staticConfig.entryPoints[ep]) using.push(ep);
      else {
        addError(router, `entryPoint "${ep}" doesn't exist`, false);
        missing = true;
      }
    }
    const out = [...new Set(using)].sort();
    // A list naming a missing entry point is not remembered: each router naming it gets its own warning.
    if (!missing) this.#usingByList.set(key, out);
    return out;
  }

  /** `qualifyName`, one string per distinct name and provider for the whole build (50,000 routers on one service). */
  #qualify(name: string, provider: string): string {
    if (name.includes('@')) return name;
    let names = this.#qualified.get(provider);
    if (names === undefined) this.#qualified.set(provider, (names = new Map()));
    let qualified = names.get(name);
    if (qualified === undefined) names.set(name, (qualified = qualifyName(name, provider)));
    return qualified;
  }

  /** A root parent: its middlewares around the dispatch to its children. */
  #parentRoute(name: string, router: RouterInfo, tlsOptions: string | undefined): RouteInput | undefined {
    const middlewareNames = (router.middlewares ?? []).map((m) => qualifyName(m, providerOf(name)));
    let handler: Handler;
    try {
      handler = this.#middlewares.chain(middlewareNames, this.#childrenHandler(name));
    } catch (err) {
      addError(router, (err as Error).message, true);
      return undefined;
    }
    for (const m of middlewareNames) this.#info.middlewares.get(m)?.usedBy.push(name);
    if (tlsOptions !== undefined) this.#tls.addRouter(name, router.using ?? [], tlsOptions, router.rule!);
    return {
      name,
      rule: router.rule!,
      ...(router.priority !== undefined && router.priority !== 0 ? { priority: router.priority } : {}),
      entryPoints: tlsOptions !== undefined ? (router.using ?? []).map(tlsRouteKey) : router.using ?? [],
      target: { routerName: name, serviceName: '', handler },
      ...(router.ruleSyntax !== undefined ? { ruleSyntax: router.ruleSyntax } : {}),
    };
  }

  /** The dispatcher over the children of `parent` that can serve; throws when none can. */
  #childrenHandler(parent: string): Handler {
    const children: ChildRoute[] = [];
    for (const child of this.#children.get(parent) ?? []) {
      const built = this.#child(child);
      if (!(built instanceof Error)) children.push(built);
    }
    if (children.length === 0) throw new Error('no child router of this parent can serve');
    const { handler, errors } = childDispatcher(children);
    for (const [child, message] of errors) {
      const info = this.#info.routers.get(child);
      if (info) addError(info, message, true);
    }
    return handler;
  }

  /** One child router: its middlewares around its service, or around its own children when it is a parent too. */
  #child(name: string): ChildRoute | Error {
    const done = this.#childRoutes.get(name);
    if (done !== undefined) return done;
    const router = this.#info.routers.get(name)!;
    if (this.#buildingChildren.has(name)) return new Error(`router "${name}" is part of a parentRefs cycle`);
    this.#buildingChildren.add(name);
    let result: ChildRoute | Error;
    try {
      const isParent = this.#children.has(name);
      const problem = layerProblem(name, router, isParent, (p) => this.#info.routers.has(p))
        ?? (router.rule === undefined || router.rule === '' ? 'the rule is missing on the router' : undefined);
      if (problem !== undefined) throw new Error(problem);
      const provider = providerOf(name);
      const middlewareNames = (router.middlewares ?? []).map((m) => qualifyName(m, provider));
      let serviceName = '';
      let terminal: Handler;
      if (isParent) terminal = this.#childrenHandler(name);
      else {
        serviceName = qualifyName(router.service!, provider);
        router.service = serviceName;
        this.#info.services.get(serviceName)?.usedBy.push(name);
        terminal = this.#services.handler(serviceName);
      }
      for (const m of middlewareNames) this.#info.middlewares.get(m)?.usedBy.push(name);
      let handler = this.#middlewares.chain(middlewareNames, terminal);
      if (this.#deps.wrapRouter && serviceName) handler = this.#deps.wrapRouter(name, serviceName, handler, router);
      result = {
        name, rule: router.rule!, ...(router.priority ? { priority: router.priority } : {}), ...(router.ruleSyntax ? { ruleSyntax: router.ruleSyntax } : {}), serviceName, handler,
      };
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err));
      addError(router, result.message, true);
    } finally {
      this.#buildingChildren.delete(name);
    }
    this.#childRoutes.set(name, result);
    return result;
  }
}
