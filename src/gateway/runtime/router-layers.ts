/**
 * Traefik v3.6+ multi-layer routing (docs: routing/multi-layer-routing.md): a router that other routers name in
 * their `parentRefs` matches, runs its middlewares, and then hands the — possibly changed — request to the first of
 * its children whose rule matches (priority as usual), whose middlewares and service then serve it. Children are
 * reachable only through a parent. Traefik's rules are checked here: a parent has no `service`; a child has no
 * `entryPoints`, `tls` or `observability`; a leaf (a child nobody names as parent) has a service; a parent must
 * exist; a cycle of parents is an error. No child matching answers 404, as no router matching does.
 */
import { NEVER_YIELD, type Slicer } from '../../lib/slices.ts';
import type { RouterConfig } from '../config/dynamic.ts';
import { providerOf, qualifyName } from '../config/merge.ts';
import type { GatewayRequest, Handler, ResponseWriter } from '../http/types.ts';
import { compileRoutes, type CompiledRoutes, type MatchRequest } from '../rules/index.ts';
import { notFoundHandler } from './internal.ts';

/** The parents each router names, qualified; empty for a root router. */
export function parentsOf(name: string, router: Pick<RouterConfig, 'parentRefs'>): string[] {
  const provider = providerOf(name);
  return (router.parentRefs ?? []).map((p) => qualifyName(p, provider));
}

/** Children by parent name, for every router that is named as a parent. */
export async function childrenByParent(routers: ReadonlyMap<string, Pick<RouterConfig, 'parentRefs'>>, slicer: Slicer = NEVER_YIELD): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [name, router] of routers) {
    if (router.parentRefs === undefined || router.parentRefs.length === 0) {
      // Most routers are roots: nothing to record, and no empty list to allocate per router.
      const pending = slicer.tick();
      if (pending) await pending;
      continue;
    }
    for (const parent of parentsOf(name, router)) {
      let list = out.get(parent);
      if (list === undefined) out.set(parent, (list = []));
      list.push(name);
    }
    const pending = slicer.tick();
    if (pending) await pending;
  }
  for (const list of out.values()) list.sort();
  return out;
}

/** What is wrong with a router's place in the hierarchy (Traefik's rules), or undefined. */
export function layerProblem(name: string, router: RouterConfig, isParent: boolean, exists: (name: string) => boolean): string | undefined {
  if (isParent && router.service) return 'a parent router must not have a service';
  // A root router (nearly all of them) has nothing more to check: no list of its parents is made.
  if (router.parentRefs !== undefined && router.parentRefs.length > 0) {
    const parents = parentsOf(name, router);
    if (router.entryPoints && router.entryPoints.length > 0) return 'a child router must not have entryPoints';
    if (router.tls) return 'a child router must not have tls';
    if (router.observability) return 'a child router must not have observability';
    const missing = parents.find((p) => !exists(p));
    if (missing !== undefined) return `parent router "${missing}" does not exist`;
    if (!isParent && !router.service) return 'the service is missing on the router';
  }
  return undefined;
}

export interface ChildRoute {
  name: string;
  rule: string;
  priority?: number;
  ruleSyntax?: 'v2' | 'v3';
  serviceName: string;
  handler: Handler;
}

/**
 * The handler that ends a parent's chain: matches the request as it is now against the children's rules and calls
 * the winner. `routerName`/`serviceName` then name the child, as the access log and metrics should.
 */
export function childDispatcher(children: ChildRoute[]): { handler: Handler; errors: Map<string, string> } {
  const { routes, errors } = compileRoutes(children.map((c) => ({
    name: c.name, rule: c.rule, ...(c.priority ? { priority: c.priority } : {}), ruleSyntax: c.ruleSyntax, entryPoints: [], target: c,
  })));
  return { handler: dispatchTo(routes), errors };
}

function dispatchTo(routes: CompiledRoutes<ChildRoute>): Handler {
  return (req: GatewayRequest, rw: ResponseWriter) => {
    const q = req.url.indexOf('?');
    const input: MatchRequest = {
      method: req.method,
      host: req.host,
      path: q === -1 ? req.url : req.url.slice(0, q),
      query: q === -1 ? '' : req.url.slice(q + 1),
      headers: req.headers,
      rawHeaders: undefined,
      clientIp: req.clientIp,
    };
    const found = routes.match(req.entryPoint, input);
    if (found === undefined) return notFoundHandler(req, rw);
    req.routerName = found.target.name;
    req.serviceName = found.target.serviceName;
    return found.target.handler(req, rw);
  };
}
