/**
 * /v1/coordinate/*: shapes and statuses as agent/coordinate_endpoint.go answers them (CoordinateDatacenters,
 * CoordinateNodes, CoordinateNode's 404 for a node without a coordinate, CoordinateUpdate storing what is sent and
 * dropping unknown nodes as the state store's coordinateBatchUpdate does), blocking on the coordinates (the `?near=`
 * sort itself: src/server/coordinate/near.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './catalog/helpers.ts';
import { originCoordinate } from '../../src/server/coordinate/tables.ts';

let server: TestServer;
before(async () => {
  server = await testServer({ nodeName: 'server-1' });
  for (const node of ['alpha', 'bravo', 'charlie', 'delta']) {
    const reg = await server.put('/v1/catalog/register', { Node: node, Address: '10.0.0.1', Service: { Service: 'web', Port: 80 } });
    assert.equal(reg.status, 200, reg.text);
  }
});
after(() => server.close());

const at = (x: number) => ({ ...originCoordinate(), Vec: [x, 0, 0, 0, 0, 0, 0, 0], Height: 0 });

describe('coordinates', () => {
  test('datacenters lists this datacenter with its server (origin coordinate, WAN node name)', async () => {
    const res = await server.get('/v1/coordinate/datacenters');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, [{ Datacenter: 'dc1', AreaID: 'wan', Coordinates: [{ Node: 'server-1.dc1', Coord: originCoordinate() }] }]);
  });

  test('a node without a coordinate is left out of nodes and is a 404 on node/:n', async () => {
    const nodes = await server.get('/v1/coordinate/nodes');
    assert.equal(nodes.status, 200);
    assert.deepEqual((nodes.json as Array<{ Node: string }>).map((c) => c.Node), ['server-1']);
    const one = await server.get('/v1/coordinate/node/alpha');
    assert.equal(one.status, 404);
    assert.equal(one.text, '');
  });

  test('update stores the coordinate; a blocking nodes query wakes on it', async () => {
    const first = await server.get('/v1/coordinate/nodes');
    const blocked = server.get(`/v1/coordinate/nodes?index=${first.index}&wait=20s`);
    await new Promise((r) => setTimeout(r, 100));
    const put = await server.put('/v1/coordinate/update', { Node: 'alpha', Segment: '', Coord: at(0.01) });
    assert.equal(put.status, 200, put.text);
    const woken = await blocked;
    assert.ok(woken.index > first.index);
    assert.deepEqual((woken.json as Array<{ Node: string }>).map((c) => c.Node), ['alpha', 'server-1']);
    const one = await server.get('/v1/coordinate/node/alpha');
    assert.equal(one.status, 200);
    const [entry] = one.json as Array<{ Node: string; Segment: string; Coord: unknown; ModifyIndex: number }>;
    assert.equal(entry!.Node, 'alpha');
    assert.equal(entry!.Segment, '');
    assert.deepEqual(entry!.Coord, at(0.01));
  });

  test('unknown nodes are dropped; a coordinate that is not valid is a 400 naming the field', async () => {
    assert.equal((await server.put('/v1/coordinate/update', { Node: 'nobody', Coord: at(1) })).status, 200);
    assert.equal((await server.get('/v1/coordinate/node/nobody')).status, 404);
    const short = await server.put('/v1/coordinate/update', { Node: 'alpha', Coord: { Vec: [1, 2], Error: 1, Adjustment: 0, Height: 0 } });
    assert.equal(short.status, 400);
    assert.match(short.text, /Vec must have 8 components/);
    const missing = await server.put('/v1/coordinate/update', { Node: 'alpha' });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /Coord/);
  });

  test('?near= sorts catalog nodes, catalog service and health service by distance; nodes without one last, by name', async () => {
    await server.put('/v1/coordinate/update', { Node: 'bravo', Coord: at(0.002) });
    await server.put('/v1/coordinate/update', { Node: 'delta', Coord: at(0.005) });
    // alpha is at 0.01, delta 0.005, bravo 0.002, server-1 at the origin; charlie has no coordinate.
    const nodes = (await server.get('/v1/catalog/nodes?near=alpha')).json as Array<{ Node: string }>;
    assert.deepEqual(nodes.map((n) => n.Node), ['alpha', 'delta', 'bravo', 'server-1', 'charlie']);
    const plain = (await server.get('/v1/catalog/nodes')).json as Array<{ Node: string }>;
    assert.deepEqual(plain.map((n) => n.Node), ['alpha', 'bravo', 'charlie', 'delta', 'server-1'], 'without ?near: by name');
    const svc = (await server.get('/v1/catalog/service/web?near=bravo')).json as Array<{ Node: string }>;
    assert.deepEqual(svc.map((s) => s.Node), ['bravo', 'delta', 'alpha', 'charlie']);
    const health = (await server.get('/v1/health/service/web?near=_agent')).json as Array<{ Node: { Node: string } }>;
    assert.deepEqual(health.map((e) => e.Node.Node), ['bravo', 'delta', 'alpha', 'charlie'], '_agent is server-1, at the origin');
    const unknown = (await server.get('/v1/catalog/nodes?near=nobody')).json as Array<{ Node: string }>;
    assert.deepEqual(unknown.map((n) => n.Node), plain.map((n) => n.Node), 'a source without a coordinate leaves the order');
  });
});
