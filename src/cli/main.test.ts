import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, normalizeFlags } from './main.ts';
import { apiFieldName, servicesFromDocument } from './commands/services/definition.ts';
import { columnize, prettyKVPair } from './format.ts';
import { encodeKVValue } from '../api/client.ts';
import { startStub } from '../api/testing/stub-server.ts';
import { captureIO } from './testing.ts';

test('Consul single-dash flags become commander long flags; short flags, values after -- and "-" stay', () => {
  assert.deepEqual(
    normalizeFlags(['kv', 'get', '-recurse', '-separator=/', '-h', '-', 'x', '--', '-keep']),
    ['kv', 'get', '--recurse', '--separator=/', '-h', '-', 'x', '--', '-keep'],
  );
  assert.deepEqual(normalizeFlags(['kv', 'put', '-modify-index', '5', '--cas']), ['kv', 'put', '--modify-index', '5', '--cas']);
});

test('service definition files: config spelling is translated to the API shape, user maps are kept', () => {
  assert.equal(apiFieldName('enable_tag_override'), 'EnableTagOverride');
  assert.equal(apiFieldName('check_id'), 'CheckID');
  assert.equal(apiFieldName('grpc_use_tls'), 'GRPCUseTLS');
  assert.equal(apiFieldName('tls_skip_verify'), 'TLSSkipVerify');
  assert.equal(apiFieldName('args'), 'ScriptArgs');
  assert.equal(apiFieldName('Port'), 'Port');
  const [svc] = servicesFromDocument({
    service: {
      name: 'web', id: 'web-1', port: 80, meta: { some_key: 'v' }, tagged_addresses: { lan_ipv4: { address: '10.0.0.1', port: 80 } },
      checks: [{ http: 'http://x/health', interval: '10s', header: { 'x-probe': ['1'] }, deregister_critical_service_after: '1m' }],
      weights: { passing: 3, warning: 1 },
    },
  }, 'f.json');
  assert.deepEqual(svc, {
    Name: 'web', ID: 'web-1', Port: 80, Meta: { some_key: 'v' }, TaggedAddresses: { lan_ipv4: { Address: '10.0.0.1', Port: 80 } },
    Checks: [{ HTTP: 'http://x/health', Interval: '10s', Header: { 'x-probe': ['1'] }, DeregisterCriticalServiceAfter: '1m' }],
    Weights: { Passing: 3, Warning: 1 },
  });
  assert.equal(servicesFromDocument({ services: [{ Name: 'a' }, { name: 'b' }] }, 'f').length, 2);
  assert.throws(() => servicesFromDocument({ service: { port: 1 } }, 'f.json'), /has no "name"/);
  assert.throws(() => servicesFromDocument({ nothing: 1 }, 'f.json'), /no "service" or "services"/);
});

test('output layouts: columnize and the kv -detailed block match the consul CLI', () => {
  assert.deepEqual(columnize([['Node', 'ID'], ['worker-01', '1b662d97']]), ['Node       ID', 'worker-01  1b662d97']);
  const block = prettyKVPair({ Key: 'k', Value: encodeKVValue('v'), Flags: 2, CreateIndex: 1, ModifyIndex: 4, LockIndex: 0 }, false);
  assert.equal(block, ['CreateIndex      1', 'Flags            2', 'Key              k', 'LockIndex        0', 'ModifyIndex      4', 'Session          -', 'Value            v'].join('\n'));
});

test('client commands use --http-addr/--token or the environment, and exit 1 with Consul\'s messages', async (t) => {
  const stub = await startStub((req) => {
    if (req.path === '/v1/kv/missing') return { status: 404, headers: { 'X-Consul-Index': '3' } };
    if (req.path === '/v1/kv/denied') return { status: 403, body: 'Permission denied' };
    if (req.method === 'PUT' && req.path.startsWith('/v1/kv/')) return { body: 'true' };
    return { status: 404 };
  });
  t.after(() => stub.close());

  const io = captureIO({ CONSUL_HTTP_ADDR: stub.url, CONSUL_HTTP_TOKEN: 'env-token' });
  assert.equal(await main(['kv', 'get', 'missing'], io), 1);
  assert.equal(io.stderr, 'Error! No key exists at: missing\n');
  assert.equal(stub.requests.at(-1)!.headers['x-consul-token'], 'env-token');

  const io2 = captureIO({ MESHGATE_HTTP_ADDR: 'http://127.0.0.1:1' });
  assert.equal(await main(['kv', 'get', '-http-addr', stub.url, '-token=flag-token', 'denied'], io2), 1);
  assert.match(io2.stderr, /^Error querying Consul agent: .*403.*Permission denied/);
  assert.equal(stub.requests.at(-1)!.headers['x-consul-token'], 'flag-token');

  // DATA from stdin, decoded from base64; -flags sent as the query parameter.
  const io3 = captureIO({ CONSUL_HTTP_ADDR: stub.url }, Buffer.from('bytes\x00here').toString('base64'));
  assert.equal(await main(['kv', 'put', '-base64', '-flags', '9', 'bin', '-'], io3), 0, io3.stderr);
  assert.equal(io3.stdout, 'Success! Data written to: bin\n');
  assert.deepEqual(stub.requests.at(-1)!.body, Buffer.from('bytes\x00here'));
  assert.equal(stub.requests.at(-1)!.query.get('flags'), '9');

  // DATA from @file.
  const dir = mkdtempSync(join(tmpdir(), 'mg-cli-'));
  writeFileSync(join(dir, 'v.txt'), 'from file');
  const io4 = captureIO({ CONSUL_HTTP_ADDR: stub.url });
  assert.equal(await main(['kv', 'put', 'f', `@${join(dir, 'v.txt')}`], io4), 0);
  assert.equal(stub.requests.at(-1)!.body.toString(), 'from file');

  // Usage errors and an unreachable server exit 1 too.
  const io5 = captureIO({ CONSUL_HTTP_ADDR: stub.url });
  assert.equal(await main(['kv', 'put', '-cas', 'k', 'v'], io5), 1);
  assert.equal(io5.stderr, 'Must specify -modify-index with -cas!\n');
  const io6 = captureIO({ CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' });
  assert.equal(await main(['catalog', 'services'], io6), 1);
  assert.match(io6.stderr, /^Error querying Consul agent: .*127\.0\.0\.1:1/);
  const io7 = captureIO();
  assert.equal(await main(['kv', 'nope'], io7), 1);
  assert.equal(await main(['--version'], captureIO()), 0);
});
