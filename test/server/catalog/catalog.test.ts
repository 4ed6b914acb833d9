/** /v1/catalog/* against a real server: registration semantics, reads, filters, blocking and refusals. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parkedGet, testServer, type TestServer } from './helpers.ts';

let s: TestServer;
before(async () => {
  s = await testServer();
});
after(() => s.close());

const dbRegistration = {
  Node: 'ext-db',
  Address: '10.0.0.5',
  TaggedAddresses: { wan: '198.51.100.5' },
  NodeMeta: { rack: 'r1' },
  Service: {
    ID: 'db-1', Service: 'db', Tags: ['primary', 'v14'], Address: '10.0.0.6', Port: 5432, Meta: { engine: 'pg' },
    TaggedAddresses: { lan: { Address: '10.0.0.6', Port: 5432 } },
  },
  Check: { CheckID: 'db-alive', Name: 'DB alive', ServiceID: 'db-1', Status: 'passing' },
};

describe('catalog registration', () => {
  test('the server registers its own node with serfHealth and the consul service', async () => {
    const nodes = await s.get('/v1/catalog/nodes');
    assert.equal(nodes.status, 200);
    const self = nodes.json.find((n: any) => n.Node === 'server-1');
    assert.ok(self, 'own node is in the catalog');
    assert.equal(self.Address, '127.0.0.1');
    assert.equal(self.TaggedAddresses.lan, '127.0.0.1');
    assert.equal(self.TaggedAddresses.wan, '127.0.0.1');
    assert.match(self.ID, /^[0-9a-f-]{36}$/);
    const checks = await s.get('/v1/health/node/server-1');
    const serf = checks.json.find((c: any) => c.CheckID === 'serfHealth');
    assert.equal(serf.Name, 'Serf Health Status');
    assert.equal(serf.Status, 'passing');
    const services = await s.get('/v1/catalog/services');
    assert.deepEqual(services.json.consul, []);
  });

  test('PUT /v1/catalog/register returns true and the service reads back with Consul fields', async () => {
    const r = await s.put('/v1/catalog/register', dbRegistration);
    assert.equal(r.status, 200);
    assert.equal(r.json, true);
    const svc = await s.get('/v1/catalog/service/db');
    assert.equal(svc.status, 200);
    assert.equal(svc.json.length, 1);
    const e = svc.json[0];
    assert.equal(e.Node, 'ext-db');
    assert.equal(e.Address, '10.0.0.5');
    assert.deepEqual(e.NodeMeta, { rack: 'r1' });
    assert.equal(e.ServiceID, 'db-1');
    assert.equal(e.ServiceName, 'db');
    assert.equal(e.ServiceAddress, '10.0.0.6');
    assert.equal(e.ServicePort, 5432);
    assert.deepEqual(e.ServiceTags, ['primary', 'v14']);
    assert.deepEqual(e.ServiceMeta, { engine: 'pg' });
    assert.deepEqual(e.ServiceWeights, { Passing: 1, Warning: 1 });
    assert.deepEqual(e.ServiceTaggedAddresses, { lan: { Address: '10.0.0.6', Port: 5432 } });
    assert.equal(e.ServiceEnableTagOverride, false);
    assert.equal(e.Datacenter, 'dc1');
    assert.ok(e.CreateIndex > 0 && e.ModifyIndex >= e.CreateIndex);
    assert.equal(svc.index, e.ModifyIndex, 'X-Consul-Index is the service view index');
  });

  test('re-registering the same thing writes nothing (index unchanged)', async () => {
    const before = await s.get('/v1/catalog/service/db');
    await s.put('/v1/catalog/register', dbRegistration);
    const again = await s.get('/v1/catalog/service/db');
    assert.equal(again.index, before.index);
    assert.equal(again.json[0].ModifyIndex, before.json[0].ModifyIndex);
  });

  test('keys are matched case-insensitively and snake_case aliases are accepted', async () => {
    const r = await s.put('/v1/catalog/register', {
      node: 'ext-cache', address: '10.0.0.7', node_meta: { rack: 'r2' },
      service: { service: 'cache', port: 6379, tags: ['redis'], enable_tag_override: true },
    });
    assert.equal(r.status, 200, r.text);
    const svc = await s.get('/v1/catalog/service/cache');
    assert.equal(svc.json[0].ServicePort, 6379);
    assert.equal(svc.json[0].ServiceEnableTagOverride, true);
    assert.deepEqual(svc.json[0].NodeMeta, { rack: 'r2' });
  });

  test('SkipNodeUpdate keeps the node row as it was', async () => {
    const before = await s.get('/v1/catalog/node/ext-cache');
    const r = await s.put('/v1/catalog/register', { Node: 'ext-cache', SkipNodeUpdate: true, Service: { Service: 'cache2', Port: 1 } });
    assert.equal(r.status, 200, r.text);
    const after = await s.get('/v1/catalog/node/ext-cache');
    assert.equal(after.json.Node.Address, '10.0.0.7');
    assert.equal(after.json.Node.ModifyIndex, before.json.Node.ModifyIndex);
    assert.ok(after.json.Services.cache2);
  });

  test('GET /v1/catalog/datacenters', async () => {
    const r = await s.get('/v1/catalog/datacenters');
    assert.deepEqual(r.json, ['dc1']);
  });
});

describe('catalog reads', () => {
  test('services: name → tags, ?node-meta and ?filter', async () => {
    const all = await s.get('/v1/catalog/services');
    assert.deepEqual(all.json.db, ['primary', 'v14']);
    assert.deepEqual(all.json.cache, ['redis']);
    const r1 = await s.get('/v1/catalog/services?node-meta=rack:r1');
    assert.deepEqual(Object.keys(r1.json).sort(), ['db']);
    const filtered = await s.get(`/v1/catalog/services?filter=${encodeURIComponent('ServicePort == 6379')}`);
    assert.deepEqual(Object.keys(filtered.json), ['cache']);
  });

  test('nodes: ?node-meta, ?filter, ?near accepted', async () => {
    const r = await s.get('/v1/catalog/nodes?node-meta=rack:r2&near=_agent');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.map((n: any) => n.Node), ['ext-cache']);
    const f = await s.get(`/v1/catalog/nodes?filter=${encodeURIComponent('Meta.rack == r1')}`);
    assert.deepEqual(f.json.map((n: any) => n.Node), ['ext-db']);
  });

  test('service/:name: ?tag (repeatable, all must match), ?filter, ?node-meta', async () => {
    await s.put('/v1/catalog/register', { Node: 'ext-db2', Address: '10.0.0.8', Service: { ID: 'db-2', Service: 'db', Tags: ['replica', 'v14'], Port: 5432 } });
    assert.equal((await s.get('/v1/catalog/service/db')).json.length, 2);
    assert.deepEqual((await s.get('/v1/catalog/service/db?tag=v14&tag=replica')).json.map((e: any) => e.ServiceID), ['db-2']);
    assert.deepEqual((await s.get('/v1/catalog/service/db?tag=PRIMARY')).json.map((e: any) => e.ServiceID), ['db-1']);
    assert.deepEqual((await s.get('/v1/catalog/service/db?tag=v14&tag=nope')).json, []);
    assert.deepEqual((await s.get('/v1/catalog/service/db?node-meta=rack:r1')).json.map((e: any) => e.ServiceID), ['db-1']);
    const f = await s.get(`/v1/catalog/service/db?filter=${encodeURIComponent('replica in ServiceTags')}`);
    assert.deepEqual(f.json.map((e: any) => e.ServiceID), ['db-2']);
    assert.deepEqual((await s.get('/v1/catalog/service/unknown')).json, []);
  });

  test('node/:node and node-services/:node', async () => {
    const n = await s.get('/v1/catalog/node/ext-db');
    assert.equal(n.json.Node.Node, 'ext-db');
    assert.equal(n.json.Services['db-1'].Service, 'db');
    assert.equal(n.json.Services['db-1'].Port, 5432);
    const ns = await s.get('/v1/catalog/node-services/ext-db');
    assert.equal(ns.json.Node.Address, '10.0.0.5');
    assert.deepEqual(ns.json.Services.map((x: any) => x.ID), ['db-1']);
    const f = await s.get(`/v1/catalog/node-services/ext-cache?filter=${encodeURIComponent('Service == cache2')}`);
    assert.deepEqual(f.json.Services.map((x: any) => x.ID), ['cache2']);
    const unknown = await s.get('/v1/catalog/node/nope');
    assert.equal(unknown.status, 200);
    assert.equal(unknown.json, null);
  });

  test('?stale and ?consistent are accepted, both together refused', async () => {
    assert.equal((await s.get('/v1/catalog/nodes?stale')).status, 200);
    assert.equal((await s.get('/v1/catalog/nodes?consistent')).status, 200);
    const both = await s.get('/v1/catalog/nodes?stale&consistent');
    assert.equal(both.status, 400);
  });
});

describe('blocking catalog reads', () => {
  test('service/:name wakes on its own service, not on another', async () => {
    const first = await s.get('/v1/catalog/service/web-block');
    const pending = s.get(`/v1/catalog/service/web-block?index=${first.index}&wait=20s`);
    let settled = false;
    void pending.then(() => (settled = true));
    await s.put('/v1/catalog/register', { Node: 'ext-other', Address: '10.0.1.1', Service: { Service: 'other-block', Port: 1 } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, false, 'a change to another service does not wake the query');
    await s.put('/v1/catalog/register', { Node: 'ext-web', Address: '10.0.1.2', Service: { Service: 'web-block', Port: 80 } });
    const woke = await pending;
    assert.ok(woke.index > first.index);
    assert.equal(woke.json.length, 1);
  });

  test('nodes blocks until a node changes', async () => {
    const first = await s.get('/v1/catalog/nodes');
    const pending = await parkedGet(s, `/v1/catalog/nodes?index=${first.index}&wait=20s`);
    await s.put('/v1/catalog/register', { Node: 'ext-new', Address: '10.0.2.1' });
    const woke = await pending.reply;
    assert.ok(woke.index > first.index);
    assert.ok(woke.json.some((n: any) => n.Node === 'ext-new'));
  });
});

describe('catalog deregistration', () => {
  test('a check, then a service (with its checks), then a node (with everything)', async () => {
    await s.put('/v1/catalog/register', {
      Node: 'gone', Address: '10.9.9.9', Service: { ID: 'g1', Service: 'gsvc' },
      Checks: [{ CheckID: 'gc', Name: 'gc', ServiceID: 'g1' }, { CheckID: 'nodecheck', Name: 'node check', Status: 'passing' }],
    });
    assert.equal((await s.put('/v1/catalog/deregister', { Node: 'gone', CheckID: 'nodecheck' })).json, true);
    assert.deepEqual((await s.get('/v1/health/node/gone')).json.map((c: any) => c.CheckID), ['gc']);
    await s.put('/v1/catalog/deregister', { Node: 'gone', ServiceID: 'g1' });
    assert.deepEqual((await s.get('/v1/health/node/gone')).json, []);
    assert.deepEqual((await s.get('/v1/catalog/service/gsvc')).json, []);
    await s.put('/v1/catalog/deregister', { Node: 'gone' });
    assert.equal((await s.get('/v1/catalog/node/gone')).json, null);
  });

  test('deregistering unknown things is not an error (Consul is idempotent here)', async () => {
    const r = await s.put('/v1/catalog/deregister', { Node: 'never-was', ServiceID: 'x' });
    assert.equal(r.status, 200);
    assert.equal(r.json, true);
  });
});

describe('catalog refusals change nothing', () => {
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['empty body', '', 400, /^Request decode failed: EOF$/],
    ['malformed JSON', '{"Node": ', 400, /^Request decode failed: /],
    ['missing Node', { Address: '10.0.0.1' }, 400, /^Must provide node$/],
    ['missing Address', { Node: 'x' }, 400, /^Must provide address if SkipNodeUpdate is not set$/],
    ['Node of the wrong type', { Node: 7, Address: 'a' }, 400, /cannot unmarshal number 7 into Go struct field Node of type string/],
    ['Port of the wrong type', { Node: 'x', Address: 'a', Service: { Service: 's', Port: 'eighty' } }, 400, /Service\.Port of type/],
    ['bad node ID', { Node: 'x', Address: 'a', ID: 'not-a-uuid' }, 400, /^Bad node ID/],
    ['service without name', { Node: 'x', Address: 'a', Service: { ID: 'only-id' } }, 400, /Must provide service name/],
    ['unspecified service address', { Node: 'x', Address: 'a', Service: { Service: 's', Address: '0.0.0.0' } }, 400, /^Invalid service address$/],
    ['bad service meta key', { Node: 'x', Address: 'a', Service: { Service: 's', Meta: { 'a b': '1' } } }, 400, /Invalid Service Meta: .*Key contains invalid characters/],
    ['bad weights', { Node: 'x', Address: 'a', Service: { Service: 's', Weights: { Passing: 0, Warning: 1 } } }, 400, /Invalid Weights: Passing must be greater than 0/],
    ['check for a missing service', { Node: 'x', Address: 'a', Check: { Name: 'c', ServiceID: 'nope' } }, 400, /Missing service registration/],
    ['check with a bad status', { Node: 'x', Address: 'a', Check: { Name: 'c', Status: 'sad' } }, 400, /Invalid check status/],
    ['check with a bad interval', { Node: 'x', Address: 'a', Check: { Name: 'c', Definition: { HTTP: 'http://x', Interval: 'soon' } } }, 400, /Interval.*invalid duration/],
    ['other datacenter', { Node: 'x', Address: 'a', Datacenter: 'dc9' }, 400, /No path to datacenter/],
  ];
  for (const [name, body, status, message] of cases) {
    test(name, async () => {
      const before = await s.get('/v1/catalog/nodes');
      const r = await s.put('/v1/catalog/register', body);
      assert.equal(r.status, status, r.text);
      assert.match(r.text, message);
      const after = await s.get('/v1/catalog/nodes');
      assert.equal(after.index, before.index, 'nothing was written');
      assert.ok(!after.json.some((n: any) => n.Node === 'x'));
    });
  }

  test('deregister without Node', async () => {
    const r = await s.put('/v1/catalog/deregister', { ServiceID: 'x' });
    assert.equal(r.status, 400);
    assert.equal(r.text, 'Must provide node');
  });

  test('a bad ?filter is a 400 with the parser message, on every catalog read', async () => {
    for (const path of ['/v1/catalog/nodes', '/v1/catalog/services', '/v1/catalog/service/db', '/v1/catalog/node/ext-db', '/v1/catalog/node-services/ext-db']) {
      const r = await s.get(`${path}?filter=${encodeURIComponent('Nope ==')}`);
      assert.equal(r.status, 400, path);
      assert.match(r.text, /^Failed to create boolean expression evaluator: /, path);
    }
    const sel = await s.get(`/v1/catalog/nodes?filter=${encodeURIComponent('Bogus == x')}`);
    assert.equal(sel.status, 400);
    assert.match(sel.text, /Selector "Bogus" is not valid/);
  });

  test('wrong method is a 405', async () => {
    const r = await s.req('GET', '/v1/catalog/register');
    assert.equal(r.status, 405);
  });
});
