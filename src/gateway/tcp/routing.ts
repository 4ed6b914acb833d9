/**
 * The TCP routers of one configuration, per entry point (Traefik's pkg/server/router/tcp Manager and Router): each
 * router's rule compiled once (rules.ts), its middlewares and service built (middlewares.ts, services.ts), and two
 * route lists per entry point — routers without `tls` (matched on plain connections) and routers with `tls`
 * (passthrough or terminated; matched on a ClientHello) — sorted by priority, highest first (ties by name, so the
 * order is stable). A router with a problem is left out and its error reported; the others serve.
 */
import type { Logger } from '../../lib/logger.ts';
import { tcpRouterSchema, type TcpSection } from '../config/schema/tcp.ts';
import { compileTcpRule, type ConnData, type ConnMatcher } from './rules.ts';
import { TcpServices } from './services.ts';
import { buildTcpMiddleware } from './middlewares.ts';
import type { TcpHandler, TcpMiddleware } from './types.ts';
import { qualifyIn } from '../config/merge.ts';
import { addError, addUsedBy, initialLayerInfo, type LayerInfo } from '../runtime/info.ts';
import type { Svid } from '../spiffe/source.ts';

export interface TcpRoute {
  readonly name: string;
  readonly match: ConnMatcher;
  readonly catchAll: boolean;
  readonly priority: number;
  /** `passthrough`: the TLS bytes go to the service as they are; `terminate`: the gateway handshakes first. */
  readonly tls: 'none' | 'passthrough' | 'terminate';
  /** The qualified `tls.options` name for a terminating route. */
  readonly tlsOptions: string;
  readonly handler: TcpHandler;
}

export class TcpEntryRouting {
  readonly plain: readonly TcpRoute[];
  readonly secure: readonly TcpRoute[];

  constructor(plain: TcpRoute[], secure: TcpRoute[]) {
    const order = (a: TcpRoute, b: TcpRoute) => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    this.plain = plain.sort(order);
    this.secure = secure.sort(order);
  }

  matchPlain(conn: ConnData): TcpRoute | undefined {
    for (const route of this.plain) if (route.match(conn)) return route;
    return undefined;
  }

  matchTls(conn: ConnData): TcpRoute | undefined {
    for (const route of this.secure) if (route.match(conn)) return route;
    return undefined;
  }
}

export interface TcpRoutingOptions {
  /** Every TCP entry point of the static configuration. */
  readonly entryPoints: readonly string[];
  /** Where a router without `entryPoints` goes (Traefik: the `asDefault` ones, else all). */
  readonly defaultEntryPoints: readonly string[];
  readonly logger: Logger;
  /** The gateway's current SVID, for TCP servers transports with `tls.spiffe`. */
  readonly svid?: () => Svid | undefined;
  /** Static `core.defaultRuleSyntax`: the syntax of routers without their own `ruleSyntax` (Traefik's TCP models). */
  readonly defaultRuleSyntax?: 'v2' | 'v3' | undefined;
}

export interface TcpRouting {
  readonly byEntryPoint: ReadonlyMap<string, TcpEntryRouting>;
  /** Router name → why it does not serve. */
  readonly errors: ReadonlyMap<string, string>;
  /** Every router, service and middleware with its status and errors, as Traefik's API reports them. */
  readonly info: LayerInfo;
}

export function buildTcpRouting(section: TcpSection | undefined, options: TcpRoutingOptions): TcpRouting {
  const errors = new Map<string, string>();
  const lists = new Map<string, { plain: TcpRoute[]; secure: TcpRoute[] }>();
  const info = initialLayerInfo(section);
  if (section === undefined) return { byEntryPoint: new Map(), errors, info };
  const services = new TcpServices({
    services: section.services, serversTransports: section.serversTransports, logger: options.logger, ...(options.svid ? { svid: options.svid } : {}),
  });
  const middlewares = new Map<string, TcpMiddleware | Error>();
  const middleware = (name: string): TcpMiddleware => {
    let got = middlewares.get(name);
    if (got === undefined) {
      const raw = section.middlewares[name];
      try {
        if (raw === undefined) throw new Error(`middleware "${name}" does not exist`);
        got = buildTcpMiddleware(name, raw);
      } catch (err) {
        got = err as Error;
      }
      middlewares.set(name, got);
    }
    if (got instanceof Error) throw got;
    return got;
  };
  for (const [name, raw] of Object.entries(section.routers)) {
    const routerInfo = info.routers.get(name)!;
    try {
      const config = tcpRouterSchema.parse(raw);
      const serviceName = qualifyIn(config.service, name);
      addUsedBy(info.services.get(serviceName), name);
      for (const m of config.middlewares ?? []) addUsedBy(info.middlewares.get(qualifyIn(m, name)), name);
      // Traefik's GetTCPRoutersByEntryPoints (pkg/config/runtime/runtime_tcp.go) runs before any handler is built:
      // an unknown entry point is a warning; a router left with none is disabled.
      const eps: string[] = [];
      for (const ep of config.entryPoints ?? options.defaultEntryPoints) {
        if (options.entryPoints.includes(ep)) {
          if (!eps.includes(ep)) eps.push(ep);
          continue;
        }
        errors.set(name, `entryPoint "${ep}" doesn't exist`);
        addError(routerInfo, `entryPoint "${ep}" doesn't exist`, false);
      }
      routerInfo.using = eps.sort();
      if (eps.length === 0) throw new Error('no valid entryPoint for this router');
      const rule = compileTcpRule(config.rule, config.priority, config.ruleSyntax ?? options.defaultRuleSyntax);
      let handler = services.handler(serviceName);
      const chain = (config.middlewares ?? []).map((m) => middleware(qualifyIn(m, name)));
      for (let i = chain.length - 1; i >= 0; i--) handler = chain[i]!(handler);
      const tls = config.tls === undefined ? 'none' : config.tls.passthrough ? 'passthrough' : 'terminate';
      const tlsOptions = config.tls?.options === undefined || config.tls.options === 'default' ? 'default' : qualifyIn(config.tls.options, name);
      const route: TcpRoute = { name, match: rule.match, catchAll: rule.catchAll, priority: rule.priority, tls, tlsOptions, handler };
      for (const ep of eps) {
        let list = lists.get(ep);
        if (list === undefined) lists.set(ep, (list = { plain: [], secure: [] }));
        (tls === 'none' ? list.plain : list.secure).push(route);
      }
    } catch (err) {
      const message = (err as Error).message;
      errors.set(name, message);
      addError(routerInfo, message, true);
      options.logger.error({ router: name, err: message }, `TCP router ${name} disabled`);
    }
  }
  for (const [name, message] of services.failures()) {
    const item = info.services.get(name);
    if (item !== undefined) addError(item, message, true);
  }
  for (const [name, built] of middlewares) {
    const item = info.middlewares.get(name);
    if (item !== undefined && built instanceof Error) addError(item, built.message, true);
  }
  const byEntryPoint = new Map<string, TcpEntryRouting>();
  for (const [ep, list] of lists) byEntryPoint.set(ep, new TcpEntryRouting(list.plain, list.secure));
  return { byEntryPoint, errors, info };
}
