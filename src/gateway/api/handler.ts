/**
 * The dashboard API (`api@internal`), read-only, in Traefik's JSON shapes (pkg/api): `/api/overview`,
 * `/api/rawdata`, `/api/entrypoints[/{name}]`, `/api/http/{routers,services,middlewares}[/{name}]`, `/api/version`.
 * Lists accept Traefik's `search`, `status`, `serviceName`, `middlewareName`, `direction`, `page` and `per_page`
 * and report `X-Next-Page`. The handler is built per configuration, so a request sees one consistent snapshot.
 */
import { createRequire } from 'node:module';
import type { StaticConfig } from '../config/static.ts';
import { providerOf } from '../config/merge.ts';
import type { Handler, ResponseWriter } from '../http/types.ts';
import type { MiddlewareInfo, RouterInfo, RuntimeInfo, ServiceInfo } from '../runtime/info.ts';
import { respond } from '../runtime/internal.ts';
import { apiError, counts, json, keep, kindOf, list, parseListQuery, ZERO, type Row } from './query.ts';
import { layer4Rawdata, serveLayer4 } from './layer4.ts';

const require = createRequire(import.meta.url);
/** The package version, read once; src/gateway/api and dist/gateway/api are both three folders below the root. */
export const GATEWAY_VERSION: string = (() => {
  try {
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return 'dev';
  }
})();
export const GATEWAY_CODENAME = 'meshgate';

const startDate = new Date().toISOString();

export interface ApiHandlerOptions {
  readonly staticConfig: StaticConfig;
  readonly info: RuntimeInfo;
  /** Provider names for the overview (`File`, `ConsulCatalog`). */
  readonly providers: string[];
}

export function routerRepresentation(name: string, router: RouterInfo): Row {
  const { status, error, using, ...config } = router;
  const out: Row = { ...config, name, provider: providerOf(name), status, using: using ?? [] } as Row;
  if (config.tls && config.tls.options === undefined) out.tls = { ...config.tls, options: 'default' };
  if (error) out.error = error;
  return out;
}

export function serviceRepresentation(name: string, service: ServiceInfo): Row {
  const out: Row = { ...service.config, name, provider: providerOf(name), status: service.status, usedBy: service.usedBy };
  const type = kindOf(service.config);
  if (type) out.type = type;
  const serverStatus = service.serverStatus?.();
  if (serverStatus && Object.keys(serverStatus).length > 0) out.serverStatus = serverStatus;
  if (service.error) out.error = service.error;
  return out;
}

export function middlewareRepresentation(name: string, middleware: MiddlewareInfo): Row {
  const out: Row = { ...middleware.config, name, provider: providerOf(name), status: middleware.status, usedBy: middleware.usedBy };
  const type = kindOf(middleware.config);
  if (type) out.type = type;
  if (middleware.error) out.error = middleware.error;
  return out;
}

/** Sections that have `/{name}` endpoints. */
const ADDRESSABLE = new Set(['entrypoints', 'http/routers', 'http/services', 'http/middlewares', 'tcp/routers', 'tcp/services', 'tcp/middlewares', 'udp/routers', 'udp/services']);
/** Sections with a protocol folder (`/api/<protocol>/<kind>[/<id>]`). */
const LAYERED = new Set(['http', 'tcp', 'udp']);

function entryPointRows(staticConfig: StaticConfig): Row[] {
  const raw = (staticConfig.raw.entryPoints ?? {}) as Record<string, Record<string, unknown>>;
  return Object.values(staticConfig.entryPoints).map((ep) => ({ ...(raw[ep.name] ?? { address: ep.address }), name: ep.name }));
}

export function createApiHandler(options: ApiHandlerOptions): Handler {
  const { staticConfig, info } = options;
  const base = (staticConfig.api?.basePath ?? '/').replace(/\/+$/, '');
  return (req, rw) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return respond(rw, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
    const q = req.url.indexOf('?');
    let path = q === -1 ? req.url : req.url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1));
    if (base && path.startsWith(base)) path = path.slice(base.length);
    const parts = path.split('/').filter((p) => p !== '');
    if (parts[0] === 'debug' && parts[1] === 'vars' && parts.length === 2 && staticConfig.api?.debug) return json(rw, 200, debugVars());
    if (parts[0] !== 'api') return notFound(rw);
    // `/api/<section>[/<id>]` and `/api/http/<kind>[/<id>]`; ids are URL-encoded names (`web%40file`).
    const [, first, second, ...rest] = parts;
    const layered = LAYERED.has(first ?? '');
    const section = layered ? `${first}/${second ?? ''}` : (first ?? '');
    const idParts = layered ? rest : second === undefined ? [] : [second, ...rest];
    let id: string | undefined;
    try {
      id = idParts.length > 0 ? decodeURIComponent(idParts.join('/')) : undefined;
    } catch {
      return apiError(rw, 400, 'invalid escape in path');
    }
    const hasId = id !== undefined;
    if (hasId && !ADDRESSABLE.has(section)) return notFound(rw);
    switch (section) {
      case 'version':
        return json(rw, 200, { Version: GATEWAY_VERSION, Codename: GATEWAY_CODENAME, startDate });
      case 'overview':
        return json(rw, 200, {
          http: { routers: counts(info.routers.values()), services: counts(info.services.values()), middlewares: counts(info.middlewares.values()) },
          tcp: {
            routers: info.tcp ? counts(info.tcp.routers.values()) : ZERO,
            services: info.tcp ? counts(info.tcp.services.values()) : ZERO,
            middlewares: info.tcp ? counts(info.tcp.middlewares.values()) : ZERO,
          },
          udp: { routers: info.udp ? counts(info.udp.routers.values()) : ZERO, services: info.udp ? counts(info.udp.services.values()) : ZERO },
          features: { tracing: staticConfig.tracing ? 'OpenTelemetry' : '', metrics: staticConfig.metrics?.prometheus ? 'Prometheus' : '', accessLog: staticConfig.accessLog !== undefined },
          providers: options.providers,
        });
      case 'rawdata': {
        const strip = (row: Row) => {
          const { name: _n, provider: _p, type: _t, ...rest } = row;
          return rest;
        };
        return json(rw, 200, {
          routers: Object.fromEntries([...info.routers].map(([n, r]) => [n, strip(routerRepresentation(n, r))])),
          middlewares: Object.fromEntries([...info.middlewares].map(([n, m]) => [n, strip(middlewareRepresentation(n, m))])),
          services: Object.fromEntries([...info.services].map(([n, s]) => [n, strip(serviceRepresentation(n, s))])),
          ...layer4Rawdata(info),
        });
      }
      case 'entrypoints': {
        const rows = entryPointRows(staticConfig);
        if (hasId) {
          const row = rows.find((r) => r.name === id);
          return row ? json(rw, 200, row) : apiError(rw, 404, `entry point not found: ${id}`);
        }
        const lq = parseListQuery(query);
        return typeof lq === 'string' ? apiError(rw, 400, lq) : list(rw, rows, lq);
      }
      case 'http/routers': {
        if (hasId) {
          const router = info.routers.get(id!);
          return router ? json(rw, 200, routerRepresentation(id!, router)) : apiError(rw, 404, `router not found: ${id}`);
        }
        const lq = parseListQuery(query);
        if (typeof lq === 'string') return apiError(rw, 400, lq);
        const rows = [...info.routers]
          .filter(([n, r]) => keep(n, r.status, lq, r.rule ?? '')
            && (!lq.serviceName || r.service === lq.serviceName)
            && (!lq.middlewareName || (r.middlewares ?? []).includes(lq.middlewareName)))
          .map(([n, r]) => routerRepresentation(n, r));
        return list(rw, rows, lq);
      }
      case 'http/services': {
        if (hasId) {
          const service = info.services.get(id!);
          return service ? json(rw, 200, serviceRepresentation(id!, service)) : apiError(rw, 404, `service not found: ${id}`);
        }
        const lq = parseListQuery(query);
        if (typeof lq === 'string') return apiError(rw, 400, lq);
        return list(rw, [...info.services].filter(([n, s]) => keep(n, s.status, lq)).map(([n, s]) => serviceRepresentation(n, s)), lq);
      }
      case 'http/middlewares': {
        if (hasId) {
          const middleware = info.middlewares.get(id!);
          return middleware ? json(rw, 200, middlewareRepresentation(id!, middleware)) : apiError(rw, 404, `middleware not found: ${id}`);
        }
        const lq = parseListQuery(query);
        if (typeof lq === 'string') return apiError(rw, 400, lq);
        return list(rw, [...info.middlewares].filter(([n, m]) => keep(n, m.status, lq)).map(([n, m]) => middlewareRepresentation(n, m)), lq);
      }
      case 'tcp/routers':
      case 'tcp/services':
      case 'tcp/middlewares':
      case 'udp/routers':
      case 'udp/services':
        return serveLayer4(rw, section, id, query, info);
      default:
        return notFound(rw);
    }
  };
}

/** Go's expvar `/debug/vars` in spirit: the process's command line and memory, for `api.debug`. */
function debugVars(): Record<string, unknown> {
  const memory = process.memoryUsage();
  return {
    cmdline: process.argv,
    memstats: { Alloc: memory.heapUsed, HeapAlloc: memory.heapUsed, HeapSys: memory.heapTotal, Sys: memory.rss, External: memory.external },
    uptimeSeconds: process.uptime(),
    pid: process.pid,
  };
}

function notFound(rw: ResponseWriter): Promise<void> {
  return respond(rw, 404, 'text/plain; charset=utf-8', '404 page not found\n', { 'x-content-type-options': 'nosniff' });
}
