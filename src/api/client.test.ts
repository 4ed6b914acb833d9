import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsulClient, ApiStatusError, isApiStatusError, normalizeAddress, encodeKVValue, kvValueText } from './client.ts';
import { isMeshgateError } from '../lib/errors.ts';
import { startStub } from './testing/stub-server.ts';

test('address: host:port, scheme, env precedence and CONSUL_HTTP_SSL', () => {
  assert.equal(normalizeAddress('127.0.0.1:8500', {}), 'http://127.0.0.1:8500');
  assert.equal(normalizeAddress('https://consul.local:8501/', {}), 'https://consul.local:8501');
  assert.equal(normalizeAddress('[::1]:8500', {}), 'http://[::1]:8500');
  assert.equal(normalizeAddress('consul:8501', { CONSUL_HTTP_SSL: 'true' }), 'https://consul:8501');
  assert.throws(() => normalizeAddress('unix:///tmp/consul.sock', {}), (e) => isMeshgateError(e, 'MG_API_ADDRESS'));
  assert.equal(new ConsulClient({ env: {} }).address, 'http://127.0.0.1:8500');
  assert.equal(new ConsulClient({ env: { CONSUL_HTTP_ADDR: '10.0.0.1:1' } }).address, 'http://10.0.0.1:1');
  assert.equal(new ConsulClient({ env: { CONSUL_HTTP_ADDR: '10.0.0.1:1', MESHGATE_HTTP_ADDR: '10.0.0.2:2' } }).address, 'http://10.0.0.2:2');
  assert.equal(new ConsulClient({ address: '10.0.0.3:3', env: { MESHGATE_HTTP_ADDR: '10.0.0.2:2' } }).address, 'http://10.0.0.3:3');
});

test('reads send token, dc and query options and decode X-Consul-* headers into QueryMeta', async (t) => {
  const stub = await startStub(() => ({
    headers: { 'X-Consul-Index': '42', 'X-Consul-KnownLeader': 'true', 'X-Consul-LastContact': '7', 'X-Consul-Default-ACL-Policy': 'deny' },
    body: [{ Node: { Node: 'n1' }, Service: { ID: 'web-1', Service: 'web' }, Checks: [] }],
  }));
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: { CONSUL_HTTP_TOKEN: 'env-token' }, datacenter: 'dc2' });
  const { value, meta } = await client.health.service('web', { passing: true, tag: ['v1', 'blue'], filter: 'Service.Port > 0', stale: true, index: 41, waitMs: 90_000 });
  assert.equal(value[0]!.Service.ID, 'web-1');
  assert.deepEqual({ ...meta, RequestTime: 0 }, {
    LastIndex: 42, KnownLeader: true, LastContact: 7, AddressTranslationEnabled: false, CacheHit: false, CacheAge: 0,
    DefaultACLPolicy: 'deny', ResultsFilteredByACLs: false, RequestTime: 0,
  });
  const req = stub.requests[0]!;
  assert.equal(req.path, '/v1/health/service/web');
  assert.equal(req.headers['x-consul-token'], 'env-token');
  assert.equal(req.query.get('dc'), 'dc2');
  assert.equal(req.query.get('passing'), '');
  assert.deepEqual(req.query.getAll('tag'), ['v1', 'blue']);
  assert.equal(req.query.get('filter'), 'Service.Port > 0');
  assert.equal(req.query.has('stale'), true);
  assert.equal(req.query.get('index'), '41');
  assert.equal(req.query.get('wait'), '1m30s');

  // A per-call token overrides the client's; agent endpoints do not carry ?dc.
  await client.agent.services({ token: 'call-token' });
  const agentReq = stub.requests[1]!;
  assert.equal(agentReq.headers['x-consul-token'], 'call-token');
  assert.equal(agentReq.query.has('dc'), false);
});

test('kv: missing key is null with its index; put sends raw bytes with flags/cas; CAS failure is false', async (t) => {
  const stub = await startStub((req) => {
    if (req.method === 'GET' && req.path === '/v1/kv/missing') return { status: 404, headers: { 'X-Consul-Index': '9' } };
    if (req.method === 'GET') {
      return { headers: { 'X-Consul-Index': '10' }, body: [{ Key: 'a b/c', Value: encodeKVValue('héllo'), Flags: 3, CreateIndex: 5, ModifyIndex: 10, LockIndex: 0 }] };
    }
    if (req.method === 'PUT') return { body: req.query.get('cas') === '1' ? 'false' : 'true' };
    return { body: 'true' };
  });
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  const missing = await client.kv.get('missing');
  assert.equal(missing.value, null);
  assert.equal(missing.meta.LastIndex, 9);
  const found = await client.kv.get('/a b/c');
  assert.equal(stub.requests.at(-1)!.path, '/v1/kv/a%20b/c');
  assert.equal(kvValueText(found.value!), 'héllo');
  assert.equal(await client.kv.put('k', 'v1', { flags: 7, cas: 0 }), true);
  const put = stub.requests.at(-1)!;
  assert.equal(put.body.toString(), 'v1');
  assert.equal(put.query.get('flags'), '7');
  assert.equal(put.query.get('cas'), '0');
  assert.equal(await client.kv.put('k', 'v2', { cas: 1 }), false);
  assert.equal(await client.kv.delete('dir/', { recurse: true }), true);
  assert.equal(stub.requests.at(-1)!.method, 'DELETE');
  assert.equal(stub.requests.at(-1)!.query.has('recurse'), true);
});

test('errors: HTTP status with Consul body, transport failure, decode failure, timeout and abort are told apart', async (t) => {
  const stub = await startStub((req) => {
    if (req.path === '/v1/catalog/register') return { status: 400, body: 'Missing node registration' };
    if (req.path === '/v1/catalog/nodes') return { body: '{not json' };
    if (req.path === '/v1/status/leader') return { hang: true };
    return { status: 500, body: 'boom' };
  });
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {}, timeoutMs: 300 });

  const status = await client.catalog.register({ Node: '', Address: '' }).catch((e: unknown) => e);
  assert.ok(status instanceof ApiStatusError);
  assert.equal(status.code, 'MG_API_STATUS');
  assert.equal(status.statusCode, 400);
  assert.equal(status.body, 'Missing node registration');
  assert.ok(isApiStatusError(status, 400));

  const decode = await client.catalog.nodes().catch((e: unknown) => e);
  assert.ok(isMeshgateError(decode, 'MG_API_DECODE'));

  const timeout = await client.status.leader().catch((e: unknown) => e);
  assert.ok(isMeshgateError(timeout, 'MG_API_TIMEOUT'), String(timeout));

  const controller = new AbortController();
  const pending = client.status.leader({ signal: controller.signal }).catch((e: unknown) => e);
  await stub.waitFor((r) => r.path === '/v1/status/leader' && stub.requests.filter((x) => x.path === r.path).length >= 2);
  controller.abort();
  assert.ok(isMeshgateError(await pending, 'MG_API_ABORTED'));

  const closed = await startStub(() => ({}));
  const deadUrl = closed.url;
  await closed.close();
  const transport = await new ConsulClient({ address: deadUrl, env: {} }).kv.get('x').catch((e: unknown) => e);
  assert.ok(isMeshgateError(transport, 'MG_API_TRANSPORT'), String(transport));
  assert.match((transport as Error).message, /ECONNREFUSED/);
});

test('blocking requests get a deadline of wait + wait/16 + margin; plain ones the client timeout', () => {
  const client = new ConsulClient({ address: '127.0.0.1:1', env: {}, timeoutMs: 1000, blockingMarginMs: 500 });
  assert.equal(client.transport.deadlineFor({}), 1000);
  assert.equal(client.transport.deadlineFor({ index: 0, waitMs: 16_000 }), 1000);
  assert.equal(client.transport.deadlineFor({ index: 3, waitMs: 16_000 }), 16_000 + 1_000 + 500);
  assert.equal(client.transport.deadlineFor({ index: 3 }), 300_000 + 18_750 + 500);
  assert.equal(client.transport.deadlineFor({ index: 3, waitMs: 3_600_000 }), 600_000 + 37_500 + 500);
});

test('a blocking request that outlives the plain timeout is not cut short by it', async (t) => {
  const stub = await startStub(async () => {
    await new Promise((r) => setTimeout(r, 400));
    return { headers: { 'X-Consul-Index': '8' }, body: {} };
  });
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {}, timeoutMs: 100, blockingMarginMs: 2000 });
  const res = await client.catalog.services({ index: 7, waitMs: 400 });
  assert.equal(res.meta.LastIndex, 8);
  await assert.rejects(client.catalog.services(), (e) => isMeshgateError(e, 'MG_API_TIMEOUT'));
});

test('txn: 200 commits, 409 rolls back with Errors; ops are sent as given', async (t) => {
  let n = 0;
  const stub = await startStub(() => (n++ === 0
    ? { headers: { 'X-Consul-Index': '3' }, body: { Results: [{ KV: { Key: 'a', ModifyIndex: 3 } }], Errors: null } }
    : { status: 409, body: { Results: null, Errors: [{ OpIndex: 1, What: 'failed to lock key "b"' }] } }));
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  const ok = await client.txn([{ KV: { Verb: 'set', Key: 'a', Value: encodeKVValue('x') } }]);
  assert.equal(ok.ok, true);
  assert.equal(ok.value.Results![0]!.KV!.Key, 'a');
  assert.equal(ok.meta.LastIndex, 3);
  assert.deepEqual(JSON.parse(stub.requests[0]!.body.toString()), [{ KV: { Verb: 'set', Key: 'a', Value: 'eA==' } }]);
  const rolledBack = await client.txn([{ KV: { Verb: 'get', Key: 'a' } }, { KV: { Verb: 'lock', Key: 'b', Session: 's' } }]);
  assert.equal(rolledBack.ok, false);
  assert.deepEqual(rolledBack.value.Errors, [{ OpIndex: 1, What: 'failed to lock key "b"' }]);
});

test('session and agent endpoints use Consul paths and shapes', async (t) => {
  const stub = await startStub((req) => {
    if (req.path === '/v1/session/create') return { body: { ID: 'sess-1' } };
    if (req.path === '/v1/session/renew/gone') return { status: 404, body: 'Session id \'gone\' not found' };
    if (req.path === '/v1/session/info/sess-1') return { headers: { 'X-Consul-Index': '4' }, body: [{ ID: 'sess-1', TTL: '15s', Behavior: 'release' }] };
    if (req.path === '/v1/agent/service/unknown') return { status: 404, body: 'unknown service ID' };
    return { body: '' };
  });
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  assert.equal(await client.session.create({ Name: 'lock', TTL: '15s', Behavior: 'delete' }), 'sess-1');
  assert.deepEqual(JSON.parse(stub.requests[0]!.body.toString()), { Name: 'lock', TTL: '15s', Behavior: 'delete' });
  assert.equal(await client.session.renew('gone'), null);
  assert.equal((await client.session.info('sess-1')).value!.TTL, '15s');
  assert.equal(await client.agent.service('unknown'), null);
  await client.agent.serviceRegister({ Name: 'web', Port: 80, Check: { TTL: '10s' } }, { replaceExistingChecks: true });
  const reg = stub.requests.at(-1)!;
  assert.equal(reg.method, 'PUT');
  assert.equal(reg.path, '/v1/agent/service/register');
  assert.equal(reg.query.has('replace-existing-checks'), true);
  assert.deepEqual(JSON.parse(reg.body.toString()), { Name: 'web', Port: 80, Check: { TTL: '10s' } });
  await client.agent.checkUpdate('service:web', { Status: 'passing', Output: 'ok' });
  assert.equal(stub.requests.at(-1)!.path, '/v1/agent/check/update/service:web');
  await client.agent.passTTL('c 1', 'fine');
  assert.equal(stub.requests.at(-1)!.path, '/v1/agent/check/pass/c%201');
  assert.equal(stub.requests.at(-1)!.query.get('note'), 'fine');
});
