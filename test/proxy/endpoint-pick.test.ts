/**
 * The request path picks an upstream endpoint without a promise once the target's instances are known
 * (EndpointSet.pickKnown, used by upstream.ts before it falls back to the awaiting pick()). What must hold: before a
 * target's watch has answered, pickKnown says NOT_KNOWN (never "no endpoint", which would answer 503) and pick()
 * waits for the answer; after it, pickKnown and pick() share one round-robin over the healthy instances and honour
 * the exclusions a retry passes. Against a real `meshgate server` and its blocking /v1/health/connect.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DiscoveryTarget } from '../../src/api/types.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { EndpointSet, NOT_KNOWN } from '../../src/proxy/endpoints.ts';
import { freePort } from '../helpers/server.ts';
import { registerSidecar, startMesh, waitHealthy, type Mesh } from './helpers.ts';

let mesh: Mesh;
let set: EndpointSet;
const target = { ID: 'api.default.default.dc1', Service: 'api', Datacenter: 'dc1' } as DiscoveryTarget;

before(async () => {
  mesh = await startMesh();
  for (const id of ['api-1', 'api-2']) await registerSidecar(mesh, { service: 'api', id, appPort: await freePort() });
  await waitHealthy(mesh, 'api', 2);
  set = new EndpointSet(mesh.client, silentLogger());
});

after(async () => {
  set?.stop();
  await mesh?.close();
});

test('before the first answer pickKnown says NOT_KNOWN and pick() waits for the instances', async () => {
  assert.equal(set.pickKnown(target, new Set()), NOT_KNOWN);
  const first = await set.pick(target);
  assert.ok(first, 'pick() answered an endpoint once the watch answered');
  assert.equal(first.service, 'api');
});

test('once known, pickKnown answers at once, round-robin over both instances, shared with pick()', async () => {
  const keys: string[] = [];
  for (let i = 0; i < 4; i++) {
    const e = i % 2 === 0 ? set.pickKnown(target, new Set()) : await set.pick(target);
    assert.ok(e && e !== NOT_KNOWN, `pick ${i}: nothing known to pick`);
    keys.push(e.key);
  }
  assert.equal(new Set(keys).size, 2, keys.join(' '));
  assert.notEqual(keys[0], keys[1]);
  assert.equal(keys[0], keys[2]);
});

test('pickKnown skips the endpoints a retry already tried, as pick() does', () => {
  const a = set.pickKnown(target, new Set());
  assert.ok(a && a !== NOT_KNOWN);
  for (let i = 0; i < 3; i++) {
    const b = set.pickKnown(target, new Set([a.key]));
    assert.ok(b && b !== NOT_KNOWN);
    assert.notEqual(b.key, a.key);
  }
});
