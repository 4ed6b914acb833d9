/**
 * The endpoints controller's pure part against consul-k8s's endpoints_controller.go: processUpstreams' three
 * formats (unlabeled `name:port[:dc]`, labeled `name.svc[.x.dc|.x.peer]:port`, `prepared_query:name:port`),
 * common.PortValue (a number or a named container port), serviceName/serviceID for a multi-port pod, and the
 * terminating pod drained as critical.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
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
