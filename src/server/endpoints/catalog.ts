/**
 * /v1/catalog/*: registration writes and the node and service reads, as Consul's agent/catalog_endpoint.go serves
 * them. Every read is a blocking query watching only what it depends on (a service's views wake on its own index
 * row), supports ?filter where Consul does, ?near (the distance sort of ../coordinate/near.ts: stable, nodes
 * without a coordinate last in name order), ?node-meta, ?stale and ?consistent.
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
        return { index: store.tableIndex(Tables.nodes), body: sortByNear(store, near(ctx), nodes, (n) => n.Node) };
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
        for (const name of [...tagSets.keys()].sort()) out[name] = [...tagSets.get(name)!];
        const index = meta.length > 0 || filter ? store.tableIndex(Tables.services, Tables.nodes) : store.tableIndex(Tables.services);
        return { index, body: out };
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
        return { index: serviceViewIndex(store, name), body: sortByNear(store, near(ctx), out, (s) => s.Node) };
      },
    });
  });

  api.get('/v1/catalog/node/:node', (ctx) => {
    const name = pathName(ctx, 'node', 'Missing node name');
    const filter = filterOf(ctx.query, NodeServiceFields);
    return blockingQuery(ctx, store, {
      watches: nodeWatches(name),
      run: () => {
        const index = store.tableIndex(Tables.nodes, Tables.services);
        const node = getNode(store, name);
        if (!node) return { index, body: null };
        const services = Object.create(null) as CatalogNode['Services']; // keyed by client-chosen IDs
        for (const svc of listNodeServices(store, name)) {
          const wire = agentServiceToWire(svc);
          if (filter && !filter(wire)) continue;
          services[svc.value.ID] = wire;
        }
        const body: CatalogNode = { Node: nodeToWire(node), Services: services };
        return { index, body };
      },
    });
  });

  api.get('/v1/catalog/node-services/:node', (ctx) => {
    const name = pathName(ctx, 'node', 'Missing node name');
    const filter = filterOf(ctx.query, NodeServiceFields);
    return blockingQuery(ctx, store, {
      watches: nodeWatches(name),
      run: () => {
        const index = store.tableIndex(Tables.nodes, Tables.services);
        const node = getNode(store, name);
        let services = node ? listNodeServices(store, name).map((s) => agentServiceToWire(s)) : [];
        if (filter) services = services.filter(filter);
        const body = { Node: node ? nodeToWire(node) : null, Services: services } as unknown as CatalogNodeServiceList;
        return { index, body };
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
