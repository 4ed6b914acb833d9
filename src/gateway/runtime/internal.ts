/**
 * Traefik's `internal` provider (pkg/provider/traefik): the routers the static configuration implies — `api@internal`
 * and `dashboard@internal` with `api.insecure`, `ping@internal`, `prometheus@internal` unless `manualRouting`, and the
 * entry point redirections — plus the small handlers behind `ping@internal`, `dashboard@internal`, `noop@internal`.
 */
import type { DynamicConfig, RouterConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import type { Handler, ResponseWriter } from '../http/types.ts';

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
 * `dashboard@internal`. The Traefik dashboard UI itself is part of Meshgate's web app (src/ui, served by the
 * server); the gateway answers `/` with Traefik's redirect to `/dashboard/` and a small page pointing at the API.
 */
export function dashboardHandler(basePath: string): Handler {
  const root = joinBase(basePath, '/');
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>Meshgate gateway</title></head><body>` +
    `<h1>Meshgate gateway</h1><p>The dashboard lives in the Meshgate UI. This gateway's state: ` +
    `<a href="${joinBase(basePath, '/api/overview')}">overview</a>, <a href="${joinBase(basePath, '/api/http/routers')}">routers</a>, ` +
    `<a href="${joinBase(basePath, '/api/http/services')}">services</a>, <a href="${joinBase(basePath, '/api/http/middlewares')}">middlewares</a>.</p></body></html>`;
  return (req, rw) => {
    const path = req.url.split('?')[0]!;
    if (path === root || path === root.replace(/\/$/, '')) return respond(rw, 302, 'text/plain; charset=utf-8', '', { location: joinBase(basePath, '/dashboard/') });
    if (path.startsWith(joinBase(basePath, '/dashboard'))) return respond(rw, 200, 'text/html; charset=utf-8', page);
    return notFoundHandler(req, rw);
  };
}
