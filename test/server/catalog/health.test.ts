/** /v1/health/* against a real server: entries, ?passing over service and node checks, states, blocking. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parkedGet, testServer, type TestServer } from './helpers.ts';

let s: TestServer;
before(async () => {
  s = await testServer();
  for (const [node, status, nodeStatus] of [['n1', 'passing', 'passing'], ['n2', 'warning', 'passing'], ['n3', 'passing', 'critical']] as const) {
    const r = await s.put('/v1/catalog/register', {
      Node: node, Address: `10.1.0.${node.slice(1)}`, NodeMeta: { zone: node === 'n1' ? 'a' : 'b' },
      Service: { ID: `api-${node}`, Service: 'api', Tags: [node === 'n1' ? 'blue' : 'green'], Port: 8080 },
      Checks: [
        { CheckID: `api-check`, Name: 'api check', ServiceID: `api-${node}`, Status: status },
        { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: nodeStatus },
      ],
    });
    assert.equal(r.status, 200, r.text);
  }
});
after(() => s.close());

describe('health reads', () => {
  test('service/:service returns ServiceEntry {Node, Service, Checks} with node and service checks', async () => {
    const r = await s.get('/v1/health/service/api');
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 3);
    const e = r.json.find((x: any) => x.Node.Node === 'n1');
    assert.equal(e.Service.ID, 'api-n1');
    assert.equal(e.Service.Port, 8080);
    assert.deepEqual(e.Checks.map((c: any) => c.CheckID).sort(), ['api-check', 'serfHealth']);
    const svcCheck = e.Checks.find((c: any) => c.CheckID === 'api-check');
    assert.equal(svcCheck.ServiceName, 'api');
    assert.deepEqual(svcCheck.ServiceTags, ['blue']);
  });

  test('?passing drops instances with a warning service check or a critical node check', async () => {
    const r = await s.get('/v1/health/service/api?passing');
    assert.deepEqual(r.json.map((e: any) => e.Node.Node), ['n1']);
    assert.deepEqual((await s.get('/v1/health/service/api?passing=false')).json.length, 3);
    const bad = await s.get('/v1/health/service/api?passing=maybe');
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Invalid value for ?passing');
  });

  test('?tag, ?node-meta, ?filter, ?near', async () => {
    assert.deepEqual((await s.get('/v1/health/service/api?tag=green')).json.map((e: any) => e.Node.Node).sort(), ['n2', 'n3']);
    assert.deepEqual((await s.get('/v1/health/service/api?node-meta=zone:a')).json.map((e: any) => e.Node.Node), ['n1']);
    const f = await s.get(`/v1/health/service/api?near=_agent&filter=${encodeURIComponent('Checks.Status == warning')}`);
    assert.deepEqual(f.json.map((e: any) => e.Node.Node), ['n2']);
  });

  test('checks/:service, node/:node, state/:state', async () => {
    const checks = await s.get('/v1/health/checks/api');
    assert.equal(checks.json.length, 3);
    assert.ok(checks.json.every((c: any) => c.ServiceName === 'api'));
    assert.deepEqual((await s.get('/v1/health/checks/api?node-meta=zone:a')).json.map((c: any) => c.Node), ['n1']);
    const node = await s.get('/v1/health/node/n3');
    assert.deepEqual(node.json.map((c: any) => `${c.CheckID}:${c.Status}`), ['api-check:passing', 'serfHealth:critical']);
    const critical = await s.get('/v1/health/state/critical');
    assert.deepEqual(critical.json.map((c: any) => c.Node), ['n3']);
    const warning = await s.get('/v1/health/state/warning');
    assert.deepEqual(warning.json.map((c: any) => c.Node), ['n2']);
    const any = await s.get('/v1/health/state/any');
    assert.ok(any.json.length >= 7);
    const filtered = await s.get(`/v1/health/state/passing?filter=${encodeURIComponent('ServiceName == api')}`);
    assert.deepEqual(filtered.json.map((c: any) => c.Node).sort(), ['n1', 'n3']);
  });

  test('refusals: a bad state, a bad filter on every health read', async () => {
    const bad = await s.get('/v1/health/state/sad');
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Invalid state');
    for (const path of ['/v1/health/service/api', '/v1/health/checks/api', '/v1/health/node/n1', '/v1/health/state/any']) {
      const r = await s.get(`${path}?filter=${encodeURIComponent('Checks.Nope == 1')}`);
      assert.equal(r.status, 400, path);
      assert.match(r.text, /^Failed to create boolean expression evaluator: /);
    }
  });
});

describe('blocking health reads', () => {
  test('health/service returns promptly when one of its checks changes, and reflects it', async () => {
    const first = await s.get('/v1/health/service/api?passing');
    const pending = await parkedGet(s, `/v1/health/service/api?passing&index=${first.index}&wait=30s`);
    await s.put('/v1/catalog/register', { Node: 'n2', Address: '10.1.0.2', Check: { CheckID: 'api-check', Name: 'api check', ServiceID: 'api-n2', Status: 'passing' } });
    const woke = await pending.reply;
    assert.ok(woke.index > first.index);
    assert.deepEqual(woke.json.map((e: any) => e.Node.Node).sort(), ['n1', 'n2']);
  });

  test('a node-level check change wakes the node\'s services', async () => {
    const first = await s.get('/v1/health/service/api?passing');
    const pending = await parkedGet(s, `/v1/health/service/api?passing&index=${first.index}&wait=30s`);
    await s.put('/v1/catalog/register', { Node: 'n3', Address: '10.1.0.3', Check: { CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' } });
    const woke = await pending.reply;
    assert.ok(woke.index > first.index);
    assert.deepEqual(woke.json.map((e: any) => e.Node.Node).sort(), ['n1', 'n2', 'n3']);
  });

  test('a change to another service does not wake the query; the wait elapses with the same index', async () => {
    const first = await s.get('/v1/health/service/api');
    const started = performance.now();
    const pending = await parkedGet(s, `/v1/health/service/api?index=${first.index}&wait=1s`);
    await s.put('/v1/catalog/register', { Node: 'n9', Address: '10.1.0.9', Service: { Service: 'unrelated' } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pending.settled(), false, 'the unrelated change woke the query');
    const done = await pending.reply;
    assert.equal(done.index, first.index);
    // The answer may only come once the wait is over (Node's timers never fire early; 50 ms of clock slack).
    assert.ok(performance.now() - started >= 950, `answered after ${Math.round(performance.now() - started)} ms, before its 1 s wait`);
  });
});
