/**
 * The `?near=` sort on a real store: Consul's sortNodesByDistanceFrom (agent/consul/rtt.go) sorts stably by serf's
 * DistanceTo (serf coordinate/coordinate.go), a node without a coordinate at an infinite distance; no source, or a
 * source without a coordinate, leaves the order alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.ts';
import { Tables, serviceKey } from '../catalog/tables.ts';
import { COORDINATES_TABLE, distanceSeconds, originCoordinate } from './tables.ts';
import { nearSource, sortByNear } from './near.ts';

const at = (x: number, height = 0) => ({ ...originCoordinate(), Vec: [x, 0, 0, 0, 0, 0, 0, 0], Height: height });

test('sortByNear: by distance, stable, nodes without a coordinate last in their previous order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-near-'));
  const store = await openStore({ backend: 'sqlite', dataDir: dir });
  try {
    await store.write((tx) => {
      for (const node of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'server-1']) tx.put(Tables.nodes, node, { Node: node, Address: '10.0.0.1', Meta: {} });
      tx.put(Tables.services, serviceKey('server-1', 'consul'), { Node: 'server-1', ID: 'consul', Service: 'consul' });
      tx.put(COORDINATES_TABLE, 'alpha', { Node: 'alpha', Segment: '', Coord: at(0.01) });
      tx.put(COORDINATES_TABLE, 'bravo', { Node: 'bravo', Segment: '', Coord: at(0.002) });
      tx.put(COORDINATES_TABLE, 'delta', { Node: 'delta', Segment: '', Coord: at(0.005) });
      tx.put(COORDINATES_TABLE, 'ghost', { Node: 'ghost', Segment: '', Coord: at(0.01) }); // its node is gone
    });
    // From alpha (x = 0.01): delta, then bravo, then server-1 (the origin coordinate a server has without one);
    // charlie and echo have none and keep their order; ghost's coordinate does not count without its node.
    const order = sortByNear(store, 'alpha', ['echo', 'server-1', 'charlie', 'bravo', 'delta', 'alpha'], (n) => n);
    assert.deepEqual(order, ['alpha', 'delta', 'bravo', 'server-1', 'echo', 'charlie']);
    assert.deepEqual(sortByNear(store, 'charlie', ['delta', 'alpha'], (n) => n), ['delta', 'alpha'], 'a source without a coordinate leaves the order');
    assert.deepEqual(sortByNear(store, 'ghost', ['delta', 'alpha'], (n) => n), ['delta', 'alpha'], 'a deregistered source leaves the order');
    assert.deepEqual(sortByNear(store, undefined, ['delta', 'alpha'], (n) => n), ['delta', 'alpha']);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serf distance: Euclidean plus heights, adjustments only when they keep it positive', () => {
  assert.equal(distanceSeconds(at(0.003, 0.001), at(0, 0.002)), 0.006);
  assert.equal(distanceSeconds({ ...at(0.003), Adjustment: -0.001 }, at(0)), 0.002);
  assert.equal(distanceSeconds({ ...at(0.003), Adjustment: -0.01 }, at(0)), 0.003);
});

test('nearSource: _agent is the answering agent', () => {
  assert.equal(nearSource('_agent', 'server-1'), 'server-1');
  assert.equal(nearSource('web-1', 'server-1'), 'web-1');
  assert.equal(nearSource('', 'server-1'), undefined);
  assert.equal(nearSource(null, 'server-1'), undefined);
});
