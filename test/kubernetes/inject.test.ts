/**
 * The connect injector end to end: `runConnectInject` serves its HTTPS webhook with a certificate it generated and
 * writes the CA into the MutatingWebhookConfiguration (consul-k8s's webhook-cert-manager role); the API server —
 * the in-process one, or a real one with MESHGATE_TEST_KUBECONFIG — calls it for every pod create. Expectations are
 * consul-k8s's (control-plane/connect-inject/webhook/mesh_webhook.go: shouldInject, defaultAnnotations, the
 * connect-inject-status annotation and label; container_init.go and redirect_traffic.go: the proxy UID 5995, the
 * init UID 5996 excluded, inbound 20000, outbound 15001, the Prometheus port excluded; consul_dataplane_sidecar.go:
 * resources from the sidecar-proxy-* annotations), except that a bad annotation is admitted uninjected with a
 * logged reason instead of an error that blocks the pod.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { redirectConfigFromJson } from '../../src/cli/commands/k8s/acl-init.ts';
import { createClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { defaultInjectorConfig } from '../../src/kubernetes/inject/config.ts';
import { REDIRECT_TRAFFIC_ENV } from '../../src/kubernetes/inject/containers.ts';
import { runConnectInject, type RunningConnectInject } from '../../src/kubernetes/inject/run.ts';
import { redirectRules } from '../../src/proxy/transparent/rules.ts';
import type { KubeObject } from './apiserver.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string }>;
  resources?: unknown;
  ports?: Array<{ containerPort: number }>;
}
interface Pod extends KubeObject { spec: { containers: Container[]; initContainers?: Container[]; volumes?: Array<{ name: string }> } }

let cluster: TestCluster;
let injector: RunningConnectInject;
let ns: string;
let denied: string;
let other: string;
const WEBHOOK_CONFIG = `meshgate-inject-test-${process.pid}`;

before(async () => {
  cluster = await startTestCluster();
  ns = await cluster.namespace('inject');
  denied = await cluster.namespace('inject-denied');
  other = await cluster.namespace('inject-tproxy');
  await cluster.put('v1', 'namespaces', { metadata: { name: other, labels: { 'consul.hashicorp.com/transparent-proxy': 'true' } } });
  // Registered before the injector starts, without a caBundle: the injector writes its generated CA into it.
  // Only this run's namespaces are selected, so a real cluster's other pods never reach the test webhook.
  await cluster.put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', {
    metadata: { name: WEBHOOK_CONFIG },
    webhooks: [{
      name: 'inject.meshgate.io', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
      clientConfig: { url: 'https://127.0.0.1:1/mutate' },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [ns, denied, other] }] },
    }],
  });
  injector = await runConnectInject({
    kubeConfig: cluster.kubeConfig,
    consul: createClient({ address: '127.0.0.1:1', env: {} }),
    logger: silentLogger(),
    config: defaultInjectorConfig({ image: 'meshgate:test', denyNamespaces: [denied], authMethod: 'meshgate-k8s', httpAddr: 'meshgate-server.infra.svc:8500' }),
    enableWebhook: true, enableCrdController: false, enableEndpointsController: false,
    host: '127.0.0.1', port: 0, certNames: ['127.0.0.1'], webhookConfigName: WEBHOOK_CONFIG, leaseNamespace: ns,
  });
  // The webhook's port is known only now: point the configuration at it (the caBundle stays as the injector wrote it).
  const config = (await cluster.get('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', undefined, WEBHOOK_CONFIG))!;
  const webhooks = config['webhooks'] as Array<{ clientConfig: { url: string; caBundle?: string } }>;
  assert.equal(Buffer.from(webhooks[0]!.clientConfig.caBundle ?? '', 'base64').toString(), injector.caBundle, 'the injector wrote its CA as caBundle');
  webhooks[0]!.clientConfig.url = injector.webhook!.url;
  await cluster.put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', config);
});

after(async () => {
  await cluster?.remove('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', undefined, WEBHOOK_CONFIG);
  await injector?.close();
  await cluster?.close();
});

const appPod = (namespace: string, name: string, annotations: Record<string, string> = {}) => ({
  metadata: { name, namespace, annotations },
  spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
});

async function create(namespace: string, name: string, annotations: Record<string, string> = {}): Promise<Pod> {
  return (await cluster.put('v1', 'pods', appPod(namespace, name, annotations))) as Pod;
}

test('a pod with the connect-inject annotation comes back with the init container and the sidecar, marked injected', async () => {
  const pod = await create(ns, 'web', { 'consul.hashicorp.com/connect-inject': 'true' });
  assert.deepEqual(pod.spec.containers.map((c) => c.name), ['app', 'meshgate-proxy']);
  assert.deepEqual(pod.spec.initContainers!.map((c) => c.name), ['meshgate-connect-inject-init']);
  assert.equal(pod.metadata.annotations!['consul.hashicorp.com/connect-inject-status'], 'injected');
  assert.equal(pod.metadata.annotations!['meshgate.io/connect-inject-status'], 'injected');
  assert.equal(pod.metadata.labels!['consul.hashicorp.com/connect-inject-status'], 'injected');
  // defaultAnnotations: the service port is the first container's first port, by name
  assert.equal(pod.metadata.annotations!['consul.hashicorp.com/connect-service-port'], 'http');
  const init = pod.spec.initContainers![0]!;
  assert.equal(init.image, 'meshgate:test');
  const args = init.command!;
  assert.deepEqual(args.slice(0, 3), ['meshgate', 'k8s', 'acl-init']);
  assert.equal(args[args.indexOf('--auth-method') + 1], 'meshgate-k8s');
  assert.equal(args[args.indexOf('--http-addr') + 1], 'meshgate-server.infra.svc:8500');
  assert.equal(args[args.indexOf('--bearer-token-file') + 1], '/var/run/secrets/meshgate/serviceaccount/token');
  assert.equal(init.env!.find((e) => e.name === REDIRECT_TRAFFIC_ENV), undefined, 'no redirect without transparent mode');
  const sidecar = pod.spec.containers[1]!;
  assert.equal(sidecar.args![0], 'proxy');
  assert.equal(sidecar.args![sidecar.args!.indexOf('--token-file') + 1], '/meshgate/connect-inject/acl-token');
  assert.ok(!sidecar.args!.includes('--metrics-addr'));
  assert.deepEqual(pod.spec.volumes!.map((v) => v.name).sort(), ['meshgate-connect-inject-data', 'meshgate-service-account-token']);
});

test('injection happens once: a re-submitted injected pod, or one created under meshgate.io/ keys, is not injected again', async () => {
  const first = await create(ns, 'once', { 'meshgate.io/connect-inject': 'true' });
  assert.equal(first.spec.containers.length, 2);
  // the injected spec submitted again (a controller copying a pod it read back)
  const resubmitted = (await cluster.put('v1', 'pods', {
    metadata: { name: 'once-again', namespace: ns, annotations: first.metadata.annotations!, labels: first.metadata.labels! },
    spec: first.spec,
  })) as Pod;
  assert.deepEqual(resubmitted.spec.containers.map((c) => c.name), ['app', 'meshgate-proxy']);
  assert.deepEqual(resubmitted.spec.initContainers!.map((c) => c.name), ['meshgate-connect-inject-init']);
  assert.equal(resubmitted.spec.volumes!.length, 2);
  // the status annotation alone is enough to stop it
  const marked = await create(ns, 'marked', { 'consul.hashicorp.com/connect-inject': 'true', 'consul.hashicorp.com/connect-inject-status': 'injected' });
  assert.equal(marked.spec.containers.length, 1);
});

test('pods without the annotation, with connect-inject=false, or in a denied namespace are stored untouched', async () => {
  for (const [namespace, name, annotations] of [[ns, 'plain', {}], [ns, 'opted-out', { 'consul.hashicorp.com/connect-inject': 'false' }],
    [denied, 'denied', { 'consul.hashicorp.com/connect-inject': 'true' }]] as const) {
    const pod = await create(namespace, name, annotations);
    assert.deepEqual(pod.spec.containers.map((c) => c.name), ['app'], `${namespace}/${name}`);
    assert.equal(pod.spec.initContainers, undefined);
    assert.equal(pod.metadata.annotations?.['consul.hashicorp.com/connect-inject-status'], undefined);
  }
});

test('transparent proxy: the annotations become the redirect configuration, with the proxy UID, ports and every exclusion', async () => {
  const pod = await create(ns, 'tproxy', {
    'consul.hashicorp.com/connect-inject': 'true',
    'consul.hashicorp.com/transparent-proxy': 'true',
    'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports': '8081, 9090',
    'meshgate.io/transparent-proxy-exclude-outbound-ports': '5432',
    'consul.hashicorp.com/transparent-proxy-exclude-outbound-cidrs': '10.96.0.1/32,192.168.0.0/16',
    'consul.hashicorp.com/transparent-proxy-exclude-uids': '1234',
    'consul.hashicorp.com/enable-metrics': 'true',
    'consul.hashicorp.com/prometheus-scrape-port': '20300',
  });
  assert.equal(pod.metadata.annotations!['consul.hashicorp.com/transparent-proxy-status'], 'enabled');
  const init = pod.spec.initContainers![0]!;
  const json = init.env!.find((e) => e.name === REDIRECT_TRAFFIC_ENV)!.value!;
  assert.deepEqual(JSON.parse(json), {
    ProxyUserID: '5995', ProxyInboundPort: 20000, ProxyOutboundPort: 15001,
    ExcludeInboundPorts: ['20300', '8081', '9090'], ExcludeOutboundPorts: ['5432'],
    ExcludeOutboundCIDRs: ['10.96.0.1/32', '192.168.0.0/16'], ExcludeUIDs: ['5996', '1234'],
  });
  // what acl-init then installs: the same rules as `meshgate connect redirect-traffic` with these flags
  const rules = redirectRules(redirectConfigFromJson(json)).map((r) => r.join(' '));
  for (const expected of ['--dport 8081 -j RETURN', '--dport 9090 -j RETURN', '--dport 20300 -j RETURN', '--dport 5432 -j RETURN', '-d 10.96.0.1/32 -j RETURN',
    '--uid-owner 5995 -j RETURN', '--uid-owner 5996 -j RETURN', '--uid-owner 1234 -j RETURN', '--to-port 15001', '--to-port 20000']) {
    assert.ok(rules.some((r) => r.includes(expected)), `a rule with "${expected}" in:\n${rules.join('\n')}`);
  }
  assert.deepEqual((init as { securityContext?: { capabilities?: unknown } }).securityContext?.capabilities, { add: ['NET_ADMIN'] });
  const sidecar = pod.spec.containers[1]!;
  assert.equal(sidecar.args![sidecar.args!.indexOf('--run-as-uid') + 1], '5995');
  assert.equal(sidecar.args![sidecar.args!.indexOf('--metrics-addr') + 1], '0.0.0.0:20300');
  assert.ok(sidecar.ports!.some((p) => p.containerPort === 20300));
  assert.equal(pod.metadata.annotations!['prometheus.io/port'], '20300');
  // the namespace label turns it on for pods that do not say; the pod's annotation wins over it
  const byLabel = await create(other, 'by-label', { 'consul.hashicorp.com/connect-inject': 'true' });
  assert.ok(byLabel.spec.initContainers![0]!.env!.some((e) => e.name === REDIRECT_TRAFFIC_ENV));
  const optedOut = await create(other, 'opted-out', { 'consul.hashicorp.com/connect-inject': 'true', 'consul.hashicorp.com/transparent-proxy': 'false' });
  assert.ok(!optedOut.spec.initContainers![0]!.env!.some((e) => e.name === REDIRECT_TRAFFIC_ENV));
});

test('sidecar resources come from the sidecar-proxy-* annotations', async () => {
  const pod = await create(ns, 'sized', {
    'consul.hashicorp.com/connect-inject': 'true',
    'consul.hashicorp.com/sidecar-proxy-cpu-request': '100m', 'consul.hashicorp.com/sidecar-proxy-cpu-limit': '1',
    'consul.hashicorp.com/sidecar-proxy-memory-request': '64Mi', 'meshgate.io/sidecar-proxy-memory-limit': '128Mi',
  });
  assert.deepEqual(pod.spec.containers[1]!.resources, { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } });
});

test('a bad annotation value admits the pod uninjected instead of blocking it', async () => {
  for (const [name, annotations] of [['bad-bool', { 'consul.hashicorp.com/connect-inject': 'yes please' }],
    ['bad-port', { 'consul.hashicorp.com/connect-inject': 'true', 'consul.hashicorp.com/transparent-proxy': 'true', 'consul.hashicorp.com/transparent-proxy-exclude-inbound-ports': '80; rm -rf /' }],
    ['bad-quantity', { 'consul.hashicorp.com/connect-inject': 'true', 'consul.hashicorp.com/sidecar-proxy-cpu-limit': 'lots' }]] as const) {
    const pod = await create(ns, name, annotations);
    assert.deepEqual(pod.spec.containers.map((c) => c.name), ['app'], name);
  }
});

/** POSTs a body straight to the webhook, trusting its CA. */
async function review(body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(injector.webhook!.url, { method: 'POST', ca: injector.caBundle, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('malformed or unexpected reviews are answered 200, allowed, with the reason — never a 500', async () => {
  const envelope = (request: unknown) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"apiVersion": "admission.k8s', /not JSON/],
    ['not a review', JSON.stringify({ kind: 'Pod' }), /not an admission\.k8s\.io\/v1 AdmissionReview/],
    ['a Service', envelope({ uid: 'u1', kind: { group: '', version: 'v1', kind: 'Service' }, operation: 'CREATE', object: { metadata: {} } }), /Service is not a Pod/],
    ['an UPDATE', envelope({ uid: 'u2', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'UPDATE', object: appPod(ns, 'x') }), /UPDATE is not CREATE/],
    ['object is a string', envelope({ uid: 'u3', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: 'pod' }), /not a Pod object/],
    ['no containers', envelope({ uid: 'u4', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: ns, object: { metadata: { annotations: { 'consul.hashicorp.com/connect-inject': 'true' } }, spec: {} } }), /no containers/],
    ['a bad annotation', envelope({ uid: 'u5', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: ns, object: appPod(ns, 'x', { 'consul.hashicorp.com/connect-inject': 'maybe' }) }),
      /annotation connect-inject: invalid value "maybe": not a boolean/],
  ];
  for (const [what, body, reason] of cases) {
    const { status, json } = await review(body);
    assert.equal(status, 200, what);
    assert.equal(json.kind, 'AdmissionReview', what);
    assert.equal(json.response.allowed, true, what);
    assert.equal(json.response.patch, undefined, what);
    assert.match(json.response.status.message, reason, what);
  }
  // the uid is echoed whenever the review carried one
  assert.equal((await review(cases[2]![1])).json.response.uid, 'u1');
});
