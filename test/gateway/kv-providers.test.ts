/**
 * Traefik's KV providers and HTTP provider against real peers on 127.0.0.1: a running `meshgate server` (its KV is
 * Consul's), Debian's etcd and redis-server, and a local HTTP server. What is relied on from Traefik v3:
 * - the key layout of docs/content/reference/routing-configuration/other-providers/kv.md (`traefik/http/routers/
 *   <name>/rule`, lists as `…/entrypoints/0`, servers as `…/loadBalancer/servers/0/url`) and pkg/config/kv
 *   (DecodeToNode: numeric segments are indexes, names match case-insensitively);
 * - pkg/provider/kv/kv.go watchKv: any change under the root key rebuilds the whole configuration, a listing that
 *   does not decode is an error and the last configuration stays; no key at all gives an empty configuration;
 * - kvtools/redis (Traefik's Redis store): raw values at plain keys, keyspace notifications (`CONFIG SET
 *   notify-keyspace-events KEA`, psubscribe on the prefix);
 * - pkg/provider/http/http.go: GET every pollInterval, a body hash to skip unchanged answers, a non-200 answer is an
 *   error (the last configuration stays), the body is YAML or JSON like a file provider's file.
 * Each store gets the same story: keys → the gateway routes; a changed key re-routes; a bad value is logged once
 * naming its key and routing does not change; deleting the router's keys removes the route.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { loadStaticConfig } from '../../src/gateway/config/static.ts';
import { createLogger, silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { etcdBinary, startEtcd, type EtcdProcess } from '../helpers/etcd.ts';
import { freePort, startTestServer } from '../helpers/server.ts';
import { eventually, get, startGateway, startUpstream, tempDir, type Upstream } from './helpers.ts';

const WAIT_MS = 60_000;

let a: Upstream;
let b: Upstream;

before(async () => {
  a = await startUpstream('a');
  b = await startUpstream('b');
});
after(async () => {
  await a?.close();
  await b?.close();
});

/** Log lines the gateway wrote, parsed; tests look for the one error a bad key causes. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ name: 'gateway', level: 'info', destination }), lines };
}

async function gatewayWith(providerYaml: string, logger: ReturnType<typeof createLogger>) {
  const dir = await tempDir('mg-kv-');
  const file = join(dir, 'gateway.yml');
  await writeFile(file, `entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
providers:
  providersThrottleDuration: 10ms
${providerYaml}api:
  insecure: true
`);
  return startGateway(file, { logger, lastGoodFile: false });
}

/** The keys of one router `app` on `Host(app.test)` to `url`, as Traefik's KV reference page lays them out. */
function appKeys(root: string, url: string): Record<string, string> {
  return {
    [`${root}/http/routers/app/rule`]: 'Host(`app.test`)',
    [`${root}/http/routers/app/entryPoints/0`]: 'web',
    [`${root}/http/routers/app/service`]: 'app',
    // Mixed case on purpose: Traefik's KV keys are case-insensitive.
    [`${root}/HTTP/Services/app/loadBalancer/servers/0/url`]: url,
  };
}

interface Store {
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
}

/** The shared story, for one store whose provider is `provider` (the `@` suffix). */
async function routesFromStore(gw: Awaited<ReturnType<typeof gatewayWith>>, store: Store, provider: string, lines: Array<Record<string, unknown>>, root = 'traefik') {
  for (const [k, v] of Object.entries(appKeys(root, a.url))) await store.put(k, v);
  const first = await eventually(async () => {
    const r = await get(`${gw.web}/`, { host: 'app.test' });
    assert.equal(r.headers['x-upstream'], 'a');
    return r;
  }, WAIT_MS);
  assert.equal(first.status, 200);
  const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string; provider: string }>;
  assert.ok(routers.some((r) => r.name === `app@${provider}` && r.provider === provider), JSON.stringify(routers));

  // A changed key re-routes.
  await store.put(`${root}/HTTP/Services/app/loadBalancer/servers/0/url`, b.url);
  await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'b'), WAIT_MS);

  // A bad value: one error naming the key, and the gateway keeps routing as before.
  const before = lines.length;
  await store.put(`${root}/http/routers/app/priority`, 'high');
  const error = await eventually(async () => {
    const found = lines.slice(before).find((l) => l.level === 50 && /configuration rejected/.test(String(l.msg)));
    assert.ok(found, 'an error line');
    return found;
  }, WAIT_MS);
  assert.match(JSON.stringify(error), /http\.routers\.app\.priority/);
  assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'b');
  // A second, unrelated change while the bad key is still there does not log it again.
  await store.put(`${root}/http/routers/other/rule`, 'Host(`other.test`)');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(lines.slice(before).filter((l) => l.level === 50 && /configuration rejected/.test(String(l.msg))).length, 1);
  await store.del(`${root}/http/routers/other/rule`);
  await store.put(`${root}/http/routers/app/priority`, '10');
  await store.put(`${root}/HTTP/Services/app/loadBalancer/servers/0/url`, a.url);
  await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a'), WAIT_MS);

  // Deleting the router removes the route.
  for (const field of ['rule', 'entryPoints/0', 'service', 'priority']) await store.del(`${root}/http/routers/app/${field}`);
  await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).status, 404), WAIT_MS);
}

describe('providers.consul (the server\'s KV)', () => {
  let server: RunningServer;
  let consul: ConsulClient;
  before(async () => {
    server = await startTestServer();
    consul = createClient({ address: server.url, env: {} });
  });
  after(async () => {
    await server?.close();
  });

  test('keys under traefik/ route; a change re-routes; a bad key is logged and ignored; a delete removes the router', async (t) => {
    const { logger, lines } = capturedLogger();
    const gw = await gatewayWith(`  consul:\n    endpoints: ["${server.url.replace(/^http:\/\//, '')}"]\n`, logger);
    t.after(() => gw.close());
    await routesFromStore(gw, {
      put: async (k, v) => void (await consul.kv.put(k, v)),
      del: async (k) => void (await consul.kv.delete(k)),
    }, 'consul', lines);
  });

  test('rootKey, and keys outside the four sections, are honoured', async (t) => {
    const { logger } = capturedLogger();
    const gw = await gatewayWith(`  consul:\n    endpoints: ["${server.url.replace(/^http:\/\//, '')}"]\n    rootKey: edge/prod\n`, logger);
    t.after(() => gw.close());
    // Traefik reads only http/tcp/udp/tls under the root: other keys (notes, acme data) are not configuration.
    await consul.kv.put('edge/prod/notes', 'owned by the edge team');
    // A router under the default root is not this gateway's.
    await consul.kv.put('traefik/http/routers/stray/rule', 'Host(`stray.test`)');
    for (const [k, v] of Object.entries(appKeys('edge/prod', a.url))) await consul.kv.put(k, v);
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a'), WAIT_MS);
    const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string }>;
    assert.deepEqual(routers.filter((r) => r.name.endsWith('@consul')).map((r) => r.name), ['app@consul']);
  });
});

test('providers.consul sends its token: with ACLs on and default deny, a token that may read traefik/ gets the routes', async (t) => {
  const MANAGEMENT = 'b1gs3cr3-0000-4000-8000-000000000001';
  const server = await startServer({
    dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', logLevel: 'silent',
    acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: MANAGEMENT } },
  }, silentLogger());
  t.after(() => server.close());
  const admin = createClient({ address: server.url, token: MANAGEMENT, env: {} });
  const call = async (path: string, body: unknown) => {
    const res = await fetch(`${server.url}${path}`, { method: 'PUT', headers: { 'x-consul-token': MANAGEMENT }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Record<string, string>;
  };
  const policy = await call('/v1/acl/policy', { Name: 'edge-read', Rules: 'key_prefix "traefik/" { policy = "read" }' });
  const token = await call('/v1/acl/token', { Policies: [{ ID: policy.ID }] });
  for (const [k, v] of Object.entries(appKeys('traefik', a.url))) await admin.kv.put(k, v);
  const address = server.url.replace(/^http:\/\//, '');
  const { logger } = capturedLogger();
  const gw = await gatewayWith(`  consul:\n    endpoints: ["${address}"]\n    token: "${token.SecretID}"\n`, logger);
  t.after(() => gw.close());
  await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a'), WAIT_MS);
  // Without the token the same keys are not readable: no router from them.
  const { logger: other } = capturedLogger();
  const anonymous = await gatewayWith(`  consul:\n    endpoints: ["${address}"]\n`, other);
  t.after(() => anonymous.close());
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await get(`${anonymous.web}/`, { host: 'app.test' })).status, 404);
});

describe('providers.etcd', { skip: etcdBinary() === undefined ? 'etcd is not installed (scripts/install-test-deps.sh)' : false }, () => {
  let etcd: EtcdProcess;
  let client: Etcd3;
  before(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: etcd.url });
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });

  test('keys under traefik/ route; a change re-routes; a bad key is logged and ignored; a delete removes the router', async (t) => {
    const { logger, lines } = capturedLogger();
    const gw = await gatewayWith(`  etcd:\n    endpoints: ["${etcd.url.replace(/^http:\/\//, '')}"]\n`, logger);
    t.after(() => gw.close());
    await routesFromStore(gw, {
      put: async (k, v) => void (await client.put(k).value(v)),
      del: async (k) => void (await client.delete().key(k)),
    }, 'etcd', lines);
  });
});

describe('providers.redis', () => {
  let redisServer: ChildProcess | undefined;
  let redis: Redis;
  let port: number;
  // Keyspace notifications are left off: the provider switches them on, as Traefik's Redis store does.
  const startRedis = () => {
    redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  };
  const stopRedis = async () => {
    const child = redisServer;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  before(async () => {
    port = await freePort();
    startRedis();
    redis = new Redis({ host: '127.0.0.1', port, retryStrategy: () => 50 });
    redis.on('error', () => undefined); // refused while redis-server is not listening
    await eventually(async () => assert.equal(await redis.ping(), 'PONG'), WAIT_MS);
  });
  after(async () => {
    redis?.disconnect();
    await stopRedis();
  });

  test('keys under traefik/ route; a change re-routes; a bad key is logged and ignored; a delete removes the router', async (t) => {
    const { logger, lines } = capturedLogger();
    const gw = await gatewayWith(`  redis:\n    endpoints: ["127.0.0.1:${port}"]\n`, logger);
    t.after(() => gw.close());
    await routesFromStore(gw, {
      put: async (k, v) => void (await redis.set(k, v)),
      del: async (k) => void (await redis.del(k)),
    }, 'redis', lines);
    assert.match(String(await redis.config('GET', 'notify-keyspace-events')), /K/);
  });

  test('a gateway started while Redis is down follows it once it is up; Redis going away keeps the last configuration; a restarted Redis is followed again', async (t) => {
    await stopRedis();
    const { logger, lines } = capturedLogger();
    const gw = await gatewayWith(`  redis:\n    endpoints: ["127.0.0.1:${port}"]\n    rootKey: restart\n`, logger);
    t.after(() => gw.close());
    startRedis();
    await eventually(async () => assert.equal(await redis.ping(), 'PONG'), WAIT_MS);
    for (const [k, v] of Object.entries(appKeys('restart', a.url))) await redis.set(k, v);
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a'), WAIT_MS);
    const mark = lines.length;
    await stopRedis();
    await eventually(async () => assert.ok(lines.slice(mark).some((l) => l.level === 50 && /cannot read the store/.test(String(l.msg)))), WAIT_MS);
    assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a');
    // A new, empty redis-server on the same port (no persistence): the provider reconnects, subscribes again and
    // follows the keys written there.
    startRedis();
    await eventually(async () => assert.equal(await redis.ping(), 'PONG'), WAIT_MS);
    for (const [k, v] of Object.entries(appKeys('restart', b.url))) await redis.set(k, v);
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'b'), WAIT_MS);
    // And notifications work on the new server: a change after the reconnection re-routes.
    await redis.set('restart/HTTP/Services/app/loadBalancer/servers/0/url', a.url);
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a'), WAIT_MS);
  });
});

describe('providers.http', () => {
  let server: Server;
  let body = '';
  let status = 200;
  const seen: Array<Record<string, string | string[] | undefined>> = [];
  let endpoint: string;
  before(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(status, { 'content-type': 'application/yaml' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/config`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const yaml = (url: string, extra = '') => `http:
  routers:
    app:
      rule: "Host(\`app.test\`)"
      entryPoints: [web]
      service: app
${extra}  services:
    app:
      loadBalancer:
        servers:
          - url: "${url}"
`;

  test('polls the endpoint with its headers; a change re-routes; a bad body or a non-200 answer keeps the last configuration', async (t) => {
    body = yaml(a.url);
    const { logger, lines } = capturedLogger();
    const gw = await gatewayWith(`  http:\n    endpoint: "${endpoint}"\n    pollInterval: 50ms\n    headers:\n      X-Edge-Token: s3cret\n`, logger);
    t.after(() => gw.close());
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a'), WAIT_MS);
    assert.equal(seen[0]!['x-edge-token'], 's3cret');
    const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string }>;
    assert.ok(routers.some((r) => r.name === 'app@http'));

    // JSON is YAML: the same configuration as JSON, pointing at b.
    body = JSON.stringify({ http: { routers: { app: { rule: 'Host(`app.test`)', entryPoints: ['web'], service: 'app' } }, services: { app: { loadBalancer: { servers: [{ url: b.url }] } } } } });
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'b'), WAIT_MS);

    const mark = lines.length;
    body = yaml(a.url, '      priority: high\n');
    const error = await eventually(async () => {
      const found = lines.slice(mark).find((l) => l.level === 50);
      assert.ok(found);
      return found;
    }, WAIT_MS);
    assert.match(JSON.stringify(error), /http\.routers\.app\.priority/);
    // Several polls later: still one line for the one bad body, and still routed by the last good configuration.
    const polls = seen.length;
    await eventually(async () => assert.ok(seen.length >= polls + 3), WAIT_MS);
    assert.equal(lines.slice(mark).filter((l) => l.level === 50).length, 1);
    assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'b');

    const mark2 = lines.length;
    status = 503;
    t.after(() => void (status = 200));
    body = yaml(a.url);
    await eventually(async () => assert.ok(lines.slice(mark2).some((l) => l.level === 50 && /503/.test(JSON.stringify(l)))), WAIT_MS);
    assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'b');
    status = 200;
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'app.test' })).headers['x-upstream'], 'a'), WAIT_MS);
  });

  test('user information in the endpoint is sent as basic auth and never logged', async (t) => {
    body = yaml(a.url);
    status = 401;
    t.after(() => void (status = 200));
    const { logger, lines } = capturedLogger();
    const withCredentials = endpoint.replace('http://', 'http://edge:pa55word@');
    const mark = seen.length;
    const gw = await gatewayWith(`  http:\n    endpoint: "${withCredentials}"\n    pollInterval: 50ms\n`, logger);
    t.after(() => gw.close());
    await eventually(async () => assert.ok(lines.some((l) => l.level === 50 && /401/.test(JSON.stringify(l)))), WAIT_MS);
    assert.equal(seen[mark]!.authorization, `Basic ${Buffer.from('edge:pa55word').toString('base64')}`);
    assert.ok(!lines.some((l) => JSON.stringify(l).includes('pa55word')), 'the password is not in the log');
  });
});

test('static blocks: Traefik\'s defaults, and what Traefik refuses is refused naming the key', async () => {
  // Defaults from pkg/provider/kv (rootKey "traefik"), kv/{consul,etcd,redis} SetDefaults (endpoints) and
  // pkg/provider/http SetDefaults (pollInterval, pollTimeout 5s).
  const config = await loadStaticConfig(undefined, { 'providers.consul': 'true', 'providers.etcd': 'true', 'providers.redis': 'true', 'providers.http.endpoint': 'http://127.0.0.1:9000/api' });
  assert.deepEqual([config.providers.consul?.endpoints, config.providers.consul?.rootKey], [['127.0.0.1:8500'], 'traefik']);
  assert.deepEqual(config.providers.etcd?.endpoints, ['127.0.0.1:2379']);
  assert.deepEqual([config.providers.redis?.endpoints, config.providers.redis?.db], [['127.0.0.1:6379'], 0]);
  assert.deepEqual([config.providers.http?.pollInterval, config.providers.http?.pollTimeout], [5000, 5000]);
  // kvtools/redis and kvtools/consul: one endpoint; pkg/provider/http Init: a non-empty endpoint, pollInterval > 0.
  await assert.rejects(loadStaticConfig(undefined, { 'providers.redis.endpoints': 'a:1,b:2' }), /providers\.redis\.endpoints/);
  await assert.rejects(loadStaticConfig(undefined, { 'providers.http.pollInterval': '5s' }), /providers\.http\.endpoint/);
  await assert.rejects(loadStaticConfig(undefined, { 'providers.http.endpoint': 'http://x/', 'providers.http.pollInterval': '0s' }), /providers\.http\.pollInterval/);
  await assert.rejects(loadStaticConfig(undefined, { 'providers.etcd.tls.cert': '/c.pem' }), /providers\.etcd\.tls\.key/);
});
