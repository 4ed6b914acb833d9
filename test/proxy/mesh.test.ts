/**
 * End to end on loopback with real processes: app → upstream listener of `meshgate proxy` (web) → mTLS → `meshgate
 * proxy` (db, api) → app, for a `tcp` and an `http` service. Intentions decide: an allow passes, a deny is refused at
 * the connection for tcp (the inbound side closes before a byte reaches the app) and answered 403 for a denied HTTP
 * path (L7 permissions; Envoy's RBAC filter answers "RBAC: access denied" with 403, which Consul's docs on L7
 * intentions describe). Consul's sidecar defaults (agent/sidecar_service.go) register the "Connect Sidecar Listening"
 * TCP check; the proxy registers it when the registration has none.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningProxy } from '../../src/proxy/proxy.ts';
import { freePort } from '../helpers/server.ts';
import {
  allow, closeKeepAlive, httpGet, registerSidecar, runProxy, spawnProxy, startHttpApp, startMesh, startTcpApp, tcpExchange, waitHealthy, type Mesh,
} from './helpers.ts';

let mesh: Mesh;
let dbPort: number;
let apiPort: number;
let apiProxy: RunningProxy;
let accessLogFile: string;

before(async () => {
  mesh = await startMesh();
  await mesh.client.configEntries.set({ Kind: 'service-defaults', Name: 'api', Protocol: 'http' });
  const dbApp = await startTcpApp(mesh, 'db');
  const apiApp = await startHttpApp(mesh, 'api');
  dbPort = await freePort();
  apiPort = await freePort();
  const web = await registerSidecar(mesh, { service: 'web', appPort: await freePort(), upstreams: [{ name: 'db', port: dbPort }, { name: 'api', port: apiPort }] });
  const db = await registerSidecar(mesh, { service: 'db', appPort: dbApp });
  const api = await registerSidecar(mesh, { service: 'api', appPort: apiApp });
  await allow(mesh, 'web', 'db');
  await mesh.client.configEntries.set({
    Kind: 'service-intentions', Name: 'api',
    Sources: [{ Name: 'web', Permissions: [{ Action: 'deny', HTTP: { PathPrefix: '/admin' } }, { Action: 'allow', HTTP: { PathPrefix: '/' } }] }],
  });
  // web and db run as real `meshgate proxy` processes; api's sidecar runs in this process (it starts in a fraction
  // of the time on a loaded host, and the HTTP path is the same code).
  accessLogFile = join(mesh.dataDir, 'db-access.log');
  [, , apiProxy] = await Promise.all([
    spawnProxy(mesh, web.proxyId, ['-no-register-checks']), spawnProxy(mesh, db.proxyId, ['-access-log', accessLogFile]), runProxy(mesh, api.proxyId),
  ]);
  // db's sidecar registered its TCP check, critical until the agent's first run (staggered within its 10 s interval).
  await waitHealthy(mesh, 'db');
});

after(async () => {
  closeKeepAlive();
  await mesh?.close();
});

test('tcp: an allowed connection reaches the app through both sidecars', async () => {
  const r = await tcpExchange(dbPort, 'hello');
  assert.equal(r.data, 'db:hello');
});

test('http: an allowed request reaches the app, which learns the caller from XFCC', async () => {
  const r = await httpGet(apiPort, '/hello?x=1');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'api GET /hello?x=1');
  assert.match(String(r.headers['x-got-xfcc']), /URI=spiffe:\/\/[^/]+\/ns\/default\/dc\/dc1\/svc\/web$/);
});

test('http: a path an L7 permission denies is answered 403 and never reaches the app', async () => {
  const r = await httpGet(apiPort, '/admin/users');
  assert.equal(r.status, 403);
  assert.equal(r.body, 'RBAC: access denied');
  assert.equal(r.headers['x-app'], undefined);
  // The allowed path on the same kept-alive connection still works.
  assert.equal((await httpGet(apiPort, '/ok')).status, 200);
});

test('tcp: a deny intention closes the connection before the app sees a byte', async () => {
  await allow(mesh, 'web', 'db', 'deny');
  // The proxy follows intentions with a blocking query: wait until a new connection is refused.
  const r = await waitFor(async () => {
    const x = await tcpExchange(dbPort, 'secret', 2000);
    return x.closed && x.data === '' ? x : undefined;
  }, 'the deny intention to close new connections', { deadlineMs: 20_000, intervalMs: 100 });
  assert.equal(r.data, '');
  await allow(mesh, 'web', 'db', 'allow');
  await waitFor(async () => (await tcpExchange(dbPort, 'again', 2000)).data === 'db:again', 'the allow intention to apply again');
});

test('the proxy registers its "Connect Sidecar Listening" TCP check on the public listener', async () => {
  const checks = await mesh.client.agent.checks();
  const listening = Object.values(checks).find((c) => c.ServiceID === 'db-sidecar-proxy' && c.Name === 'Connect Sidecar Listening');
  assert.ok(listening, `checks: ${JSON.stringify(Object.values(checks).map((c) => c.Name))}`);
});

/** The value of the sample of `name` whose labels include every pair of `labels` (label order is prom-client's). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test('metrics: requests and L7 denials are counted per downstream service on the Prometheus endpoint', async () => {
  const text = await (await fetch(`http://127.0.0.1:${apiProxy.metricsAddress!.port}/metrics`)).text();
  const proxy = 'api-sidecar-proxy';
  assert.ok((sample(text, 'meshgate_proxy_requests_total', { direction: 'inbound', service: 'web', code: '200', proxy }) ?? 0) >= 1, text);
  assert.ok((sample(text, 'meshgate_proxy_requests_total', { direction: 'inbound', service: 'web', code: '403', proxy }) ?? 0) >= 1);
  assert.ok((sample(text, 'meshgate_proxy_intention_denials_total', { downstream: 'web', layer: 'l7', proxy }) ?? 0) >= 1);
  assert.ok((sample(text, 'meshgate_proxy_request_duration_seconds_count', { direction: 'inbound', service: 'web', proxy }) ?? 0) >= 2);
  assert.ok((sample(text, 'meshgate_proxy_bytes_total', { direction: 'inbound', service: 'web', flow: 'tx', proxy }) ?? 0) > 0);
});

test('access log: one JSON line per connection with the downstream service and the decision', async () => {
  const lines = await waitFor(() => {
    let text: string;
    try {
      text = readFileSync(accessLogFile, 'utf8');
    } catch {
      return undefined;
    }
    const records = text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    return records.some((r) => r.outcome === 'deny') && records.some((r) => r.outcome === 'allow') ? records : undefined;
  }, 'allow and deny lines in the access log', { deadlineMs: 20_000, intervalMs: 100 });
  const allowed = lines.find((r) => r.outcome === 'allow')!;
  assert.equal(allowed.direction, 'inbound');
  assert.equal(allowed.protocol, 'tcp');
  assert.equal(allowed.downstream, 'web');
  assert.equal(allowed.upstream, 'db');
  assert.equal(typeof allowed.durationMs, 'number');
});
