/**
 * /v1/catalog/*: registration writes and the node and service reads, as Consul's agent/catalog_endpoint.go serves
 * them. Every read is a blocking query watching only what it depends on (a service's views wake on its own index
 * row), supports ?filter where Consul does, ?near (the distance sort of ../coordinate/near.ts: stable, nodes
 * without a coordinate last in name order), ?node-meta, ?stale and ?consistent.
 *
 * ACLs as agent/consul/catalog_endpoint.go and acl.go's filters apply them: reads drop what the token may not read
 * (a node needs `node:read`, a service instance `node:read` on its node and `service:read` on its name; a node the
 * token may not read answers as a missing node) and say so with X-Consul-Results-Filtered-By-ACLs; registrations
 * are vetted as vetRegisterWithACL does (./catalog-acl.ts).
 */
import type { CatalogNode, CatalogNodeServiceList, CatalogServices } from '../../api/types.ts';
import {
  CatalogErrors, Tables, catalogWrite, getNode, listNodeServices, listNodes, listServiceInstances, listServices,
  nodePrefix, serviceViewIndex,
} from '../catalog/index.ts';
import { CatalogDeregisterSchema, CatalogRegisterSchema } from '../catalog/decode.ts';
import { filterOf, hasTags, nodeMetaFilters, satisfiesMeta, tagFilter } from '../catalog/params.ts';
import { catalogRegistration } from '../catalog/register.ts';
import { agentServiceToWire, catalogServiceToWire, nodeToWire } from '../catalog/wire.ts';
import type { ServerDeps } from '../deps.ts';
import { nearSource, sortByNear } from '../coordinate/near.ts';
import { NodeFields, NodeServiceFields, ServiceNodeFields } from '../filter/schemas.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody, parseJsonBody } from '../http/decode.ts';
import { pathName, type ApiRouter, type RequestContext } from '../http/router.ts';
import type { WatchSpec } from '../store/types.ts';
import { filterByAcl, filteredMeta } from '../acl/enforce.ts';
import { vetDeregister, vetRegister } from './catalog-acl.ts';

/** `?near=` as a source node for the distance sort (`_agent` is this server's node). */
export function nearParam(deps: ServerDeps): (ctx: RequestContext) => string | undefined {
  return (ctx) => nearSource(ctx.query.get('near'), deps.identity.nodeName);
}

export function registerCatalogEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  const near = nearParam(deps);
  const dc = deps.identity.datacenter;

  api.put('/v1/catalog/register', async (ctx) => {
    const req = decodeBody(CatalogRegisterSchema, await jsonBody(ctx));
    const registration = catalogRegistration(req, dc);
    vetRegister(ctx.authorizer(), store, registration);
    const done = deps.metrics.catalogRegister.time();
    await catalogWrite(store, (c) => c.register(registration));
    done();
    return { body: true };
  });

  api.put('/v1/catalog/deregister', async (ctx) => {
    const req = decodeBody(CatalogDeregisterSchema, await jsonBody(ctx));
    const node = req.Node ?? '';
    if (node === '') throw CatalogErrors.invalid('Must provide node');
    if (req.Datacenter && req.Datacenter !== dc) throw CatalogErrors.invalid(`No path to datacenter: ${req.Datacenter}`);
    vetDeregister(ctx.authorizer(), store, node, req.ServiceID ?? '', req.CheckID ?? '');
    // Consul's deregistration is idempotent: unknown nodes, services and checks are not errors.
    const done = deps.metrics.catalogDeregister.time();
    await catalogWrite(store, (c) => {
      if (!req.ServiceID && !req.CheckID) {
        c.deleteNode(node);
        return;
      }
      if (req.ServiceID) c.deleteService(node, req.ServiceID);
      if (req.CheckID) c.deleteCheck(node, req.CheckID);
    });
    done();
    return { body: true };
  });

  api.get('/v1/catalog/datacenters', () => ({ body: [dc] }));

  api.get('/v1/catalog/nodes', (ctx) => {
    const filter = filterOf(ctx.query, NodeFields);
    const meta = nodeMetaFilters(ctx.query);
    return blockingQuery(ctx, store, {
      watches: [{ table: Tables.nodes }],
      run: () => {
        let nodes = listNodes(store).filter((r) => satisfiesMeta(r.value.Meta, meta)).map(nodeToWire);
        if (filter) nodes = nodes.filter(filter);
        const authz = ctx.authorizer();
        const readable = filterByAcl(authz, nodes, (n) => authz.nodeRead(n.Node));
        const body = sortByNear(store, near(ctx), readable.items, (n) => n.Node);
        return { index: store.tableIndex(Tables.nodes), body, ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
  });

  api.get('/v1/catalog/services', (ctx) => {
    const filter = filterOf(ctx.query, ServiceNodeFields);
    const meta = nodeMetaFilters(ctx.query);
    const watches: WatchSpec[] = [{ table: Tables.services }];
    if (meta.length > 0 || filter) watches.push({ table: Tables.nodes });
    return blockingQuery(ctx, store, {
      watches,
      run: () => {
        const out = Object.create(null) as CatalogServices; // keyed by client-chosen names
        const tagSets = new Map<string, Set<string>>();
        for (const svc of listServices(store)) {
          const node = getNode(store, svc.value.Node);
          if (!node || !satisfiesMeta(node.value.Meta, meta)) continue;
          if (filter && !filter(catalogServiceToWire(svc, node))) continue;
          let tags = tagSets.get(svc.value.Service);
          if (!tags) tagSets.set(svc.value.Service, (tags = new Set()));
          for (const t of svc.value.Tags) tags.add(t);
        }
        // Consul's filterServices, after ?filter: a service name the token may not read is left out of the map.
        const authz = ctx.authorizer();
        const readable = filterByAcl(authz, [...tagSets.keys()], (name) => authz.serviceRead(name));
        for (const name of readable.items.sort()) out[name] = [...tagSets.get(name)!];
        const index = meta.length > 0 || filter ? store.tableIndex(Tables.services, Tables.nodes) : store.tableIndex(Tables.services);
        return { index, body: out, ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
  });

  api.get('/v1/catalog/service/:service', (ctx) => {
    const name = pathName(ctx, 'service', 'Missing service name');
    deps.metrics.catalogServiceQuery.inc({ service: name });
    const filter = filterOf(ctx.query, ServiceNodeFields);
    const meta = nodeMetaFilters(ctx.query);
    const tags = tagFilter(ctx.query);
    return blockingQuery(ctx, store, {
      watches: [{ table: Tables.serviceIndex, key: name }],
      run: () => {
        const out = [];
        for (const svc of listServiceInstances(store, name)) {
          const node = getNode(store, svc.value.Node);
          if (!node || !satisfiesMeta(node.value.Meta, meta) || !hasTags(svc.value.Tags, tags)) continue;
          const wire = catalogServiceToWire(svc, node);
          if (filter && !filter(wire)) continue;
          out.push(wire);
        }
        const authz = ctx.authorizer();
        const readable = filterByAcl(authz, out, (s) => authz.nodeRead(s.Node) && authz.serviceRead(s.ServiceName));
        const body = sortByNear(store, near(ctx), readable.items, (s) => s.Node);
        return { index: serviceViewIndex(store, name), body, ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
  });

  api.get('/v1/catalog/node/:node', (ctx) => {
    const name = pathName(ctx, 'node', 'Missing node name');
    const filter = filterOf(ctx.query, NodeServiceFields);
    return blockingQuery(ctx, store, {
      watches: nodeWatches(name),
      run: () => {
        const authz = ctx.authorizer();
        const index = store.tableIndex(Tables.nodes, Tables.services);
        const node = getNode(store, name);
        if (!node) return { index, body: null };
        // Consul's filterNodeServices: an unreadable node is no node at all; its unreadable services are left out.
        if (!authz.nodeRead(name)) return { index, body: null, ...filteredMeta(true, ctx.token, authz) };
        let wires = listNodeServices(store, name).map((svc) => agentServiceToWire(svc));
        if (filter) wires = wires.filter(filter);
        const readable = filterByAcl(authz, wires, (w) => authz.serviceRead(w.Service));
        const services = Object.create(null) as CatalogNode['Services']; // keyed by client-chosen IDs
        for (const wire of readable.items) services[wire.ID] = wire;
        const body: CatalogNode = { Node: nodeToWire(node), Services: services };
        return { index, body, ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
  });

  api.get('/v1/catalog/node-services/:node', (ctx) => {
    const name = pathName(ctx, 'node', 'Missing node name');
    const filter = filterOf(ctx.query, NodeServiceFields);
    return blockingQuery(ctx, store, {
      watches: nodeWatches(name),
      run: () => {
        const authz = ctx.authorizer();
        const index = store.tableIndex(Tables.nodes, Tables.services);
        const found = getNode(store, name);
        // Consul's filterNodeServiceList: an unreadable node answers as an empty list with no node.
        const hidden = found !== undefined && !authz.nodeRead(name);
        const node = hidden ? undefined : found;
        let services = node ? listNodeServices(store, name).map((s) => agentServiceToWire(s)) : [];
        if (filter) services = services.filter(filter);
        const readable = filterByAcl(authz, services, (w) => authz.serviceRead(w.Service));
        const body = { Node: node ? nodeToWire(node) : null, Services: readable.items } as unknown as CatalogNodeServiceList;
        return { index, body, ...filteredMeta(hidden || readable.filtered, ctx.token, authz) };
      },
    });
  });
}

function nodeWatches(node: string): WatchSpec[] {
  return [{ table: Tables.nodes, key: node }, { table: Tables.services, prefix: nodePrefix(node) }];
}

/** The body as JSON with Consul's decode errors ("Request decode failed: EOF" for an empty body). */
export async function jsonBody(ctx: RequestContext): Promise<unknown> {
  return parseJsonBody((await ctx.body()).toString('utf8'));
}
