/**
 * The endpoints controller end to end on cluster.ts (the test API server, or a real one) with a real
 * `meshgate server` (ACLs on, default deny) and the `kubernetes` auth method. Expected shapes come from consul-k8s's
 * control-plane/connect-inject/controllers/endpoints/endpoints_controller.go: createServiceRegistrations (node
 * `<k8s node>-virtual` at the hostIP, ID `<pod>-<service>`, meta pod-name/k8s-namespace/k8s-service-name/managed-by,
 * proxy `<service>-sidecar-proxy` on 20000 with its upstreams), mapAddresses + getHealthCheckStatusReason (the
 * "Kubernetes Readiness Check", passing for ready addresses, critical `Pod "<ns>/<name>" is not ready` otherwise),
 * deregisterService + deleteACLTokensForServiceInstance (instances of gone pods removed, with the tokens whose login
 * meta `pod` names them). Services have no selector, so a real cluster's own endpoints controller leaves the
 * Endpoints the test writes alone.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { runEndpointsController, type RunningEndpointsController } from '../../src/kubernetes/endpoints/run.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import type { KubeObject } from './apiserver.ts';
import { consulCall, kubernetesAuthMethod, reviewer, serviceAccount, tokenFor } from './auth-setup.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const ROOT: string = randomUUID();
const HOST_IP = '192.0.2.10';
let cluster: TestCluster;
let server: RunningServer;
let consul: ConsulClient;
let ns: string;
let k8sNode: string;
const running: RunningEndpointsController[] = [];
const podIps = new Map<string, string>();

function start(identity: string): Promise<RunningEndpointsController> {
  return runEndpointsController({
    kubeConfig: cluster.kubeConfig, consul, logger: silentLogger(), authMethod: 'k8s', identity,
    allowK8sNamespaces: new Set([ns]), leaseNamespace: ns, leaseDurationSeconds: 2, resyncIntervalMs: 1_000, quietPeriodMs: 50,
  }).then((r) => {
    running.push(r);
    return r;
  });
}

async function stop(r: RunningEndpointsController): Promise<void> {
  await r.close();
  running.splice(running.indexOf(r), 1);
}

const INJECTED = {
  'consul.hashicorp.com/connect-inject-status': 'injected',
  'consul.hashicorp.com/connect-service-port': 'http',
  'consul.hashicorp.com/connect-service-upstreams': 'api:9191,db.svc.dc2.dc:5432',
  'consul.hashicorp.com/service-tags': 'v1,$POD_NAME',
  'consul.hashicorp.com/service-meta-team': 'shop',
};

/** A pod on `k8sNode` with its IPs and readiness in its status, as a kubelet would report them. */
async function pod(name: string, ip: string, annotations: Record<string, string> = INJECTED): Promise<KubeObject> {
  podIps.set(name, ip);
  const stored = await cluster.put('v1', 'pods', {
    metadata: { name, namespace: ns, annotations },
    spec: { nodeName: k8sNode, serviceAccountName: 'web', containers: [{ name: 'app', image: 'web:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
  });
  return cluster.putStatus('v1', 'pods', { ...stored, status: { phase: 'Running', podIP: ip, hostIP: HOST_IP, conditions: [{ type: 'Ready', status: 'True' }] } });
}

/** The Endpoints of Service `web`, as the cluster's endpoints controller would write them from pods' readiness. */
async function endpoints(ready: string[], notReady: string[]): Promise<void> {
  const address = (name: string) => ({ ip: podIps.get(name)!, nodeName: k8sNode, targetRef: { kind: 'Pod', name, namespace: ns } });
  await cluster.put('v1', 'endpoints', {
    metadata: { name: 'web', namespace: ns },
    subsets: [{ addresses: ready.map(address), notReadyAddresses: notReady.map(address), ports: [{ name: 'http', port: 8080 }] }],
  });
}

async function instances(service: string) {
  return (await consul.health.service(service)).value;
}

async function ids(service: string): Promise<string[]> {
  return (await instances(service)).map((e) => e.Service.ID).sort();
}

async function login(podName: string): Promise<{ AccessorID: string }> {
  const stored = await cluster.get('v1', 'pods', ns, podName);
  const bearer = await tokenFor(cluster, ns, 'web', { name: podName, uid: stored!.metadata.uid! });
  const reply = await consulCall(server.url, 'POST', '/v1/acl/login', { AuthMethod: 'k8s', BearerToken: bearer, Meta: { pod: `${ns}/${podName}` } }, '');
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

async function tokenExists(accessor: string): Promise<boolean> {
  return (await consul.acl.tokenRead(accessor)).value !== null;
}

before(async () => {
  cluster = await startTestCluster(process.env, { tls: true });
  server = await startServer(
    { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: ROOT } } },
    silentLogger(),
  );
  consul = createClient({ address: server.url, token: ROOT, env: {} });
  ns = await cluster.namespace('ep');
  k8sNode = `${ns}-node`;
  await cluster.put('v1', 'nodes', { metadata: { name: k8sNode }, status: { addresses: [{ type: 'InternalIP', address: HOST_IP }] } });
  await serviceAccount(cluster, ns, 'web');
  const created = await kubernetesAuthMethod(cluster, server.url, ROOT, 'k8s', await reviewer(cluster, ns, 'reviewer'), ns);
  assert.equal(created.status, 200, created.text);
  await cluster.put('v1', 'services', { metadata: { name: 'web', namespace: ns }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
  // Not ours: a hand-made instance on the synthetic node the controller writes to; it must survive everything.
  await consul.catalog.register({ Node: `${k8sNode}-virtual`, Address: HOST_IP, Service: { ID: 'hand-made', Service: 'hand-made', Port: 1, Meta: { 'k8s-namespace': ns } } });
});

after(async () => {
  for (const r of [...running]) await r.close().catch(() => undefined);
  await server?.close();
  await cluster?.close();
});

test('ready pods appear with their proxies, unready ones critical, uninjected ones not at all', async () => {
  await pod('web-1', '10.8.0.1');
  await pod('web-2', '10.8.0.2');
  await pod('plain', '10.8.0.3', {});
  await endpoints(['web-1', 'plain'], ['web-2']);
  const r = await start('replica-1');
  await waitFor(async () => (await ids('web')).length === 2 && (await ids('web-sidecar-proxy')).length === 2, 'web and its proxies in the catalog');

  const byId = new Map((await instances('web')).map((e) => [e.Service.ID, e]));
  const web1 = byId.get('web-1-web')!;
  assert.equal(web1.Node.Node, `${k8sNode}-virtual`);
  assert.equal(web1.Node.Address, HOST_IP);
  assert.equal(web1.Service.Address, '10.8.0.1');
  assert.equal(web1.Service.Port, 8080);
  assert.deepEqual(web1.Service.Tags, ['v1', 'web-1']);
  assert.equal(web1.Service.Meta?.['pod-name'], 'web-1');
  assert.equal(web1.Service.Meta?.['k8s-namespace'], ns);
  assert.equal(web1.Service.Meta?.['k8s-service-name'], 'web');
  assert.equal(web1.Service.Meta?.['managed-by'], 'meshgate-endpoints-controller');
  assert.equal(web1.Service.Meta?.['team'], 'shop');
  const check = (id: string) => byId.get(id)!.Checks.find((c) => c.Type === 'kubernetes-readiness')!;
  assert.equal(check('web-1-web').Name, 'Kubernetes Readiness Check');
  assert.equal(check('web-1-web').CheckID, `${ns}/web-1-web`);
  assert.equal(check('web-1-web').Status, 'passing');
  assert.equal(check('web-1-web').Output, 'Kubernetes health checks passing');
  assert.equal(check('web-2-web').Status, 'critical');
  assert.equal(check('web-2-web').Output, `Pod "${ns}/web-2" is not ready`);

  const proxy = (await instances('web-sidecar-proxy')).find((e) => e.Service.ID === 'web-1-web-sidecar-proxy')!;
  assert.equal(proxy.Service.Kind, 'connect-proxy');
  assert.equal(proxy.Service.Port, 20000);
  assert.equal(proxy.Service.Address, '10.8.0.1');
  assert.equal(proxy.Service.Proxy?.DestinationServiceName, 'web');
  assert.equal(proxy.Service.Proxy?.DestinationServiceID, 'web-1-web');
  assert.equal(proxy.Service.Proxy?.LocalServicePort, 8080);
  assert.deepEqual(proxy.Service.Proxy?.Upstreams?.map((u) => [u['DestinationName'], u['LocalBindPort'], u['Datacenter'] ?? '']), [['api', 9191, ''], ['db', 5432, 'dc2']]);
  // Only ready proxies are in the healthy view, as for the service itself.
  assert.deepEqual((await consul.health.service('web', { passing: true })).value.map((e) => e.Service.ID), ['web-1-web']);
  assert.equal((await instances('plain')).length, 0);
  await stop(r);
});

test('readiness changes move the checks both ways', async () => {
  const r = await start('replica-1');
  await endpoints(['web-2'], ['web-1']);
  await waitFor(async () => {
    const passing = (await consul.health.service('web', { passing: true })).value.map((e) => e.Service.ID);
    return passing.length === 1 && passing[0] === 'web-2-web';
  }, 'web-2 passing and web-1 critical');
  await stop(r);
});

test('a deleted pod disappears with its proxy and its ACL token; other pods\' tokens stay', async () => {
  const r = await start('replica-1');
  await endpoints(['web-1', 'web-2'], []);
  await waitFor(async () => (await consul.health.service('web', { passing: true })).value.length === 2, 'both passing');
  const token1 = await login('web-1');
  const token2 = await login('web-2');
  await cluster.remove('v1', 'pods', ns, 'web-1');
  await endpoints(['web-2'], []);
  await waitFor(async () => (await ids('web')).join() === 'web-2-web' && (await ids('web-sidecar-proxy')).join() === 'web-2-web-sidecar-proxy', 'web-1 gone');
  await waitFor(async () => !(await tokenExists(token1.AccessorID)), 'web-1\'s token deleted');
  assert.equal(await tokenExists(token2.AccessorID), true);
  assert.equal((await instances('hand-made')).length, 1, 'an instance the controller did not write is left alone');
  await stop(r);
});

test('on start it removes instances of pods that went while it was down, and their tokens, and nothing else', async () => {
  const token2 = await login('web-2');
  await cluster.remove('v1', 'pods', ns, 'web-2');
  await endpoints([], []);
  assert.equal((await ids('web')).length, 1, 'nothing ran: the stale instance is still there');
  const r = await start('replica-1');
  await waitFor(async () => (await ids('web')).length === 0 && (await ids('web-sidecar-proxy')).length === 0, 'stale instances removed');
  await waitFor(async () => !(await tokenExists(token2.AccessorID)), 'the stale pod\'s token deleted');
  assert.equal((await instances('hand-made')).length, 1);
  assert.ok((await consul.catalog.node(`${k8sNode}-virtual`)).value, 'the node keeps the hand-made service, so it stays');
  await stop(r);
});

test('an API server restart with its watch history compacted (410) loses nothing and duplicates nothing', async (t) => {
  if (cluster.fakeOnly) return t.skip(cluster.fakeOnly);
  const fake = cluster.fake!;
  await pod('web-3', '10.8.0.13');
  await pod('web-4', '10.8.0.14');
  await endpoints(['web-3', 'web-4'], []);
  const r = await start('replica-1');
  await waitFor(async () => (await ids('web')).length === 2, 'web-3 and web-4 registered');
  await fake.close();
  // While it is down: web-4 goes, web-5 comes, and the history that would tell a resuming watch about it is compacted.
  fake.remove('v1', 'pods', ns, 'web-4');
  podIps.set('web-5', '10.8.0.15');
  fake.put('v1', 'pods', {
    metadata: { name: 'web-5', namespace: ns, annotations: INJECTED },
    spec: { nodeName: k8sNode, serviceAccountName: 'web', containers: [{ name: 'app', image: 'web:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: '10.8.0.15', hostIP: HOST_IP, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const address = (name: string) => ({ ip: podIps.get(name)!, nodeName: k8sNode, targetRef: { kind: 'Pod', name, namespace: ns } });
  fake.put('v1', 'endpoints', { metadata: { name: 'web', namespace: ns }, subsets: [{ addresses: [address('web-3'), address('web-5')], ports: [{ name: 'http', port: 8080 }] }] });
  fake.compact();
  await fake.start();
  await waitFor(async () => (await ids('web')).join() === 'web-3-web,web-5-web' && (await ids('web-sidecar-proxy')).length === 2, 'web-4 gone and web-5 registered after the relist');
  assert.deepEqual(await ids('web-sidecar-proxy'), ['web-3-web-sidecar-proxy', 'web-5-web-sidecar-proxy']);
  // Nothing twice: one instance per pod and kind, each with one readiness check.
  for (const entry of await instances('web')) assert.equal(entry.Checks.filter((c) => c.Type === 'kubernetes-readiness').length, 1);
  await stop(r);
});

test('two replicas with one Lease never both act; the follower takes over when the leader stops', async () => {
  const a = await start('replica-a');
  const b = await start('replica-b');
  await waitFor(() => a.elector.isLeader || b.elector.isLeader, 'a leader');
  const [leader, follower] = a.elector.isLeader ? [a, b] : [b, a];
  await pod('web-6', '10.8.0.16');
  const current = (await cluster.get('v1', 'endpoints', ns, 'web'))!;
  const subsets = current['subsets'] as Array<{ addresses?: unknown[] }> | undefined;
  await cluster.put('v1', 'endpoints', {
    ...current,
    subsets: [{ addresses: [...(subsets?.[0]?.addresses ?? []), { ip: '10.8.0.16', nodeName: k8sNode, targetRef: { kind: 'Pod', name: 'web-6', namespace: ns } }], ports: [{ name: 'http', port: 8080 }] }],
  });
  await waitFor(async () => (await ids('web')).includes('web-6-web'), 'web-6 registered by the leader');
  assert.equal(a.elector.isLeader && b.elector.isLeader, false);
  assert.equal(follower.controller.writes, 0, 'the follower wrote nothing');
  assert.ok(leader.controller.writes > 0);
  await stop(leader);
  await waitFor(() => follower.elector.isLeader, 'the follower leads');
  await cluster.remove('v1', 'pods', ns, 'web-6');
  await waitFor(async () => !(await ids('web')).includes('web-6-web'), 'the new leader deregisters web-6');
  assert.ok(follower.controller.writes > 0);
  await stop(follower);
});
