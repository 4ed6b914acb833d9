/**
 * `meshgate agent` end to end, with real processes on loopback (test/agent/e2e-fixture.ts): a `meshgate server` child
 * and a `meshgate agent` child reading a config dir. Consul's behaviour relied on: agent/local/state.go
 * (SyncFull/SyncChanges: the catalog is made to match the agent's local state, entries the agent does not own are
 * removed), agent/agent.go (service definitions, check IDs `service:<id>[:n]`), agent/sidecar_service.go
 * (`<id>-sidecar-proxy`, port from 21000–21255, TCP + alias default checks), command/reload (PUT /v1/agent/reload).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Consul from 'consul';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { agentE2E, WAIT, type Check } from './e2e-fixture.ts';
import { getJson } from './helpers.ts';

const e2e = agentE2E('meshgate-agent-e2e-');

test('service files in the config dir appear in the catalog with their checks, the sidecar expanded as Consul does', async () => {
  await waitFor(async () => (await e2e.serviceIds()).join(',') === 'api,web,web-sidecar-proxy', 'the three services in the catalog', WAIT);
  const ns = await e2e.nodeServices();
  const web = ns.Services!.find((s) => s.ID === 'web')!;
  assert.deepEqual(web.Tags, ['v1']);
  assert.equal(web.Port, e2e.appPort);
  const sidecar = ns.Services!.find((s) => s.ID === 'web-sidecar-proxy')!;
  assert.equal(sidecar.Kind, 'connect-proxy');
  assert.equal(sidecar.Port, 21000, 'first port of the default sidecar range');
  assert.equal(sidecar.Proxy?.DestinationServiceName, 'web');
  assert.equal(sidecar.Proxy?.LocalServicePort, e2e.appPort);
  assert.equal((sidecar.Proxy?.Upstreams as Array<{ DestinationName: string }>)[0]!.DestinationName, 'db');
  // The HTTP check runs on the agent and its passing status reaches the catalog; the TTL one starts critical.
  const checks = await waitFor(async () => {
    const list = await e2e.nodeChecks();
    return list.find((c) => c.CheckID === 'web-http')?.Status === 'passing' ? list : undefined;
  }, 'web-http passing in the catalog', WAIT);
  assert.equal(checks.find((c) => c.CheckID === 'api-ttl')?.Status, 'critical');
  assert.ok(checks.some((c) => c.CheckID === 'service:web-sidecar-proxy:1' && c.Name === 'Connect Sidecar Listening'));
  assert.ok(checks.some((c) => c.CheckID === 'service:web-sidecar-proxy:2' && c.Name === 'Connect Sidecar Aliasing web'));
  // A TTL update through the agent's local API reaches the catalog.
  const res = await fetch(`${e2e.agent.url}/v1/agent/check/pass/api-ttl?note=alive`, { method: 'PUT' });
  assert.equal(res.status, 200);
  await waitFor(async () => (await e2e.nodeChecks()).find((c) => c.CheckID === 'api-ttl')?.Output === 'alive', 'TTL pass in the catalog', WAIT);
});

test('the agent forwards other /v1 paths to the server, blocking queries included', async () => {
  const put = await fetch(`${e2e.agent.url}/v1/kv/forwarded`, { method: 'PUT', body: 'yes' });
  assert.equal(await put.text(), 'true');
  const first = await fetch(`${e2e.agent.url}/v1/kv/forwarded`);
  const index = Number(first.headers.get('x-consul-index'));
  assert.ok(index > 0, 'X-Consul-Index passes through');
  const blocked = fetch(`${e2e.agent.url}/v1/kv/forwarded?index=${index}&wait=30s&raw`).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 200));
  await fetch(`${e2e.server.url}/v1/kv/forwarded`, { method: 'PUT', body: 'changed' });
  assert.equal(await blocked, 'changed');
});

test('editing a file and `meshgate reload` applies the change; a removed file\'s service goes', async () => {
  const web = JSON.parse(readFileSync(join(e2e.confDir, 'web.json'), 'utf8')) as { service: { tags: string[] } };
  web.service.tags = ['v2'];
  writeFileSync(join(e2e.confDir, 'web.json'), JSON.stringify(web));
  unlinkSync(join(e2e.confDir, 'api.hcl'));
  writeFileSync(join(e2e.confDir, 'cache.json'), JSON.stringify({ services: [{ name: 'cache', port: 6379, checks: [{ name: 'cache ttl', ttl: '1m', status: 'passing' }] }] }));
  const { code, out } = await e2e.cli(['reload', '-http-addr', e2e.agent.addr]);
  assert.equal(code, 0, out);
  assert.match(out, /Configuration reload triggered/);
  await waitFor(async () => (await e2e.serviceIds()).join(',') === 'cache,web,web-sidecar-proxy', 'api gone and cache added', WAIT);
  await waitFor(async () => (await e2e.nodeServices()).Services!.find((s) => s.ID === 'web')?.Tags[0] === 'v2', 'web tagged v2', WAIT);
  const checks = await e2e.nodeChecks();
  assert.equal(checks.find((c) => c.ServiceID === 'cache')?.Status, 'passing');
  assert.equal(checks.some((c) => c.CheckID === 'api-ttl'), false);
  // The sidecar's tags follow its parent's (inherited when the sidecar sets none).
  assert.deepEqual((await e2e.nodeServices()).Services!.find((s) => s.ID === 'web-sidecar-proxy')?.Tags, ['v2']);
});

test('the npm consul client registers a service with the agent and it appears on the server', async () => {
  const consul = new Consul({ host: '127.0.0.1', port: Number(e2e.agent.addr.split(':')[1]) });
  await consul.agent.service.register({ name: 'billing', id: 'billing-1', port: 7070, tags: ['npm'], check: { ttl: '60s', status: 'passing' } as never });
  const local = await consul.agent.service.list() as Record<string, { Service: string }>;
  assert.equal(local['billing-1']?.Service, 'billing');
  await waitFor(async () => (await getJson<Array<{ ServiceID: string }>>(`${e2e.server.url}/v1/catalog/service/billing`)).some((s) => s.ServiceID === 'billing-1'), 'billing on the server', WAIT);
  // The service and its check travel in one catalog registration, so the check is there with the service.
  const checks = await getJson<Check[]>(`${e2e.server.url}/v1/health/checks/billing`);
  assert.equal(checks[0]?.CheckID, 'service:billing-1');
  assert.equal(checks[0]?.Status, 'passing');
});

test('anti-entropy: a rogue catalog entry under the node is removed and a deleted service comes back', async () => {
  await fetch(`${e2e.server.url}/v1/catalog/register`, { method: 'PUT', body: JSON.stringify({ Node: 'vm-1', Address: '127.0.0.1', Service: { ID: 'rogue', Service: 'rogue' } }) });
  await fetch(`${e2e.server.url}/v1/catalog/deregister`, { method: 'PUT', body: JSON.stringify({ Node: 'vm-1', ServiceID: 'cache' }) });
  await waitFor(async () => {
    const ids = await e2e.serviceIds();
    return ids.includes('cache') && !ids.includes('rogue');
  }, 'cache re-registered and rogue removed', WAIT);
});

test('the agent\'s checks are run by the agent only: with the agent gone, a failing app does not change the catalog', async () => {
  // The server probes catalog checks that carry a runnable definition (its consul-esm role for external nodes); the
  // agent keeps its probes' definitions to itself so they are not run twice.
  assert.equal((await e2e.nodeChecks()).find((c) => c.CheckID === 'web-http')?.Status, 'passing');
  await e2e.agent.stop();
  e2e.appHealthy = false;
  await new Promise((r) => setTimeout(r, 3000)); // three check intervals
  assert.equal((await e2e.nodeChecks()).find((c) => c.CheckID === 'web-http')?.Status, 'passing');
});
