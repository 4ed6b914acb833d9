/**
 * Transparent-proxy pods' HTTP probes through the sidecar, as consul-k8s's webhook moves them
 * (control-plane/connect-inject/webhook/mesh_webhook.go overwriteProbes and defaultAnnotations; redirect_traffic.go
 * iptablesConfigJSON; constants exposedPaths{Liveness,Readiness,Startup}PortsRangeStart = 20300/20400/20500): pods
 * created through the in-process API server's admission chain come back with liveness/readiness/startup httpGet
 * ports at range start + container index, other probe kinds untouched, the pod as sent in `original-pod`, the moved
 * ports excluded from inbound redirection; the `transparent-proxy-overwrite-probes` annotation turns it off, and
 * without transparent mode nothing moves. The endpoints controller's reading of the result is in
 * src/kubernetes/endpoints/registrations.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { defaultInjectorConfig } from '../../src/kubernetes/inject/config.ts';
import { REDIRECT_TRAFFIC_ENV } from '../../src/kubernetes/inject/containers.ts';
import { runConnectInject, type RunningConnectInject } from '../../src/kubernetes/inject/run.ts';
import type { KubeObject } from './apiserver.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

interface Probe { httpGet?: { path?: string; port?: number | string }; tcpSocket?: { port: number | string } }
interface Container {
  name: string;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  env?: Array<{ name: string; value?: string }>;
}
interface Pod extends KubeObject { spec: { containers: Container[]; initContainers?: Container[] } }

let cluster: TestCluster;
let injector: RunningConnectInject;
let ns: string;
const WEBHOOK_CONFIG = `meshgate-inject-probes-${process.pid}`;

before(async () => {
  cluster = await startTestCluster();
  ns = await cluster.namespace('probes');
  await cluster.put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', {
    metadata: { name: WEBHOOK_CONFIG },
    webhooks: [{
      name: 'inject.meshgate.io', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
      clientConfig: { url: 'https://127.0.0.1:1/mutate' },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns] }] },
    }],
  });
  injector = await runConnectInject({
    kubeConfig: cluster.kubeConfig,
    consul: createClient({ address: '127.0.0.1:1', env: {} }),
    logger: silentLogger(),
    config: defaultInjectorConfig({ image: 'meshgate:test', httpAddr: 'meshgate-server:8500', transparentProxyDefault: true }),
    enableWebhook: true, enableCrdController: false, enableEndpointsController: false,
    host: '127.0.0.1', port: 0, certNames: ['127.0.0.1'], webhookConfigName: WEBHOOK_CONFIG, leaseNamespace: ns,
  });
  // The webhook's port is known only now: point the configuration at it (the caBundle stays as the injector wrote it).
  const config = (await cluster.get('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', undefined, WEBHOOK_CONFIG))!;
  (config['webhooks'] as Array<{ clientConfig: { url: string } }>)[0]!.clientConfig.url = injector.webhook!.url;
  await cluster.put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', config);
});

after(async () => {
  await cluster?.remove('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', undefined, WEBHOOK_CONFIG);
  await injector?.close();
  await cluster?.close();
});

const probed = (name: string, annotations: Record<string, string>) => ({
  metadata: { name, namespace: ns, annotations: { 'consul.hashicorp.com/connect-inject': 'true', ...annotations } },
  spec: {
    containers: [
      {
        name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }],
        livenessProbe: { httpGet: { path: '/live', port: 'http' } }, readinessProbe: { httpGet: { path: '/ready', port: 8081 } },
        startupProbe: { tcpSocket: { port: 8080 } },
      },
      { name: 'worker', image: 'worker:1', startupProbe: { httpGet: { path: '/started', port: 9000 } } },
    ],
  },
});

function redirectConfig(pod: Pod): { ExcludeInboundPorts: string[] } | undefined {
  const value = pod.spec.initContainers?.[0]?.env?.find((e) => e.name === REDIRECT_TRAFFIC_ENV)?.value;
  return value === undefined ? undefined : JSON.parse(value) as { ExcludeInboundPorts: string[] };
}

test('transparent proxy: HTTP probes move to 20300/20400/20500 + the container index, the original pod is kept, the ports skip the redirect', async () => {
  const sent = probed('web', { 'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports': '7000' });
  const pod = (await cluster.put('v1', 'pods', sent)) as Pod;
  const [app, worker] = pod.spec.containers;
  assert.deepEqual(app!.livenessProbe, { httpGet: { path: '/live', port: 20300 } });
  assert.deepEqual(app!.readinessProbe, { httpGet: { path: '/ready', port: 20400 } });
  assert.deepEqual(app!.startupProbe, { tcpSocket: { port: 8080 } }, 'only httpGet probes move');
  assert.deepEqual(worker!.startupProbe, { httpGet: { path: '/started', port: 20501 } });
  assert.equal(pod.spec.containers[2]!.name, 'meshgate-proxy');
  assert.equal(pod.spec.containers[2]!.livenessProbe, undefined);
  const original = JSON.parse(pod.metadata.annotations!['consul.hashicorp.com/original-pod']!) as { spec: { containers: Container[] } };
  assert.deepEqual(original.spec.containers.map((c) => c.livenessProbe?.httpGet?.port ?? null), ['http', null]);
  assert.equal(original.spec.containers[1]!.startupProbe!.httpGet!.port, 9000);
  // Moved ports first, then the annotation's, as iptablesConfigJSON lists them.
  assert.deepEqual(redirectConfig(pod)!.ExcludeInboundPorts, ['20300', '20400', '20501', '7000']);
});

test('the overwrite-probes annotation set to false, or no transparent proxy, leaves the probes alone', async () => {
  for (const [name, annotations] of [
    ['no-overwrite', { 'consul.hashicorp.com/transparent-proxy-overwrite-probes': 'false' }],
    ['no-tproxy', { 'consul.hashicorp.com/transparent-proxy': 'false' }],
  ] as const) {
    const pod = (await cluster.put('v1', 'pods', probed(name, annotations))) as Pod;
    assert.deepEqual(pod.spec.containers[0]!.livenessProbe, { httpGet: { path: '/live', port: 'http' } }, name);
    assert.deepEqual(pod.spec.containers[1]!.startupProbe, { httpGet: { path: '/started', port: 9000 } }, name);
    assert.ok(pod.metadata.annotations!['consul.hashicorp.com/original-pod'], `${name}: original-pod is always kept`);
    assert.deepEqual(redirectConfig(pod)?.ExcludeInboundPorts ?? [], [], name);
  }
});

test('a bad overwrite-probes value admits the pod uninjected', async () => {
  const pod = (await cluster.put('v1', 'pods', probed('bad', { 'consul.hashicorp.com/transparent-proxy-overwrite-probes': 'maybe' }))) as Pod;
  assert.deepEqual(pod.spec.containers.map((c) => c.name), ['app', 'worker']);
  assert.equal(pod.metadata.annotations!['consul.hashicorp.com/connect-inject-status'], undefined);
});
