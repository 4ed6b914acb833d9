/**
 * The npm `consul` package (v2) against a real `meshgate server`: agent registration, catalog and health reads,
 * TTL updates, a blocking read through the package's own options, and deregistration.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import Consul from 'consul';
import type { CheckOptions } from 'consul/lib/agent/check.d.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';

let server: RunningServer;
let consul: Consul;

before(async () => {
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'compat-node', datacenter: 'dc1', logLevel: 'silent' });
  consul = new Consul({ host: '127.0.0.1', port: server.port });
});
after(() => server.close());

test('agent.service.register → catalog.service.nodes → health.service({ passing })', async () => {
  await consul.agent.service.register({
    name: 'orders', id: 'orders-1', address: '127.0.0.1', port: 9001, tags: ['v2'], meta: { team: 'checkout' },
    // The package's typings demand `timeout` on every check; Consul does not, and a TTL check has none.
    check: { name: 'orders ttl', ttl: '30s' } as CheckOptions,
  });
  const nodes = await consul.catalog.service.nodes('orders');
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]!.ServiceID, 'orders-1');
  assert.equal(nodes[0]!.ServicePort, 9001);
  assert.equal(nodes[0]!.Node, 'compat-node');
  assert.deepEqual(nodes[0]!.ServiceTags, ['v2']);

  // A new check is critical until it reports (Consul's default), so the instance is not yet healthy.
  assert.deepEqual(await consul.health.service({ service: 'orders', passing: true }), []);
  await consul.agent.check.pass({ id: 'service:orders-1', note: 'ready' });
  const healthy = await consul.health.service({ service: 'orders', passing: true });
  assert.equal(healthy.length, 1);
  assert.equal(healthy[0]!.Service.ID, 'orders-1');
  const checks = healthy[0]!.Checks as Array<{ CheckID: string; Status: string; Output: string }>;
  assert.ok(checks.some((c) => c.CheckID === 'serfHealth' && c.Status === 'passing'));
  assert.ok(checks.some((c) => c.CheckID === 'service:orders-1' && c.Output === 'ready'));
});

test('agent views, catalog lists, health checks and state', async () => {
  const services = await consul.agent.service.list();
  assert.ok(services['orders-1']);
  const checks = await consul.agent.check.list();
  assert.equal(checks['service:orders-1']!.Status, 'passing');
  const catalogServices = await consul.catalog.service.list();
  assert.deepEqual(catalogServices.orders, ['v2']);
  const catalogNodes = await consul.catalog.node.list();
  assert.ok(catalogNodes.some((n) => n.Node === 'compat-node'));
  const nodeServices = await consul.catalog.node.services('compat-node');
  assert.ok(nodeServices.Services['orders-1']);
  const serviceChecks = await consul.health.checks('orders');
  assert.deepEqual(serviceChecks.map((c) => c.CheckID), ['service:orders-1']);
  const critical = await consul.health.state('critical');
  assert.deepEqual(critical, []);
  const self = await consul.agent.self();
  assert.equal(self.Config.NodeName, 'compat-node');
  const members = await consul.agent.members();
  assert.equal(members[0]!.Name, 'compat-node');
});

test('a blocking read through the package returns when the service changes', async () => {
  const first = await consul.health.service({ service: 'orders', passing: true }) as unknown[];
  assert.equal(first.length, 1);
  const index = Number((await fetch(`${server.url}/v1/health/service/orders`)).headers.get('x-consul-index'));
  // index and wait are the package's documented common options; its typings leave them off ServiceOptions.
  const blocking = { service: 'orders', passing: true, index: String(index), wait: '20s' };
  const pending = consul.health.service(blocking as Parameters<typeof consul.health.service>[0] & object);
  await consul.agent.check.fail({ id: 'service:orders-1', note: 'down' });
  assert.deepEqual(await pending, []);
});

test('catalog.register / deregister of an external service and agent.service.deregister', async () => {
  await consul.catalog.register({ node: 'legacy-db', address: '10.2.0.1', service: { service: 'legacy', port: 5432 } } as never);
  assert.equal((await consul.catalog.service.nodes('legacy')).length, 1);
  await consul.catalog.deregister({ node: 'legacy-db' } as never);
  assert.deepEqual(await consul.catalog.service.nodes('legacy'), []);
  await consul.agent.service.deregister('orders-1');
  assert.deepEqual(await consul.catalog.service.nodes('orders'), []);
  await assert.rejects(consul.agent.service.deregister('orders-1'), (err: Error & { statusCode?: number }) => {
    assert.equal(err.statusCode, 404);
    return true;
  });
});
