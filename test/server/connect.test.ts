/**
 * /v1/catalog/connect/:service and /v1/health/connect/:service return a service's connect-proxy instances (by
 * Proxy.DestinationServiceName) and its Connect-native instances (agent/catalog_endpoint.go and
 * health_endpoint.go with Connect=true); connect-proxy registrations are refused as NodeService.Validate refuses
 * them (agent/structs/structs.go), with its messages.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';

let server: RunningServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const register = (body: unknown) => fetch(`${server.url}/v1/catalog/register`, { method: 'PUT', body: JSON.stringify(body) });

test('proxies and native instances of a service', async () => {
  const regs = [
    { Node: 'n1', Address: '10.0.0.1', Service: { ID: 'web-1', Service: 'web', Port: 8080 } },
    { Node: 'n1', Address: '10.0.0.1', Service: { ID: 'web-1-sidecar', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web-1' } } },
    { Node: 'n2', Address: '10.0.0.2', Service: { ID: 'web-native', Service: 'web', Port: 9443, Connect: { Native: true } } },
    { Node: 'n2', Address: '10.0.0.2', Service: { ID: 'api-sidecar', Service: 'api-sidecar-proxy', Kind: 'connect-proxy', Port: 21001, Proxy: { DestinationServiceName: 'api' } } },
  ];
  for (const r of regs) assert.equal((await register(r)).status, 200);
  const catalog = (await (await fetch(`${server.url}/v1/catalog/connect/web`)).json()) as Array<{ ServiceID: string; ServiceKind: string; ServiceProxy?: { DestinationServiceName: string } }>;
  assert.deepEqual(catalog.map((s) => s.ServiceID).sort(), ['web-1-sidecar', 'web-native']);
  assert.equal(catalog.find((s) => s.ServiceID === 'web-1-sidecar')!.ServiceKind, 'connect-proxy');
  const health = (await (await fetch(`${server.url}/v1/health/connect/web`)).json()) as Array<{ Service: { ID: string; Proxy?: { DestinationServiceName: string } } }>;
  assert.deepEqual(health.map((e) => e.Service.ID).sort(), ['web-1-sidecar', 'web-native']);
  assert.equal(health.find((e) => e.Service.ID === 'web-1-sidecar')!.Service.Proxy!.DestinationServiceName, 'web');
  assert.deepEqual(((await (await fetch(`${server.url}/v1/catalog/connect/nothing`)).json()) as unknown[]), []);
});

test('?passing drops a proxy with a critical check', async () => {
  await register({ Node: 'n1', Address: '10.0.0.1', Check: { CheckID: 'sidecar-check', Name: 'sidecar', ServiceID: 'web-1-sidecar', Status: 'critical' } });
  const health = (await (await fetch(`${server.url}/v1/health/connect/web?passing`)).json()) as Array<{ Service: { ID: string } }>;
  assert.deepEqual(health.map((e) => e.Service.ID), ['web-native']);
});

test('connect-proxy registrations validated as Consul validates them', async () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ Service: 'p', Kind: 'connect-proxy', Port: 1 }, 'Proxy.DestinationServiceName must be non-empty for Connect proxy services'],
    [{ Service: 'p', Kind: 'connect-proxy', Port: 1, Proxy: { DestinationServiceName: '*' } }, 'Proxy.DestinationServiceName must not be a wildcard for Connect proxy services'],
    [{ Service: 'p', Kind: 'connect-proxy', Proxy: { DestinationServiceName: 'web' } }, 'Port or SocketPath must be set for a Connect proxy'],
    [{ Service: 'p', Kind: 'connect-proxy', Port: 1, Proxy: { DestinationServiceName: 'web' }, Connect: { Native: true } }, 'A Proxy cannot also be Connect Native, only typical services'],
    [{ Service: 'p', Kind: 'connect-proxy', Port: 1, Proxy: { DestinationServiceName: 'web', Upstreams: [{ DestinationName: 'db', LocalBindPort: 1 }, { DestinationName: 'db', LocalBindPort: 2 }] } }, 'upstreams cannot contain duplicates of db'],
  ];
  for (const [service, message] of cases) {
    const res = await register({ Node: 'n3', Address: '10.0.0.3', Service: service });
    assert.equal(res.status, 400);
    assert.match(await res.text(), new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  }
  assert.equal((await fetch(`${server.url}/v1/catalog/node/n3`)).status, 200);
  assert.equal(await (await fetch(`${server.url}/v1/catalog/node/n3`)).text(), 'null', 'nothing was registered');
});

test('agent registrations of connect-proxy services: validated, then listed for their destination', async () => {
  const bad = await fetch(`${server.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify({ Name: 'p', Kind: 'connect-proxy', Port: 21002 }) });
  assert.equal(bad.status, 400);
  assert.equal(await bad.text(), 'Validation failed: Proxy.DestinationServiceName must be non-empty for Connect proxy services');
  const good = await fetch(`${server.url}/v1/agent/service/register`, {
    method: 'PUT', body: JSON.stringify({ Name: 'billing-sidecar-proxy', Kind: 'connect-proxy', Port: 21003, Proxy: { DestinationServiceName: 'billing' } }),
  });
  assert.equal(good.status, 200, await good.text());
  const list = (await (await fetch(`${server.url}/v1/catalog/connect/billing`)).json()) as Array<{ ServiceName: string }>;
  assert.deepEqual(list.map((s) => s.ServiceName), ['billing-sidecar-proxy']);
});
