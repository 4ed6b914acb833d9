/**
 * The TCP and UDP part of the dashboard API (Traefik's pkg/api handler_tcp.go and handler_udp.go):
 * `/api/tcp/{routers,services,middlewares}[/{name}]` and `/api/udp/{routers,services}[/{name}]`, each element as
 * configured plus `status`, `error` (when there is one), `using` (routers) or `usedBy`, `name`, `provider` and, for
 * services and middlewares, `type`. Lists take `search` (the name, and a TCP router's rule) and `status`, sorted
 * and paged as the HTTP lists are. Empty `using`/`usedBy`/`error` are left out, as Go's `omitempty` leaves them.
 */
import { providerOf } from '../config/merge.ts';
import type { ResponseWriter } from '../http/types.ts';
import type { LayerElementInfo, LayerInfo, RuntimeInfo } from '../runtime/info.ts';
import { apiError, json, keep, kindOf, list, parseListQuery, type Row } from './query.ts';

type Kind = 'routers' | 'services' | 'middlewares';

const SINGULAR: Record<Kind, string> = { routers: 'router', services: 'service', middlewares: 'middleware' };

export function layer4Representation(name: string, item: LayerElementInfo, kind: Kind): Row {
  const out: Row = { ...item.config, name, provider: providerOf(name), status: item.status };
  if (kind !== 'routers') {
    const type = kindOf(item.config);
    if (type !== undefined) out.type = type;
  }
  if (item.using !== undefined && item.using.length > 0) out.using = item.using;
  if (item.usedBy !== undefined && item.usedBy.length > 0) out.usedBy = item.usedBy;
  if (item.error !== undefined && item.error.length > 0) out.error = item.error;
  return out;
}

function layerOf(info: RuntimeInfo, protocol: string): LayerInfo | undefined {
  return protocol === 'tcp' ? info.tcp : protocol === 'udp' ? info.udp : undefined;
}

/** `section` is `tcp/routers`, `udp/services`, …; `id` the decoded name when the path has one. */
export function serveLayer4(rw: ResponseWriter, section: string, id: string | undefined, query: URLSearchParams, info: RuntimeInfo): Promise<void> {
  const [protocol, rawKind] = section.split('/') as [string, Kind];
  const items = layerOf(info, protocol)?.[rawKind] ?? new Map<string, LayerElementInfo>();
  if (id !== undefined) {
    const item = items.get(id);
    return item ? json(rw, 200, layer4Representation(id, item, rawKind)) : apiError(rw, 404, `${SINGULAR[rawKind]} not found: ${id}`);
  }
  const lq = parseListQuery(query);
  if (typeof lq === 'string') return apiError(rw, 400, lq);
  const rows: Row[] = [];
  for (const [name, item] of items) {
    // Traefik's keepTCPRouter searches the rule too; UDP routers have none.
    const rule = rawKind === 'routers' && typeof item.config.rule === 'string' ? item.config.rule : '';
    if (keep(name, item.status, lq, rule)) rows.push(layer4Representation(name, item, rawKind));
  }
  return list(rw, rows, lq);
}

/** `/api/rawdata`'s `tcpRouters`, `tcpMiddlewares`, `tcpServices`, `udpRouters`, `udpServices` (pkg/api RunTimeRepresentation). */
export function layer4Rawdata(info: RuntimeInfo): Record<string, Record<string, Row>> {
  const out: Record<string, Record<string, Row>> = {};
  const add = (key: string, items: Map<string, LayerElementInfo> | undefined, kind: Kind) => {
    if (items === undefined || items.size === 0) return;
    out[key] = Object.fromEntries([...items].map(([name, item]) => {
      const { name: _n, provider: _p, type: _t, ...rest } = layer4Representation(name, item, kind);
      return [name, rest as Row];
    }));
  };
  add('tcpRouters', info.tcp?.routers, 'routers');
  add('tcpMiddlewares', info.tcp?.middlewares, 'middlewares');
  add('tcpServices', info.tcp?.services, 'services');
  add('udpRouters', info.udp?.routers, 'routers');
  add('udpServices', info.udp?.services, 'services');
  return out;
}
