/**
 * /v1/health/*: checks by node, service and state, and the service entries (node, service, checks) that every
 * healthy view follows. `?passing` drops an instance when any of its checks — the service's, or the node's own
 * (serfHealth, node maintenance) — is not passing, as Consul's filterNonPassing does.
 *
 * ACLs as agent/consul/health_endpoint.go applies them, after `?filter` (so the header counts only what the token
 * hid): a check needs `node:read` on its node and `service:read` on its service (filterHealthChecks), a service
 * entry `node:read` and `service:read` (filterCheckServiceNodes); what is left out is reported with
 * X-Consul-Results-Filtered-By-ACLs.
 */
import type { HealthCheck, ServiceEntry } from '../../api/types.ts';
import { Tables, getNode, instanceChecks, listChecks, listServiceInstances, nodeChecks, nodePrefix, serviceViewIndex } from '../catalog/index.ts';
import { boolParam, filterOf, hasTags, nodeMetaFilters, satisfiesMeta, tagFilter } from '../catalog/params.ts';
import { checkToWire, serviceEntryToWire } from '../catalog/wire.ts';
import type { StoredService } from '../catalog/tables.ts';
import type { StoreReader, StoredRow } from '../store/types.ts';
import type { ServerDeps } from '../deps.ts';
import { sortByNear } from '../coordinate/near.ts';
import { nearParam } from './catalog.ts';
import { CheckServiceNodeFields, HealthCheckFields } from '../filter/schemas.ts';
import { Errors } from '../../lib/errors.ts';
import { blockingQuery } from '../http/blocking.ts';
import { pathName, type ApiRouter, type RequestContext } from '../http/router.ts';
import { filterByAcl, filteredMeta } from '../acl/enforce.ts';

const STATES = new Set(['any', 'passing', 'warning', 'critical']);

export function registerHealthEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  const near = nearParam(deps);

  api.get('/v1/health/node/:node', (ctx) => {
    const node = pathName(ctx, 'node', 'Missing node name');
    const filter = filterOf(ctx.query, HealthCheckFields);
    return blockingQuery(ctx, store, {
      watches: [{ table: Tables.checks, prefix: nodePrefix(node) }],
      run: () => {
        let checks: HealthCheck[] = nodeChecks(store, node).map(checkToWire);
        if (filter) checks = checks.filter(filter);
        return { index: store.tableIndex(Tables.checks), ...readableChecks(ctx, checks) };
      },
    });
  });

  api.get('/v1/health/checks/:service', (ctx) => {
    const name = pathName(ctx, 'service', 'Missing service name');
    const filter = filterOf(ctx.query, HealthCheckFields);
    const meta = nodeMetaFilters(ctx.query);
    return blockingQuery(ctx, store, {
      watches: [{ table: Tables.serviceIndex, key: name }],
      run: () => {
        const out: HealthCheck[] = [];
        for (const svc of listServiceInstances(store, name)) {
          const node = getNode(store, svc.value.Node);
          if (!node || !satisfiesMeta(node.value.Meta, meta)) continue;
          for (const row of nodeChecks(store, svc.value.Node)) {
            if (row.value.ServiceID !== svc.value.ID) continue;
            const wire = checkToWire(row);
            if (!filter || filter(wire)) out.push(wire);
          }
        }
        return { index: serviceViewIndex(store, name), ...readableChecks(ctx, out) };
      },
    });
  });

  api.get('/v1/health/state/:state', (ctx) => {
    const state = pathName(ctx, 'state', 'Missing check state');
    if (!STATES.has(state)) throw Errors.badRequest('Invalid state');
    const filter = filterOf(ctx.query, HealthCheckFields);
    const meta = nodeMetaFilters(ctx.query);
    return blockingQuery(ctx, store, {
      watches: meta.length > 0 ? [{ table: Tables.checks }, { table: Tables.nodes }] : [{ table: Tables.checks }],
      run: () => {
        const out: HealthCheck[] = [];
        for (const row of listChecks(store)) {
          if (state !== 'any' && row.value.Status !== state) continue;
          if (meta.length > 0) {
            const node = getNode(store, row.value.Node);
            if (!node || !satisfiesMeta(node.value.Meta, meta)) continue;
          }
          const wire = checkToWire(row);
          if (!filter || filter(wire)) out.push(wire);
        }
        const index = meta.length > 0 ? store.tableIndex(Tables.checks, Tables.nodes) : store.tableIndex(Tables.checks);
        return { index, ...readableChecks(ctx, out) };
      },
    });
  });

  api.get('/v1/health/service/:service', (ctx) => {
    const name = pathName(ctx, 'service', 'Missing service name');
    deps.metrics.healthServiceQuery.inc({ service: name });
    const entries = serviceEntries(ctx.query);
    return blockingQuery(ctx, store, {
      watches: [{ table: Tables.serviceIndex, key: name }],
      run: () => {
        const { body, ...meta } = readableEntries(ctx, entries(store, listServiceInstances(store, name)));
        return { index: serviceViewIndex(store, name), body: sortByNear(store, near(ctx), body, (e) => e.Node.Node), ...meta };
      },
    });
  });
}

/** Consul's filterHealthChecks: the checks whose node and service the token may read, with the filtered header. */
function readableChecks(ctx: RequestContext, checks: HealthCheck[]): { body: HealthCheck[]; headers?: Record<string, string> } {
  const authz = ctx.authorizer();
  const readable = filterByAcl(authz, checks, (c) => authz.nodeRead(c.Node) && (c.ServiceName === '' || authz.serviceRead(c.ServiceName)));
  return { body: readable.items, ...filteredMeta(readable.filtered, ctx.token, authz) };
}

/** Consul's filterCheckServiceNodes: the entries whose node and service the token may read, with the filtered header. */
export function readableEntries(ctx: RequestContext, entries: ServiceEntry[]): { body: ServiceEntry[]; headers?: Record<string, string> } {
  const authz = ctx.authorizer();
  const readable = filterByAcl(authz, entries, (e) => authz.nodeRead(e.Node.Node) && authz.serviceRead(e.Service.Service));
  return { body: readable.items, ...filteredMeta(readable.filtered, ctx.token, authz) };
}

/**
 * The health view of service instances (`/v1/health/service`, `/v1/health/connect`): each instance with its node and
 * checks, narrowed by `?node-meta`, `?tag`, `?passing` and `?filter`, which are read once per request.
 */
export function serviceEntries(query: URLSearchParams): (store: StoreReader, instances: Iterable<StoredRow<StoredService>>) => ServiceEntry[] {
  const filter = filterOf(query, CheckServiceNodeFields);
  const meta = nodeMetaFilters(query);
  const tags = tagFilter(query);
  const passing = boolParam(query, 'passing', 'Invalid value for ?passing');
  return (store, instances) => {
    const out: ServiceEntry[] = [];
    for (const svc of instances) {
      const node = getNode(store, svc.value.Node);
      if (!node || !satisfiesMeta(node.value.Meta, meta) || !hasTags(svc.value.Tags, tags)) continue;
      const checks = instanceChecks(store, svc.value.Node, svc.value.ID);
      if (passing && checks.some((c) => c.value.Status !== 'passing')) continue;
      const entry = serviceEntryToWire(node, svc, checks);
      if (filter && !filter(entry)) continue;
      out.push(entry);
    }
    return out;
  };
}
