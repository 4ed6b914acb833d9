/**
 * The sidecar's own checks (Consul's sidecar_service defaults, agent/sidecar_service.go): "Connect Sidecar Listening"
 * (TCP on the public listener, 10s) and "Connect Sidecar Aliasing <id>" — the fronted service's health carried onto
 * the proxy, so a sidecar whose service is critical drops out of `/v1/health/connect/:svc?passing` and no upstream
 * sends it traffic. Meshgate's agent does not run alias checks yet; the proxy mirrors the status into a TTL check.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { registerSidecar, runProxy, startMesh, startTcpApp, type Mesh } from './helpers.ts';

let mesh: Mesh;
const aliasStatus = async (): Promise<string | undefined> =>
  Object.values(await mesh.client.agent.checks()).find((c) => c.ServiceID === 'shop-sidecar-proxy' && c.Name === 'Connect Sidecar Aliasing shop')?.Status;
const passingSidecars = async (): Promise<number> => (await mesh.client.health.connect('shop', { passing: true })).value.length;

before(async () => {
  mesh = await startMesh();
  const s = await registerSidecar(mesh, { service: 'shop', appPort: await startTcpApp(mesh, 'shop') });
  await mesh.client.agent.checkRegister({ ID: 'shop-ttl', Name: 'shop alive', ServiceID: 'shop', TTL: '10m', Status: 'passing' });
  await runProxy(mesh, s.proxyId, true);
});

after(async () => {
  await mesh?.close();
});

test('the sidecar registers a TCP check on its public listener and an alias of its service', async () => {
  const checks = Object.values(await mesh.client.agent.checks()).filter((c) => c.ServiceID === 'shop-sidecar-proxy');
  assert.deepEqual(checks.map((c) => c.Name).sort(), ['Connect Sidecar Aliasing shop', 'Connect Sidecar Listening']);
  await waitFor(async () => (await aliasStatus()) === 'passing', 'the alias check to pass while shop passes');
  // Both checks passing (the TCP check's first run is staggered within its 10 s interval): the sidecar is healthy.
  await waitFor(async () => (await passingSidecars()) === 1, 'the sidecar to be healthy', { deadlineMs: 30_000, intervalMs: 100 });
});

test('the alias follows the service: critical takes the sidecar out of the healthy view, passing brings it back', async () => {
  await mesh.client.agent.failTTL('shop-ttl', 'down for the test');
  await waitFor(async () => (await aliasStatus()) === 'critical', 'the alias check to turn critical');
  assert.equal(await passingSidecars(), 0);
  await mesh.client.agent.passTTL('shop-ttl');
  await waitFor(async () => (await aliasStatus()) === 'passing', 'the alias check to pass again');
  await waitFor(async () => (await passingSidecars()) === 1, 'the sidecar to be healthy again');
});
