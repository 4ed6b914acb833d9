/**
 * L7 traffic management through the compiled discovery chain, end to end on loopback: a service-splitter sends 90/10
 * (±5 %) to two resolver subsets chosen by `Service.Meta.version` filters; service-router routes by path prefix and
 * header, with a route's retries (`NumRetries`, `RetryOnStatusCodes`) and `RequestTimeout`; a service-resolver
 * failover moves traffic to the failover target once the primary's instances go critical, and back when they recover.
 * Semantics from Consul's config entry docs (service-splitter, service-router, service-resolver) and
 * agent/xds/routes.go (route timeout and retry policy from ServiceRouteDestination; Envoy answers a timed-out
 * request 504 "upstream request timeout" and a cluster without healthy hosts 503 "no healthy upstream").
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { freePort } from '../helpers/server.ts';
import { allow, closeKeepAlive, httpGet, registerSidecar, runProxy, startHttpApp, startMesh, type Mesh } from './helpers.ts';

let mesh: Mesh;
let apiPort: number;
let payPort: number;

async function app(name: string, handle: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<number> {
  const server = createServer((req, res) => {
    if (handle(req, res)) return;
    res.writeHead(200, { 'x-app': name }).end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mesh.cleanups.push(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  return (server.address() as AddressInfo).port;
}

before(async () => {
  mesh = await startMesh();
  const set = (e: Record<string, unknown>) => mesh.client.configEntries.set(e as { Kind: string; Name: string });
  for (const name of ['api', 'pay', 'pay-dr']) await set({ Kind: 'service-defaults', Name: name, Protocol: 'http' });
  await set({
    Kind: 'service-resolver', Name: 'api',
    Subsets: { v1: { Filter: 'Service.Meta.version == v1' }, v2: { Filter: 'Service.Meta.version == v2' } },
  });
  await set({ Kind: 'service-splitter', Name: 'api', Splits: [{ Weight: 90, ServiceSubset: 'v1' }, { Weight: 10, ServiceSubset: 'v2' }] });
  await set({
    Kind: 'service-router', Name: 'api',
    Routes: [
      { Match: { HTTP: { PathPrefix: '/pin-v2' } }, Destination: { ServiceSubset: 'v2' } },
      { Match: { HTTP: { PathExact: '/flaky' } }, Destination: { ServiceSubset: 'v1', NumRetries: 3, RetryOnStatusCodes: [503] } },
      { Match: { HTTP: { PathExact: '/slow' } }, Destination: { ServiceSubset: 'v1', RequestTimeout: '300ms' } },
      { Match: { HTTP: { Header: [{ Name: 'x-version', Exact: 'v2' }] } }, Destination: { ServiceSubset: 'v2' } },
    ],
  });
  await set({ Kind: 'service-resolver', Name: 'pay', Failover: { '*': { Service: 'pay-dr' } } });
  let flaky = 0;
  const v1 = await app('v1', (req, res) => {
    if (req.url === '/flaky' && flaky++ % 2 === 0) {
      res.writeHead(503).end('try again');
      return true;
    }
    if (req.url === '/slow') {
      setTimeout(() => res.writeHead(200).end('late'), 3000).unref();
      return true;
    }
    return false;
  });
  const v2 = await app('v2', () => false);
  apiPort = await freePort();
  payPort = await freePort();
  const web = await registerSidecar(mesh, { service: 'web', appPort: await freePort(), upstreams: [{ name: 'api', port: apiPort }, { name: 'pay', port: payPort }] });
  const a1 = await registerSidecar(mesh, { service: 'api', id: 'api-1', appPort: v1, meta: { version: 'v1' } });
  const a2 = await registerSidecar(mesh, { service: 'api', id: 'api-2', appPort: v2, meta: { version: 'v2' } });
  const p1 = await registerSidecar(mesh, { service: 'pay', appPort: await startHttpApp(mesh, 'pay-primary') });
  const p2 = await registerSidecar(mesh, { service: 'pay-dr', appPort: await startHttpApp(mesh, 'pay-dr') });
  await mesh.client.agent.checkRegister({ ID: 'pay-up', Name: 'pay up', ServiceID: p1.proxyId, TTL: '10m', Status: 'passing' });
  for (const dest of ['api', 'pay', 'pay-dr']) await allow(mesh, 'web', dest);
  for (const id of [web.proxyId, a1.proxyId, a2.proxyId, p1.proxyId, p2.proxyId]) await runProxy(mesh, id);
});

after(async () => {
  closeKeepAlive();
  await mesh?.close();
});

test('a 90/10 split sends 90 % (±5) to subset v1 and 10 % (±5) to v2', async () => {
  const counts: Record<string, number> = { v1: 0, v2: 0 };
  const n = 1000;
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, () => httpGet(apiPort, '/')));
    for (const [j, r] of batch.entries()) {
      assert.equal(r.status, 200, `request ${i + j}: ${r.status} ${r.body}`);
      counts[r.body] = (counts[r.body] ?? 0) + 1;
    }
  }
  const v2Share = counts.v2! / n;
  assert.ok(v2Share >= 0.05 && v2Share <= 0.15, `v2 got ${counts.v2} of ${n}`);
  assert.equal(counts.v1! + counts.v2!, n);
});

test('routes: a path prefix and a header pin requests to subset v2', async () => {
  for (let i = 0; i < 20; i++) {
    assert.equal((await httpGet(apiPort, '/pin-v2/x')).body, 'v2');
    assert.equal((await httpGet(apiPort, '/any', { 'x-version': 'v2' })).body, 'v2');
  }
});

test('a route retries on the status codes it names', async () => {
  for (let i = 0; i < 10; i++) {
    const r = await httpGet(apiPort, '/flaky');
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
  }
});

test('a route RequestTimeout answers 504 when the app is slower', async () => {
  const r = await httpGet(apiPort, '/slow');
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
});

test('resolver failover: traffic moves to pay-dr when pay goes critical, and back when it recovers', async () => {
  assert.equal((await httpGet(payPort, '/')).body, 'pay-primary GET /');
  await mesh.client.agent.failTTL('pay-up', 'down for the test');
  await waitFor(async () => (await httpGet(payPort, '/')).body === 'pay-dr GET /', 'traffic to fail over to pay-dr', { deadlineMs: 20_000, intervalMs: 50 });
  for (let i = 0; i < 20; i++) assert.equal((await httpGet(payPort, '/')).body, 'pay-dr GET /');
  await mesh.client.agent.passTTL('pay-up');
  await waitFor(async () => (await httpGet(payPort, '/')).body === 'pay-primary GET /', 'traffic to return to pay', { deadlineMs: 20_000, intervalMs: 50 });
});
