/**
 * Catalog sync both ways against the test API server, through the product's @kubernetes/client-node code, with a
 * real `meshgate server` and `meshgate gateway`. Expected shapes come from consul-k8s:
 * control-plane/catalog/to-consul/resource.go (generateRegistrations: k8s tag, external-source/external-k8s-ns
 * meta, NodePort at the node's address and node port, ClusterIP per endpoint with a kubernetes-readiness check,
 * serviceID) and control-plane/catalog/to-k8s/sink.go (crudList: ExternalName `<name>.service.consul`, label
 * consul=true, service-sync=false annotation, foreign Services left alone).
 *
 * The world is built through HTTP calls on `cluster.ts`, so the file runs against a real API server too
 * (MESHGATE_TEST_KUBECONFIG): its own namespaces and node, a NodePort the API server allocates (the test's upstream
 * then listens on it), LoadBalancer ingress written to the status subresource. Restarting the API server and
 * expiring its watch history need the in-process one; that test skips itself elsewhere.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { DEFAULT_TO_CONSUL_OPTIONS, serviceId } from '../../src/kubernetes/sync/to-consul-registrations.ts';
import { runSyncCatalog, type RunningSyncCatalog } from '../../src/kubernetes/sync/run.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { catalogStaticYaml, get, startGateway, tempDir } from '../gateway/helpers.ts';
import { startTestServer } from '../helpers/server.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

let cluster: TestCluster;
let server: RunningServer;
let consul: ConsulClient;
let upstream: Server;
let nodePort: number;
/** `apps` holds the synced Services; `writeNs` the ExternalName ones, the Lease and a foreign Service. */
let apps: string;
let writeNs: string;
const running: RunningSyncCatalog[] = [];

/** The NodePort's backend on this host: answers every request with its name, as the gateway helpers' upstreams do. */
function listenUpstream(port: number): Promise<Server> {
  const s = createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: 'k8s-web', url: req.url })));
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

function startSync(identity: string): Promise<RunningSyncCatalog> {
  return runSyncCatalog({
    ...DEFAULT_TO_CONSUL_OPTIONS,
    // Only the test's namespaces: a real cluster's own Services (default/kubernetes…) stay out of the catalog.
    allowNamespaces: new Set([apps, writeNs]),
    kubeConfig: cluster.kubeConfig, consul, logger: silentLogger(), identity,
    toConsul: true, toK8s: true, k8sWriteNamespace: writeNs, domain: 'consul',
    leaseNamespace: writeNs, leaseDurationSeconds: 2, resyncIntervalMs: 1_000,
  }).then((r) => {
    running.push(r);
    return r;
  });
}

async function catalogService(name: string) {
  return (await consul.catalog.service(name)).value;
}

before(async () => {
  cluster = await startTestCluster();
  apps = await cluster.namespace('apps');
  writeNs = await cluster.namespace('sync');
  server = await startTestServer();
  consul = createClient({ address: server.url, env: {} });
  const node = `node-${apps.slice(-6)}`;
  await cluster.put('v1', 'nodes', { metadata: { name: node } });
  await cluster.putStatus('v1', 'nodes', { metadata: { name: node }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }] } });
  const web = {
    metadata: {
      name: 'web', namespace: apps,
      annotations: { 'consul.hashicorp.com/service-tags': 'traefik.enable=true,traefik.http.routers.k8sweb.rule=Host(`k8s.example`)', 'consul.hashicorp.com/service-meta-team': 'shop' },
    },
    spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
  if (cluster.fake) {
    // The in-process server allocates no node ports: take the upstream's own port.
    upstream = await listenUpstream(0);
    nodePort = (upstream.address() as AddressInfo).port;
    (web.spec.ports[0] as { nodePort?: number }).nodePort = nodePort;
    await cluster.put('v1', 'services', web);
  } else {
    // A real one allocates it (30000-32767); the upstream then listens there, the node being this host.
    const stored = await cluster.put('v1', 'services', web) as unknown as { spec: { ports: Array<{ nodePort: number }> } };
    nodePort = stored.spec.ports[0]!.nodePort;
    upstream = await listenUpstream(nodePort);
  }
  await cluster.put('discovery.k8s.io/v1', 'endpointslices', {
    metadata: { name: 'web-abc', namespace: apps, labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.1.0.5'], nodeName: node, conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
  await cluster.put('v1', 'services', { metadata: { name: 'api', namespace: apps }, spec: { type: 'ClusterIP', selector: { app: 'api' }, ports: [{ name: 'grpc', port: 9090 }] } });
  await cluster.put('discovery.k8s.io/v1', 'endpointslices', {
    metadata: { name: 'api-xyz', namespace: apps, labels: { 'kubernetes.io/service-name': 'api' } },
    addressType: 'IPv4',
    endpoints: [
      { addresses: ['10.1.0.7'], nodeName: node, conditions: { ready: true } },
      { addresses: ['10.1.0.8'], nodeName: node, conditions: { ready: false } },
    ],
    ports: [{ name: 'grpc', port: 9091, protocol: 'TCP' }],
  });
  // Not ours on either side: a Kubernetes Service named like a catalog service, and a hand-made entry on our node.
  await cluster.put('v1', 'services', { metadata: { name: 'billing', namespace: writeNs }, spec: { type: 'ClusterIP', ports: [{ port: 1 }] } });
});

after(async () => {
  for (const r of running) await r.close().catch(() => undefined);
  await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
  await server?.close();
  await cluster?.close();
});

test('Kubernetes → catalog: NodePort at the node address and node port, ClusterIP per endpoint with readiness', async () => {
  const sync = await startSync('replica-1');
  await waitFor(() => sync.elector.isLeader, 'leadership');
  const web = await waitFor(async () => (await catalogService('web'))[0], 'web in the catalog');
  assert.equal(web.ServiceID, serviceId('web', '10.1.0.5'));
  assert.equal(web.Node, 'k8s-sync');
  assert.equal(web.ServiceAddress, '127.0.0.1');
  assert.equal(web.ServicePort, nodePort);
  assert.deepEqual(web.ServiceTags, ['k8s', 'traefik.enable=true', 'traefik.http.routers.k8sweb.rule=Host(`k8s.example`)']);
  assert.equal(web.ServiceMeta?.['external-source'], 'kubernetes');
  assert.equal(web.ServiceMeta?.['external-k8s-ns'], apps);
  assert.equal(web.ServiceMeta?.['team'], 'shop');
  assert.equal(web.ServiceMeta?.['port-http'], '80');

  const apiEntries = await waitFor(async () => {
    const entries = (await consul.health.service('api')).value;
    return entries.length === 2 ? entries : undefined;
  }, 'both api endpoints');
  const byAddress = new Map(apiEntries.map((e) => [e.Service.Address, e]));
  assert.equal(byAddress.get('10.1.0.7')?.Service.Port, 9091);
  assert.deepEqual(byAddress.get('10.1.0.7')?.Checks.filter((c) => c.Type === 'kubernetes-readiness').map((c) => c.Status), ['passing']);
  assert.deepEqual(byAddress.get('10.1.0.8')?.Checks.filter((c) => c.Type === 'kubernetes-readiness').map((c) => c.Status), ['critical']);
  // ExternalName services (the other direction's output) and kube-system are never synced to the catalog.
  assert.equal((await catalogService('billing')).length, 0);
});

test('a synced NodePort service is routed by meshgate gateway from its catalog tags', async (t) => {
  const dir = await tempDir('mg-k8s-gw-');
  const file = join(dir, 'gateway.yml');
  await writeFile(file, catalogStaticYaml(server.url, { waitTime: null }));
  const gw = await startGateway(file);
  t.after(() => gw.close());
  const reply = await waitFor(async () => {
    const r = await get(`${gw.web}/hello`, { host: 'k8s.example' });
    return r.status === 200 ? r : undefined;
  }, 'the gateway routing k8s.example to the NodePort', { deadlineMs: 30_000 });
  assert.equal(reply.json().upstream, 'k8s-web');
});

test('catalog → Kubernetes: a VM service becomes an ExternalName Service; nothing loops back; foreign objects untouched', async () => {
  await consul.catalog.register({ Node: 'vm-1', Address: '192.0.2.10', Service: { ID: 'inventory-1', Service: 'inventory', Port: 8080 } });
  await consul.catalog.register({ Node: 'vm-1', Address: '192.0.2.10', Service: { ID: 'billing-1', Service: 'billing', Port: 8081 } });
  await consul.catalog.register({ Node: 'k8s-sync', Address: '127.0.0.1', Service: { ID: 'handmade', Service: 'handmade', Port: 1 } });
  const inventory = await waitFor(() => cluster.get('v1', 'services', writeNs, 'inventory'), 'the ExternalName service');
  const spec = inventory['spec'] as { type: string; externalName: string };
  assert.deepEqual([spec.type, spec.externalName], ['ExternalName', 'inventory.service.consul']);
  assert.equal(inventory.metadata.labels?.['consul'], 'true');
  assert.equal(inventory.metadata.annotations?.['consul.hashicorp.com/service-sync'], 'false');
  // `billing` exists in Kubernetes and is not ours: left as it was. `web` came from Kubernetes: not written back.
  assert.equal(((await cluster.get('v1', 'services', writeNs, 'billing'))!['spec'] as { type: string }).type, 'ClusterIP');
  assert.equal(await cluster.get('v1', 'services', writeNs, 'web'), undefined);
  // The ExternalName service is not synced into the catalog as a second `inventory`.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual((await catalogService('inventory')).map((s) => s.Node), ['vm-1']);
});

test('deletes follow both ways; a hand-made entry on the sync node stays', async () => {
  await cluster.remove('v1', 'services', apps, 'web');
  await waitFor(async () => (await catalogService('web')).length === 0, 'web gone from the catalog');
  await consul.catalog.deregister({ Node: 'vm-1', ServiceID: 'inventory-1' });
  await waitFor(async () => (await cluster.get('v1', 'services', writeNs, 'inventory')) === undefined, 'the ExternalName service deleted');
  assert.equal((await catalogService('handmade')).length, 1);
});

test('drift is repaired, stale entries from an earlier run are removed, one replica acts, a new leader takes over', async () => {
  const first = running[0]!;
  // Someone deregisters a synced instance behind our back: the periodic reconcile puts it back.
  const apiId = serviceId('api', '10.1.0.7');
  await consul.catalog.deregister({ Node: 'k8s-sync', ServiceID: apiId });
  await waitFor(async () => (await catalogService('api')).some((s) => s.ServiceID === apiId), 'the instance re-registered');
  // An entry a previous run wrote for a Service that no longer exists.
  await consul.catalog.register({ Node: 'k8s-sync', Address: '127.0.0.1', SkipNodeUpdate: true, Service: { ID: 'old-1', Service: 'old', Port: 1, Meta: { 'external-source': 'kubernetes' } } });
  const second = await startSync('replica-2');
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal([first, second].filter((r) => r.elector.isLeader).length, 1, 'exactly one leader');
  await waitFor(async () => (await catalogService('old')).length === 0, 'the stale entry removed');
  await first.close();
  running.splice(running.indexOf(first), 1);
  await waitFor(() => second.elector.isLeader, 'the second replica leading', { deadlineMs: 30_000 });
  await cluster.put('v1', 'services', { metadata: { name: 'late', namespace: apps }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } });
  await cluster.putStatus('v1', 'services', { metadata: { name: 'late', namespace: apps }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } } });
  const late = await waitFor(async () => (await catalogService('late'))[0], 'the new leader syncing');
  assert.equal(late.ServiceAddress, '198.51.100.7');
  assert.equal(late.ServicePort, 443);
});

test('the API server restarting with its watch history gone (410) loses and duplicates nothing', { skip: process.env['MESHGATE_TEST_KUBECONFIG'] ? 'needs the in-process API server (MESHGATE_TEST_KUBECONFIG points at a real one)' : false }, async () => {
  const api = cluster.fake!;
  const sync = running.at(-1)!;
  api.compact();
  await api.close();
  api.put('v1', 'services', { metadata: { name: 'after-restart', namespace: apps }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.8' }] } } });
  api.remove('v1', 'services', apps, 'late');
  await api.start();
  await waitFor(async () => (await catalogService('after-restart')).length === 1, 'the service added while the API server was down', { deadlineMs: 60_000 });
  await waitFor(async () => (await catalogService('late')).length === 0, 'the service removed while the API server was down', { deadlineMs: 60_000 });
  assert.equal((await catalogService('api')).length, 2, 'no duplicates');
  assert.ok(sync.elector.isLeader);
});
