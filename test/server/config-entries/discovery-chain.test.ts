/**
 * /v1/discovery-chain/:service against Consul's documented compiled shape (API docs "Discovery Chain", and
 * agent/consul/discoverychain/compile.go): a router with a catch-all route last, a splitter whose legs go to
 * subset resolvers, resolver nodes keyed by target ID, targets keyed `[subset.]svc.ns.partition.dc` with SNI
 * `[subset.]svc.ns.dc.internal.<trust domain>`, ConnectTimeout defaulting to 5s, nested splitters flattened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../../src/server/options.ts';
import { startTestServer } from '../../helpers/server.ts';

let server: RunningServer;
/** The Connect CA's trust domain, which the targets' SNI end with. */
let trustDomain: string;
before(async () => {
  server = await startTestServer();
  trustDomain = ((await (await fetch(`${server.url}/v1/connect/ca/roots`)).json()) as { TrustDomain: string }).TrustDomain;
  assert.match(trustDomain, /\.consul$/);
  const entries = [
    { Kind: 'service-defaults', Name: 'web', Protocol: 'http' },
    { Kind: 'service-defaults', Name: 'admin', Protocol: 'http' },
    { Kind: 'service-resolver', Name: 'web', DefaultSubset: 'v1', Subsets: { v1: { Filter: 'Service.Meta.version == v1' }, v2: { Filter: 'Service.Meta.version == v2' } } },
    { Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 90, ServiceSubset: 'v1' }, { Weight: 10, ServiceSubset: 'v2' }] },
    { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefix: '/admin' } }, Destination: { Service: 'admin' } }] },
  ];
  for (const e of entries) {
    const res = await fetch(`${server.url}/v1/config`, { method: 'PUT', body: JSON.stringify(e) });
    assert.equal(await res.text(), 'true');
  }
});
after(() => server.close());

async function chain(service: string, init?: RequestInit): Promise<any> {
  const res = await fetch(`${server.url}/v1/discovery-chain/${service}`, init);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { Chain: unknown }).Chain;
}

test('router → splitter → resolver compiles to Consul\'s shape', async () => {
  const c = await chain('web');
  assert.equal(c.ServiceName, 'web');
  assert.equal(c.Namespace, 'default');
  assert.equal(c.Datacenter, 'dc1');
  assert.equal(c.Protocol, 'http');
  assert.equal(c.Default, undefined);
  assert.equal(c.StartNode, 'router:web.default.default');
  assert.deepEqual(Object.keys(c.Nodes).sort(), [
    'resolver:admin.default.default.dc1', 'resolver:v1.web.default.default.dc1', 'resolver:v2.web.default.default.dc1',
    'router:web.default.default', 'splitter:web.default.default',
  ]);
  const router = c.Nodes['router:web.default.default'];
  assert.equal(router.Type, 'router');
  assert.deepEqual(router.Routes.map((r: { NextNode: string }) => r.NextNode), ['resolver:admin.default.default.dc1', 'splitter:web.default.default']);
  assert.deepEqual(router.Routes[1].Definition, { Match: { HTTP: { PathPrefix: '/' } }, Destination: { Service: 'web', Namespace: 'default', Partition: 'default' } });
  const splitter = c.Nodes['splitter:web.default.default'];
  assert.deepEqual(splitter.Splits.map((s: { Weight: number; NextNode: string }) => [s.Weight, s.NextNode]), [
    [90, 'resolver:v1.web.default.default.dc1'], [10, 'resolver:v2.web.default.default.dc1'],
  ]);
  assert.deepEqual(c.Nodes['resolver:v1.web.default.default.dc1'], {
    Type: 'resolver', Name: 'v1.web.default.default.dc1', Resolver: { ConnectTimeout: '5s', Target: 'v1.web.default.default.dc1' },
  });
  assert.deepEqual(c.Nodes['resolver:admin.default.default.dc1'].Resolver, { Default: true, ConnectTimeout: '5s', Target: 'admin.default.default.dc1' });
  assert.deepEqual(Object.keys(c.Targets).sort(), ['admin.default.default.dc1', 'v1.web.default.default.dc1', 'v2.web.default.default.dc1']);
  assert.deepEqual(c.Targets['v2.web.default.default.dc1'], {
    ID: 'v2.web.default.default.dc1', Service: 'web', ServiceSubset: 'v2', Namespace: 'default', Partition: 'default', Datacenter: 'dc1',
    MeshGateway: {}, Subset: { Filter: 'Service.Meta.version == v2' }, TransparentProxy: {}, ConnectTimeout: '5s',
    SNI: `v2.web.default.dc1.internal.${trustDomain}`, Name: `v2.web.default.dc1.internal.${trustDomain}`,
  });
});

test('a service without entries compiles to the default chain', async () => {
  const c = await chain('plain');
  assert.equal(c.Default, true);
  assert.equal(c.Protocol, 'tcp');
  assert.equal(c.StartNode, 'resolver:plain.default.default.dc1');
  assert.deepEqual(Object.keys(c.Targets), ['plain.default.default.dc1']);
});

test('nested splitters are flattened with multiplied weights (flattenAdjacentSplitterNodes)', async () => {
  for (const e of [
    { Kind: 'service-defaults', Name: 'front', Protocol: 'http' },
    { Kind: 'service-splitter', Name: 'front', Splits: [{ Weight: 50 }, { Weight: 50, Service: 'web' }] },
  ]) assert.equal(await (await fetch(`${server.url}/v1/config`, { method: 'PUT', body: JSON.stringify(e) })).text(), 'true');
  const c = await chain('front');
  assert.equal(c.StartNode, 'splitter:front.default.default');
  assert.deepEqual(c.Nodes['splitter:front.default.default'].Splits.map((s: { Weight: number; NextNode: string }) => [s.Weight, s.NextNode]), [
    [50, 'resolver:front.default.default.dc1'], [45, 'resolver:v1.web.default.default.dc1'], [5, 'resolver:v2.web.default.default.dc1'],
  ]);
  assert.equal(c.Nodes['splitter:web.default.default'], undefined, 'the inner splitter node is removed');
});

test('POST overrides: protocol tcp drops routers and splitters; connect timeout; compile-dc', async () => {
  const c = await chain('web', { method: 'POST', body: JSON.stringify({ OverrideProtocol: 'tcp', OverrideConnectTimeout: '2s' }) });
  assert.equal(c.Protocol, 'tcp');
  assert.equal(c.StartNode, 'resolver:v1.web.default.default.dc1');
  assert.equal(c.Nodes['resolver:v1.web.default.default.dc1'].Resolver.ConnectTimeout, '2s');
  assert.match(c.CustomizationHash, /^[0-9a-f]{8}$/);
  const dc2 = await chain('plain?compile-dc=dc2');
  assert.equal(dc2.StartNode, 'resolver:plain.default.default.dc2');
});

test('resolver failover and redirect', async () => {
  for (const e of [
    { Kind: 'service-resolver', Name: 'db', Failover: { '*': { Datacenters: ['dc2', 'dc3'] } }, ConnectTimeout: '3s' },
    { Kind: 'service-resolver', Name: 'old-db', Redirect: { Service: 'db' } },
  ]) assert.equal(await (await fetch(`${server.url}/v1/config`, { method: 'PUT', body: JSON.stringify(e) })).text(), 'true');
  const c = await chain('db');
  assert.deepEqual(c.Nodes['resolver:db.default.default.dc1'].Resolver, {
    ConnectTimeout: '3s', Target: 'db.default.default.dc1', Failover: { Targets: ['db.default.default.dc2', 'db.default.default.dc3'] },
  });
  assert.deepEqual(Object.keys(c.Targets).sort(), ['db.default.default.dc1', 'db.default.default.dc2', 'db.default.default.dc3']);
  const redirected = await chain('old-db');
  assert.equal(redirected.StartNode, 'resolver:db.default.default.dc1');
  assert.equal(redirected.Default, undefined);
});
