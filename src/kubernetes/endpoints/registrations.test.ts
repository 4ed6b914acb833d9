/**
 * The endpoints controller's pure part against consul-k8s's endpoints_controller.go: processUpstreams' three
 * formats (unlabeled `name:port[:dc]`, labeled `name.svc[.x.dc|.x.peer]:port`, `prepared_query:name:port`),
 * common.PortValue (a number or a named container port), serviceName/serviceID for a multi-port pod, and the
 * terminating pod drained as critical.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import { parseUpstreams, portValue, registrationsFor, serviceIds } from './registrations.ts';

const pod = (annotations: Record<string, string> = {}, extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
  metadata: { name: 'web-1', namespace: 'apps', uid: 'u1', annotations: { 'consul.hashicorp.com/connect-inject-status': 'injected', ...annotations }, ...extra },
  spec: { nodeName: 'n1', containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }, { name: 'admin', containerPort: 9000 }] }] },
  status: { hostIP: '192.0.2.1', podIP: '10.0.0.1' },
});
const endpoints = (name: string): V1Endpoints => ({ metadata: { name, namespace: 'apps' } });

test('upstreams in consul-k8s\'s three formats, ports by number or container port name', () => {
  assert.deepEqual(parseUpstreams(pod(), 'api:9191, db:http:dc2,cache.svc:7000,auth.svc.east.dc:7001,pay.svc.peer1.peer:7002,prepared_query:q1:7003'), [
    { DestinationType: 'service', DestinationName: 'api', LocalBindPort: 9191 },
    { DestinationType: 'service', DestinationName: 'db', LocalBindPort: 8080, Datacenter: 'dc2' },
    { DestinationType: 'service', DestinationName: 'cache', LocalBindPort: 7000 },
    { DestinationType: 'service', DestinationName: 'auth', Datacenter: 'east', LocalBindPort: 7001 },
    { DestinationType: 'service', DestinationName: 'pay', DestinationPeer: 'peer1', LocalBindPort: 7002 },
    { DestinationType: 'prepared_query', DestinationName: 'q1', LocalBindPort: 7003 },
  ]);
  assert.throws(() => parseUpstreams(pod(), 'a.svc.x.zone:1'), /upstream structured incorrectly/);
  assert.throws(() => parseUpstreams(pod(), 'api'), /upstream structured incorrectly/);
  assert.throws(() => portValue(pod(), 'nope'), /neither a number nor a named container port/);
});

test('a multi-port pod: each Service gets its own instance, proxy port 20000 + index, upstreams on the first only', () => {
  const p = pod({ 'consul.hashicorp.com/connect-service': 'web,web-admin', 'consul.hashicorp.com/connect-service-port': 'http,admin', 'consul.hashicorp.com/connect-service-upstreams': 'api:9191' });
  const [svc, proxy] = registrationsFor(p, '10.0.0.1', endpoints('web-admin'), 'passing');
  assert.deepEqual(serviceIds(p, endpoints('web-admin')), { service: 'web-1-web-admin', proxy: 'web-1-web-admin-sidecar-proxy' });
  assert.equal(svc.Service!.Service, 'web-admin');
  assert.equal(svc.Service!.Port, 9000);
  assert.equal(proxy.Service!.Port, 20001);
  assert.deepEqual(proxy.Service!.Proxy!.Upstreams, []);
  const [, first] = registrationsFor(p, '10.0.0.1', endpoints('web'), 'passing');
  assert.equal(first.Service!.Port, 20000);
  assert.equal(first.Service!.Proxy!.Upstreams!.length, 1);
});

test('a pod being deleted is registered critical ("is terminating") whatever its readiness', () => {
  const [svc] = registrationsFor(pod({}, { deletionTimestamp: new Date() }), '10.0.0.1', endpoints('web'), 'passing');
  assert.equal(svc.Check!.Status, 'critical');
  assert.equal(svc.Check!.Output, 'Pod "apps/web-1" is terminating');
  assert.equal(svc.Node, 'n1-virtual');
});

// consul-k8s's createServiceRegistrations, tproxy branch (controllers/endpoints/endpoints_controller.go): Proxy.Mode
// "transparent"; TaggedAddresses["virtual"] = the Service's ClusterIP with the Service port whose targetPort (number
// or named, portValueFromIntOrString) is the registered port, else whose port is; none when net.ParseIP(ClusterIP)
// fails (headless "None"); probes as Expose.Paths from the mutated and the original-pod containers.
const tproxyPod = (annotations: Record<string, string> = {}): V1Pod =>
  pod({ 'consul.hashicorp.com/transparent-proxy-status': 'enabled', 'consul.hashicorp.com/connect-service-port': 'http', ...annotations });
const k8sService = (clusterIP: string, ports: Array<{ port: number; targetPort?: number | string }>): V1Service => ({
  metadata: { name: 'web', namespace: 'apps' }, spec: { clusterIP, ports: ports as NonNullable<V1Service['spec']>['ports'] },
});

test('a transparent-proxy pod: proxy Mode transparent, virtual = cluster IP and the Service port that targets the registered port', () => {
  const service = k8sService('10.96.0.10', [{ port: 9000, targetPort: 9000 }, { port: 80, targetPort: 'http' }]);
  const [svc, proxy] = registrationsFor(tproxyPod(), '10.0.0.1', endpoints('web'), 'passing', { service });
  assert.equal(proxy.Service!.Proxy!.Mode, 'transparent');
  assert.deepEqual(svc.Service!.TaggedAddresses, { virtual: { Address: '10.96.0.10', Port: 80 } });
  assert.deepEqual(proxy.Service!.TaggedAddresses, { virtual: { Address: '10.96.0.10', Port: 80 } });
  // No targetPort matching: a Service port equal to the registered port is taken; none at all gives port 0.
  const [bySamePort] = registrationsFor(tproxyPod(), '10.0.0.1', endpoints('web'), 'passing', { service: k8sService('10.96.0.10', [{ port: 8080, targetPort: 1 }]) });
  assert.deepEqual(bySamePort.Service!.TaggedAddresses, { virtual: { Address: '10.96.0.10', Port: 8080 } });
  const [noMatch] = registrationsFor(tproxyPod(), '10.0.0.1', endpoints('web'), 'passing', { service: k8sService('10.96.0.10', [{ port: 1, targetPort: 2 }]) });
  assert.deepEqual(noMatch.Service!.TaggedAddresses, { virtual: { Address: '10.96.0.10', Port: 0 } });
});

test('a headless Service gives no virtual address; a pod without transparent proxy none either; an unknown Service is an error', () => {
  const [svc, proxy] = registrationsFor(tproxyPod(), '10.0.0.1', endpoints('web'), 'passing', { service: k8sService('None', [{ port: 80, targetPort: 8080 }]) });
  assert.equal(svc.Service!.TaggedAddresses, undefined);
  assert.equal(proxy.Service!.Proxy!.Mode, 'transparent');
  const [plain, plainProxy] = registrationsFor(pod(), '10.0.0.1', endpoints('web'), 'passing', { service: k8sService('10.96.0.10', [{ port: 80 }]) });
  assert.equal(plain.Service!.TaggedAddresses, undefined);
  assert.equal(plainProxy.Service!.Proxy!.Mode, undefined);
  assert.throws(() => registrationsFor(tproxyPod(), '10.0.0.1', endpoints('web'), 'passing', {}), /Service apps\/web of a transparent-proxy pod is not known/);
});

test('moved probes become Expose.Paths: listener = the new port, local = the original port (named ports resolved)', () => {
  const original = {
    spec: { containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }], livenessProbe: { httpGet: { path: '/live', port: 'http' } }, readinessProbe: { httpGet: { path: '/ready', port: 8081 } }, startupProbe: { exec: { command: ['true'] } } }] },
  };
  const p = tproxyPod({ 'consul.hashicorp.com/original-pod': JSON.stringify(original) });
  p.spec!.containers[0]!.livenessProbe = { httpGet: { path: '/live', port: 20300 } };
  p.spec!.containers[0]!.readinessProbe = { httpGet: { path: '/ready', port: 20400 } };
  p.spec!.containers[0]!.startupProbe = { exec: { command: ['true'] } };
  const service = k8sService('10.96.0.10', [{ port: 80, targetPort: 8080 }]);
  const [, proxy] = registrationsFor(p, '10.0.0.1', endpoints('web'), 'passing', { service });
  assert.deepEqual(proxy.Service!.Proxy!.Expose, { Paths: [
    { ListenerPort: 20300, Path: '/live', LocalPathPort: 8080 },
    { ListenerPort: 20400, Path: '/ready', LocalPathPort: 8081 },
  ] });
  // The annotation turns it off per pod; the controller's default can too.
  const off = tproxyPod({ 'consul.hashicorp.com/original-pod': JSON.stringify(original), 'consul.hashicorp.com/transparent-proxy-overwrite-probes': 'false' });
  off.spec = p.spec;
  assert.equal(registrationsFor(off, '10.0.0.1', endpoints('web'), 'passing', { service })[1].Service!.Proxy!.Expose, undefined);
  assert.equal(registrationsFor(p, '10.0.0.1', endpoints('web'), 'passing', { service, overwriteProbesDefault: false })[1].Service!.Proxy!.Expose, undefined);
});
