/**
 * Client-chosen names are data, never object machinery: a service, node, check or meta key called `__proto__` or
 * `constructor` is stored, listed and read back like any other (maps built from client keys are prototype-free).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './catalog/helpers.ts';

let s: TestServer;
before(async () => {
  s = await testServer();
});
after(() => s.close());

const NAMES = ['__proto__', 'constructor', 'hasOwnProperty'];
// Raw JSON text: JSON.stringify of an object literal cannot carry an own "__proto__" key.
const meta = '{"__proto__":"p","constructor":"c","toString":"t"}';

test('catalog: services named __proto__/constructor are listed, with their meta and tagged addresses intact', async () => {
  for (const name of NAMES) {
    const r = await s.put('/v1/catalog/register', `{"Node":"pn","Address":"10.0.0.9","NodeMeta":${meta},"Service":{"Service":"${name}","ID":"${name}","Meta":${meta},"TaggedAddresses":{"__proto__":{"Address":"10.0.0.10","Port":1}}}}`);
    assert.equal(r.status, 200, r.text);
  }
  const services = await s.get('/v1/catalog/services');
  assert.ok(NAMES.every((n) => Object.hasOwn(services.json, n)), `listed: ${Object.keys(services.json).join(', ')}`);
  const one = await s.get('/v1/catalog/service/__proto__');
  assert.equal(one.json.length, 1);
  assert.deepEqual(Object.keys(one.json[0].ServiceMeta).sort(), ['__proto__', 'constructor', 'toString']);
  assert.deepEqual(Object.keys(one.json[0].NodeMeta).sort(), ['__proto__', 'constructor', 'toString']);
  assert.deepEqual(Object.keys(one.json[0].ServiceTaggedAddresses), ['__proto__']);
  const node = await s.get('/v1/catalog/node/pn');
  assert.deepEqual(Object.keys(node.json.Services).sort(), [...NAMES].sort());
  const filtered = await s.get('/v1/catalog/nodes?node-meta=constructor:c');
  assert.deepEqual(filtered.json.map((n: { Node: string }) => n.Node), ['pn']);
  const notFiltered = await s.get('/v1/catalog/nodes?node-meta=valueOf:x');
  assert.deepEqual(notFiltered.json, []);
});

test('agent: services and checks with such IDs are listed by the agent', async () => {
  for (const name of NAMES) {
    const r = await s.put('/v1/agent/service/register', `{"Name":"a-${name}","ID":"${name}","Meta":${meta},"Check":{"CheckID":"${name}","TTL":"30s"}}`);
    assert.equal(r.status, 200, r.text);
  }
  const services = await s.get('/v1/agent/services');
  assert.ok(NAMES.every((n) => Object.hasOwn(services.json, n)), `listed: ${Object.keys(services.json).join(', ')}`);
  assert.deepEqual(Object.keys(services.json.__proto__.Meta).sort(), ['__proto__', 'constructor', 'toString']);
  const byMeta = await s.get(`/v1/agent/services?filter=${encodeURIComponent('Meta.constructor == "c"')}`);
  assert.deepEqual(Object.keys(byMeta.json).sort(), [...NAMES].sort());
  const checks = await s.get('/v1/agent/checks');
  assert.ok(NAMES.every((n) => Object.hasOwn(checks.json, n)), `checks: ${Object.keys(checks.json).join(', ')}`);
});

test('a header or query parameter named like a prototype member is an ordinary one', async () => {
  const res = await fetch(`${s.url}/v1/kv/proto-q?constructor=1&__proto__=2`, { method: 'PUT', body: 'v', headers: [['constructor', 'x'], ['__proto__', 'y']] });
  assert.equal(res.status, 200);
  await res.text();
  const get = await fetch(`${s.url}/v1/kv/proto-q?raw&toString`);
  assert.equal(await get.text(), 'v');
});
