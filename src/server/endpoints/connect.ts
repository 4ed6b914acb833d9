/**
 * /v1/catalog/connect/:service and /v1/health/connect/:service (agent/catalog_endpoint.go, health_endpoint.go with
 * Connect=true): the instances that accept Connect traffic for a service — its `connect-proxy` services whose
 * `Proxy.DestinationServiceName` is the service, and its instances registered Connect-native — in the catalog's
 * and the health view's shapes, with ?tag, ?node-meta, ?passing and ?filter as the plain views have them.
 *
 * ACLs as Consul's Connect queries apply them: without `service:read` on the destination service the answer is an
 * empty list (Catalog.ServiceNodes / Health.ServiceNodes with Connect "just return nil"); otherwise each instance is
 * kept only with `node:read` on its node and `service:read` on its own name (the proxy's), as in the plain views.
 */
import type { CatalogService } from '../../api/types.ts';
import { Tables, getNode, listConnectInstances } from '../catalog/index.ts';
import { filterOf, hasTags, nodeMetaFilters, satisfiesMeta, tagFilter } from '../catalog/params.ts';
import { catalogServiceToWire } from '../catalog/wire.ts';
import type { ServerDeps } from '../deps.ts';
import { ServiceNodeFields } from '../filter/schemas.ts';
import { blockingQuery } from '../http/blocking.ts';
import { readableEntries, serviceEntries } from './health.ts';
import { filterByAcl, filteredMeta } from '../acl/enforce.ts';
import type { ApiRouter } from '../http/router.ts';

export function registerConnectEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  const watches = [{ table: Tables.services }, { table: Tables.nodes }, { table: Tables.checks }];
  const index = (): number => store.tableIndex(Tables.services, Tables.nodes, Tables.checks);

  api.get('/v1/catalog/connect/:service', (ctx) => {
    const name = ctx.params.service!;
    const filter = filterOf(ctx.query, ServiceNodeFields);
    const meta = nodeMetaFilters(ctx.query);
    const tags = tagFilter(ctx.query);
    return blockingQuery(ctx, store, {
      watches,
      run: () => {
        const authz = ctx.authorizer();
        if (!authz.serviceRead(name)) return { index: index(), body: [] };
        const out: CatalogService[] = [];
        for (const svc of listConnectInstances(store, name)) {
          const node = getNode(store, svc.value.Node);
          if (!node || !satisfiesMeta(node.value.Meta, meta) || !hasTags(svc.value.Tags, tags)) continue;
          const wire = catalogServiceToWire(svc, node);
          if (filter && !filter(wire)) continue;
          out.push(wire);
        }
        const readable = filterByAcl(authz, out, (s) => authz.nodeRead(s.Node) && authz.serviceRead(s.ServiceName));
        return { index: index(), body: readable.items, ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
  });

  api.get('/v1/health/connect/:service', (ctx) => {
    const name = ctx.params.service!;
    const entries = serviceEntries(ctx.query);
    return blockingQuery(ctx, store, {
      watches,
      run: () => {
        if (!ctx.authorizer().serviceRead(name)) return { index: index(), body: [] };
        return { index: index(), ...readableEntries(ctx, entries(store, listConnectInstances(store, name))) };
      },
    });
  });
}
