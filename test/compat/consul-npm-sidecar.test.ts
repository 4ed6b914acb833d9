/**
 * `connect { sidecar_service {} }` registered through the server's own agent API with the npm `consul` package, as
 * `consul services register` or a dev-agent user does it. Consul's agent expands the sugar into a second service
 * (agent/sidecar_service.go sidecarServiceFromNodeService, sidecarPortFromServiceIDLocked, sidecarDefaultChecks),
 * clears it from the parent (agent_endpoint.go AgentRegisterService: `ns.Connect.SidecarService = nil`), removes the
 * sidecar with its parent (agent.go removeServiceSidecars), and computes the alias check from the parent's checks
 * (agent/checks/alias.go processChecks). Before this, the server stored the sugar verbatim and registered no sidecar,
 * so `meshgate proxy -sidecar-for` found nothing to configure itself from.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Consul from 'consul';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { eventually } from '../helpers/server.ts';

interface AgentServiceView {
  ID: string; Service: string; Kind?: string; Port: number; Tags: string[]; Meta: Record<string, string>;
  Proxy?: { DestinationServiceName?: string; DestinationServiceID?: string; LocalServiceAddress?: string; LocalServicePort?: number };
  Connect?: Record<string, unknown>;
}
interface CheckView { CheckID: string; Name: string; ServiceID: string; Status: string; Output: string; Type: string; Definition?: { TCP?: string; Interval?: string } }

let server: RunningServer;
let consul: Consul;
const base = () => `http://127.0.0.1:${server.port}`;

before(async () => {
  // A two-port range, so running out of it is part of the test.
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', sidecarPorts: { min: 21000, max: 21001 } }, silentLogger());
  consul = new Consul({ host: '127.0.0.1', port: server.port });
});
after(() => server.close());

const services = async () => (await consul.agent.service.list()) as Record<string, AgentServiceView>;
const checks = async () => (await consul.agent.check.list()) as Record<string, CheckView>;

test('an inline sidecar_service becomes its own connect-proxy service with the first port of the range, and the parent keeps no sugar', async () => {
  await consul.agent.service.register({
    name: 'web', port: 8080, tags: ['v1'], meta: { team: 'shop' },
    check: { name: 'web ttl', ttl: '30s', timeout: '5s' },
    connect: { sidecarservice: {} },
  });
  const all = await services();
  const sidecar = all['web-sidecar-proxy'];
  assert.ok(sidecar, `no sidecar among ${Object.keys(all).join(', ')}`);
  assert.equal(sidecar.Service, 'web-sidecar-proxy');
  assert.equal(sidecar.Kind, 'connect-proxy');
  assert.equal(sidecar.Port, 21000);
  assert.deepEqual(sidecar.Tags, ['v1'], 'tags inherited when the sidecar names none');
  assert.deepEqual(sidecar.Meta, { team: 'shop' }, 'meta inherited when the sidecar names none');
  assert.equal(sidecar.Proxy?.DestinationServiceName, 'web');
  assert.equal(sidecar.Proxy?.DestinationServiceID, 'web');
  assert.equal(sidecar.Proxy?.LocalServiceAddress, '127.0.0.1');
  assert.equal(sidecar.Proxy?.LocalServicePort, 8080);
  assert.equal(all.web?.Connect?.SidecarService, undefined, 'the sugar is not stored on the parent');

  // The proxy finds it the way `meshgate proxy -sidecar-for web` and the gateway's connect-aware catalog do.
  const connect = (await consul.catalog.connect.nodes('web')) as Array<{ ServiceID: string; ServicePort: number }>;
  assert.deepEqual(connect.map((e) => [e.ServiceID, e.ServicePort]), [['web-sidecar-proxy', 21000]]);

  const byId = await checks();
  const listening = Object.values(byId).find((c) => c.ServiceID === 'web-sidecar-proxy' && c.Name === 'Connect Sidecar Listening');
  assert.equal(listening?.Type, 'tcp');
  assert.equal(listening?.Definition?.TCP, '127.0.0.1:21000');
  assert.equal(listening?.Definition?.Interval, '10s');
  const alias = Object.values(byId).find((c) => c.ServiceID === 'web-sidecar-proxy' && c.Name === 'Connect Sidecar Aliasing web');
  assert.equal(alias?.Type, 'alias');
});

test('the alias check follows the parent: critical while its TTL check is critical, passing once it passes', async () => {
  const alias = async () => Object.values(await checks()).find((c) => c.Name === 'Connect Sidecar Aliasing web')!;
  // The parent's TTL check starts critical (Consul's default), so the alias does too, naming the failing check.
  await eventually(async () => (await alias()).Output === 'Aliased check "web ttl" failing: ', 'the alias to report the critical TTL check');
  assert.equal((await alias()).Status, 'critical');
  await consul.agent.check.pass({ id: 'service:web', note: 'ok' });
  await eventually(async () => (await alias()).Status === 'passing', 'the alias to pass');
  assert.equal((await alias()).Output, 'All checks passing.');
  await consul.agent.check.warn({ id: 'service:web', note: 'slow' });
  await eventually(async () => (await alias()).Status === 'warning', 'the alias to warn');
  assert.equal((await alias()).Output, 'Aliased check "web ttl" failing: slow');
});

test('a re-registered parent keeps its sidecar port; the next sidecar takes the next port; the range runs out with Consul\'s error', async () => {
  await consul.agent.service.register({ name: 'web', port: 8080, connect: { sidecarservice: {} } });
  assert.equal((await services())['web-sidecar-proxy']?.Port, 21000);
  await consul.agent.service.register({ name: 'api', port: 9090, connect: { sidecarservice: {} } });
  assert.equal((await services())['api-sidecar-proxy']?.Port, 21001);
  const res = await fetch(`${base()}/v1/agent/service/register`, {
    method: 'PUT', body: JSON.stringify({ Name: 'db', Port: 5432, Connect: { SidecarService: {} } }),
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /no port provided for sidecar_service and none left in the configured range \[21000, 21001\]/);
  assert.equal((await services()).db, undefined, 'nothing of the refused registration is stored');
  // A sidecar that names its port needs none from the range.
  await consul.agent.service.register({ name: 'db', port: 5432, connect: { sidecarservice: { port: 22000 } } });
  assert.equal((await services())['db-sidecar-proxy']?.Port, 22000);
});

test('a nested definition Consul refuses is answered 400 in its words, and nothing is stored', async () => {
  for (const [sidecar, message] of [
    [{ ID: 'mine' }, 'Validation failed: A SidecarService cannot specify an ID as this is managed by the agent'],
    [{ Connect: { SidecarService: {} } }, 'Validation failed: A SidecarService cannot have a nested SidecarService'],
  ] as const) {
    const res = await fetch(`${base()}/v1/agent/service/register`, {
      method: 'PUT', body: JSON.stringify({ Name: 'bad', Port: 1, Connect: { SidecarService: sidecar } }),
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), new RegExp(message));
  }
  assert.equal((await services()).bad, undefined);
});

test('deregistering the parent removes its sidecar and the sidecar\'s checks', async () => {
  await consul.agent.service.deregister('api');
  const all = await services();
  assert.equal(all.api, undefined);
  assert.equal(all['api-sidecar-proxy'], undefined);
  assert.equal(Object.values(await checks()).filter((c) => c.ServiceID === 'api-sidecar-proxy').length, 0);
  assert.ok(all['web-sidecar-proxy'], 'other sidecars stay');
});
