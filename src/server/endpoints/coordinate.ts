/**
 * /v1/coordinate/*: datacenters, nodes, node/:n and update, as agent/coordinate_endpoint.go serves them. Reads are
 * blocking queries on the coordinates (and the nodes they belong to); a node without a coordinate is left out of
 * `nodes` and answers 404 with an empty body on `node/:n`, as Consul's CoordinateNode does. An update for a node
 * the catalog does not know is dropped silently, as Consul's state store does (coordinates follow their node).
 * What is stored and how servers get one: ../coordinate/README.md.
 *
 * ACLs as agent/consul/coordinate_endpoint.go applies them: the lists keep the nodes the token has `node:read` on
 * (filterCoordinates; an unreadable node's own coordinate is then a 404), an update needs `node:write` on the node.
 * The datacenters' map (servers only) takes no token in Consul and none here.
 */
import { z } from 'zod';
import { COORDINATES_TABLE, coordinateOf, listCoordinates, validateCoord, type StoredCoordinate } from '../coordinate/tables.ts';
import { Tables } from '../catalog/index.ts';
import { CONSUL_SERVICE_ID } from '../catalog/local-agent.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiRouter } from '../http/router.ts';
import type { WatchSpec } from '../store/types.ts';
import { jsonBody } from './catalog.ts';
import { filterByAcl, filteredMeta, requirePermission } from '../acl/enforce.ts';

const CoordSchema = z.object({
  Vec: z.array(z.number()),
  Error: z.number().optional(),
  Adjustment: z.number().optional(),
  Height: z.number().optional(),
});
/** structs.CoordinateUpdateRequest. */
const CoordinateUpdateSchema = z.object({
  Node: z.string().optional(),
  Segment: z.string().optional(),
  Partition: z.string().optional(),
  Coord: CoordSchema,
});

const WATCHES: WatchSpec[] = [{ table: COORDINATES_TABLE }, { table: Tables.nodes }];

export function registerCoordinateEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  const dc = deps.identity.datacenter;
  const index = () => store.tableIndex(COORDINATES_TABLE, Tables.nodes);

  // One datacenter: its servers' coordinates, named `<node>.<dc>` as on the WAN pool (structs.DatacenterMap).
  api.get('/v1/coordinate/datacenters', () => {
    const servers = store.list(Tables.services).filter((r) => (r.value as { ID: string }).ID === CONSUL_SERVICE_ID);
    const coordinates = [];
    for (const s of servers) {
      const node = (s.value as { Node: string }).Node;
      const entry = coordinateOf(store, node);
      if (entry) coordinates.push({ Node: `${node}.${dc}`, Coord: entry.Coord });
    }
    coordinates.sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0));
    return { body: [{ Datacenter: dc, AreaID: 'wan', Coordinates: coordinates }] };
  });

  api.get('/v1/coordinate/nodes', (ctx) => {
    const segment = ctx.query.has('segment') ? (ctx.query.get('segment') ?? '') : undefined;
    return blockingQuery(ctx, store, {
      watches: WATCHES,
      run: () => {
        const authz = ctx.authorizer();
        const all = listCoordinates(store).filter((c) => segment === undefined || c.Segment === segment);
        const readable = filterByAcl(authz, all, (c) => authz.nodeRead(c.Node));
        return { index: index(), body: readable.items, ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
  });

  api.get('/v1/coordinate/node/*node', async (ctx) => {
    const node = ctx.params.node ?? '';
    const res = await blockingQuery(ctx, store, {
      watches: [{ table: COORDINATES_TABLE, key: node }, { table: Tables.nodes, key: node }],
      run: () => {
        const authz = ctx.authorizer();
        const entry = coordinateOf(store, node);
        const readable = filterByAcl(authz, entry ? [entry] : [], (c) => authz.nodeRead(c.Node));
        return { index: index(), body: readable.items, ...filteredMeta(readable.filtered, ctx.token, authz) };
      },
    });
    if (Array.isArray(res.body) && res.body.length === 0) return { ...res, status: 404, body: '', text: true };
    return res;
  });

  api.put('/v1/coordinate/update', async (ctx) => {
    const req = decodeBody(CoordinateUpdateSchema, await jsonBody(ctx));
    const coord = { Vec: req.Coord.Vec, Error: req.Coord.Error ?? 0, Adjustment: req.Coord.Adjustment ?? 0, Height: req.Coord.Height ?? 0 };
    validateCoord(coord);
    const node = req.Node ?? '';
    requirePermission(ctx.authorizer(), 'node', 'write', node);
    await store.write((tx) => {
      if (!tx.get(Tables.nodes, node)) return;
      const value: StoredCoordinate = { Node: node, Segment: req.Segment ?? '', Coord: coord };
      const existing = tx.get<StoredCoordinate>(COORDINATES_TABLE, node);
      if (existing && JSON.stringify(existing.value) === JSON.stringify(value)) return;
      tx.put(COORDINATES_TABLE, node, value);
    });
    return { body: undefined };
  });
}
