/**
 * Traefik's `internal` provider (pkg/provider/traefik): the routers the static configuration implies — `api@internal`
 * and `dashboard@internal` with `api.insecure`, `ping@internal`, `prometheus@internal` unless `manualRouting`, and the
 * entry point redirections — plus the small handlers behind `ping@internal`, `dashboard@internal`, `noop@internal`.
 */
import type { DynamicConfig, RouterConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import type { Handler, ResponseWriter } from '../http/types.ts';
import { StaticSite } from '../../lib/http/static-files.ts';

/** Traefik gives its internal routers the highest priorities (above MAX_USER_PRIORITY) so no user rule shadows them. */
export const MAX_PRIORITY = Number.MAX_SAFE_INTEGER;

export const INTERNAL_PROVIDER = 'internal';

/** Internal services the static configuration enables (referenced as `<name>@internal`). */
export function internalServiceNames(staticConfig: StaticConfig): string[] {
  const names = ['noop@internal'];
  if (staticConfig.api) {
    names.push('api@internal');
    if (staticConfig.api.dashboard) names.push('dashboard@internal');
  }
  if (staticConfig.ping) names.push('ping@internal');
  if (staticConfig.metrics?.prometheus) names.push('prometheus@internal');
  return names;
}

function joinBase(basePath: string, path: string): string {
  return `${basePath.replace(/\/+$/, '')}${path}`;
}

/** The routers and middlewares of the `internal` provider, already qualified. */
export function internalConfiguration(staticConfig: StaticConfig): Pick<DynamicConfig['http'], 'routers' | 'middlewares'> {
  const routers: Record<string, RouterConfig> = {};
  const middlewares: Record<string, Record<string, unknown>> = {};
  const api = staticConfig.api;
  if (api?.insecure) {
    // With api.debug Traefik's API router also takes /debug (expvar and pprof there; /debug/vars here).
    const apiRule = `PathPrefix(\`${joinBase(api.basePath, '/api')}\`)`;
    routers['api@internal'] = {
      rule: api.debug ? `${apiRule} || PathPrefix(\`${joinBase(api.basePath, '/debug')}\`)` : apiRule,
      priority: MAX_PRIORITY - 1,
      entryPoints: ['traefik'],
      service: 'api@internal',
    };
    if (api.dashboard) {
      routers['dashboard@internal'] = {
        rule: `PathPrefix(\`${joinBase(api.basePath, '/')}\`)`,
        priority: MAX_PRIORITY - 2,
        entryPoints: ['traefik'],
        service: 'dashboard@internal',
      };
    }
  }
  const ping = staticConfig.ping;
  if (ping && !ping.manualRouting) {
    routers['ping@internal'] = { rule: 'PathPrefix(`/ping`)', priority: MAX_PRIORITY, entryPoints: [ping.entryPoint], service: 'ping@internal' };
  }
  const prom = staticConfig.metrics?.prometheus;
  if (prom && !prom.manualRouting) {
    routers['prometheus@internal'] = { rule: 'PathPrefix(`/metrics`)', priority: MAX_PRIORITY, entryPoints: [prom.entryPoint], service: 'prometheus@internal' };
  }
  for (const ep of Object.values(staticConfig.entryPoints)) {
    const redirect = ep.http?.redirections?.entryPoint;
    if (!redirect) continue;
    const target = staticConfig.entryPoints[redirect.to];
    const port = target ? portOf(target.address) : redirect.to.replace(/^:/, '');
    const name = `${ep.name}-to-${redirect.to}`;
    middlewares[`redirect-${name}@internal`] = { redirectScheme: { scheme: redirect.scheme, port, permanent: redirect.permanent } };
    routers[`${name}@internal`] = {
      rule: 'HostRegexp(`^.+$`)',
      priority: redirect.priority ?? MAX_PRIORITY - 1,
      entryPoints: [ep.name],
      middlewares: [`redirect-${name}@internal`],
      service: 'noop@internal',
    };
  }
  return { routers, middlewares };
}

function portOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon === -1 ? address : address.slice(colon + 1);
}

/** Writes a complete small response; the shape every internal handler needs. */
export function respond(rw: ResponseWriter, status: number, contentType: string, body: string, extra?: Record<string, string>): Promise<void> {
  rw.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), ...extra });
  rw.end(body);
  return Promise.resolve();
}

/** Go's http.NotFound, which Traefik answers when no router matches. */
export const notFoundHandler: Handler = (_req, rw) =>
  respond(rw, 404, 'text/plain; charset=utf-8', '404 page not found\n', { 'x-content-type-options': 'nosniff' });

/** `noop@internal`: the service of redirect routers; the middleware always answers first. */
export const noopHandler: Handler = (_req, rw) => respond(rw, 418, 'text/plain; charset=utf-8', "I'm a teapot\n");

/** `ping@internal`: `OK`, or `terminatingStatusCode` once the gateway is shutting down (load balancers drain it). */
export function pingHandler(terminatingStatusCode: number, isTerminating: () => boolean): Handler {
  return (req, rw) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return respond(rw, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
    const status = isTerminating() ? terminatingStatusCode : 200;
    return respond(rw, status, 'text/plain; charset=utf-8', status === 200 ? 'OK' : 'Service Unavailable');
  };
}

/**
 * `dashboard@internal`: Meshgate's web app (the build in dist/ui, the same one the server serves at /ui/) at
 * `<basePath>/dashboard/`, with Traefik's 302 from the base path to it (pkg/api/dashboard). Files are read once,
 * when the first gateway in this process builds its internal services.
 */
export function dashboardHandler(basePath: string, site: StaticSite = new StaticSite({ mount: joinBase(basePath, '/dashboard/') })): Handler {
  const root = joinBase(basePath, '/');
  return (req, rw) => {
    const path = req.url.split('?')[0]!;
    if (path === root || path === root.replace(/\/$/, '')) return respond(rw, 302, 'text/plain; charset=utf-8', '', { location: joinBase(basePath, '/dashboard/') });
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    const answer = site.resolve({ method: req.method, path, acceptEncoding: header('accept-encoding'), ifNoneMatch: header('if-none-match') });
    if (!answer) return notFoundHandler(req, rw);
    rw.writeHead(answer.status, answer.headers);
    rw.end(answer.body);
    return Promise.resolve();
  };
}
