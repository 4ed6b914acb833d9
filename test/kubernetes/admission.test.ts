/**
 * The test API server runs mutating admission and graceful pod deletion as kube-apiserver does (checked against
 * Kubernetes' "Dynamic Admission Control" page and apiserver's webhook dispatcher / errors: ToStatusErr makes a denial
 * at least 400 with `admission webhook "<name>" denied the request`, a failed call under failurePolicy Fail is 500
 * `failed calling webhook`; registry/core/pod's graceful delete), through real `@kubernetes/client-node` calls.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { generateWebhookCertificate, type WebhookCertificate } from '../../src/kubernetes/inject/certs.ts';
import { FakeApiServer, type KubeObject } from './apiserver.ts';

const api = new FakeApiServer();
let core: CoreV1Api;
let cert: WebhookCertificate;
let otherCa: WebhookCertificate;
let webhook: Server;
let webhookUrl: string;
const reviews: Array<{ request: { uid: string; name: string; namespace: string; operation: string; object: KubeObject } }> = [];
/** What the test webhook answers; set per test. */
let answer: (review: { request: { uid: string } }) => unknown = (review) => ({ uid: review.request.uid, allowed: true });

before(async () => {
  const url = await api.start();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser({ name: 'test', server: url, skipTLSVerify: true }, { name: 'test' });
  core = kubeConfig.makeApiClient(CoreV1Api);
  cert = await generateWebhookCertificate(['hook.infra.svc', '127.0.0.1']);
  otherCa = await generateWebhookCertificate(['elsewhere']);
  webhook = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      reviews.push(review);
      const response = answer(review);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  webhookUrl = `https://127.0.0.1:${(webhook.address() as AddressInfo).port}/mutate`;
});
after(async () => {
  webhook?.closeAllConnections();
  webhook?.close();
  await api.close();
});

const caBundle = (c: WebhookCertificate) => Buffer.from(c.caBundle).toString('base64');
const patch = (ops: unknown[]) => Buffer.from(JSON.stringify(ops)).toString('base64');

function register(webhooks: Array<Record<string, unknown>>): void {
  api.put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', {
    metadata: { name: 'test-injector' },
    webhooks: webhooks.map((w, i) => ({
      name: `hook-${i}.meshgate.io`, admissionReviewVersions: ['v1'], sideEffects: 'None',
      clientConfig: { url: webhookUrl, caBundle: caBundle(cert) },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      ...w,
    })),
  });
}

const pod = (name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}) => ({
  metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'app:1' }], ...spec },
});

test('a matching webhook is called over HTTPS before the pod is stored, and its JSONPatch is what gets stored', async () => {
  reviews.length = 0;
  register([{}]);
  answer = (review) => ({
    uid: review.request.uid, allowed: true, patchType: 'JSONPatch',
    patch: patch([{ op: 'add', path: '/metadata/annotations', value: { mutated: 'yes' } }, { op: 'add', path: '/spec/containers/-', value: { name: 'side', image: 's:1' } }]),
  });
  const created = await core.createNamespacedPod({ namespace: 'default', body: pod('p1') });
  assert.equal(created.metadata!.annotations!['mutated'], 'yes');
  assert.deepEqual(created.spec!.containers.map((c) => c.name), ['app', 'side']);
  assert.deepEqual((api.get('v1', 'pods', 'default', 'p1')!['spec'] as { containers: Array<{ name: string }> }).containers.map((c) => c.name), ['app', 'side']);
  assert.equal(reviews.length, 1);
  const request = reviews[0]!.request;
  assert.equal(request.operation, 'CREATE');
  assert.equal(request.namespace, 'default');
  assert.equal(request.object.metadata.name, 'p1');
  // a generateName pod reaches the webhook without a name (names are generated after admission)
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { generateName: 'gen-' }, spec: { containers: [{ name: 'a', image: 'a' }] } } });
  assert.equal(reviews[1]!.request.name, '');
  // other resources and other operations are not sent
  await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } } });
  await core.patchNamespacedPod({ namespace: 'default', name: 'p1', body: [{ op: 'add', path: '/metadata/labels/x', value: '1' }] });
  assert.equal(reviews.length, 2);
});

test('namespaceSelector and objectSelector decide which pods are sent', async () => {
  reviews.length = 0;
  answer = (review) => ({ uid: review.request.uid, allowed: true });
  await core.createNamespace({ body: { metadata: { name: 'labelled', labels: { mesh: 'on' } } } });
  register([{
    namespaceSelector: { matchExpressions: [{ key: 'mesh', operator: 'In', values: ['on'] }] },
    objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] },
  }]);
  await core.createNamespacedPod({ namespace: 'default', body: pod('unlabelled-ns') });
  await core.createNamespacedPod({ namespace: 'labelled', body: pod('skipped', { skip: 'yes' }) });
  await core.createNamespacedPod({ namespace: 'labelled', body: pod('sent') });
  assert.deepEqual(reviews.map((r) => r.request.object.metadata.name), ['sent']);
  // kubernetes.io/metadata.name is set on every namespace, as real API servers do
  register([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'labelled' } } }]);
  await core.createNamespacedPod({ namespace: 'labelled', body: pod('by-name') });
  assert.deepEqual(reviews.map((r) => r.request.object.metadata.name), ['sent', 'by-name']);
});

test('a denial rejects the create with the webhook\'s message; nothing is stored', async () => {
  register([{}]);
  answer = (review) => ({ uid: review.request.uid, allowed: false, status: { message: 'no pods today' } });
  await assert.rejects(core.createNamespacedPod({ namespace: 'default', body: pod('denied') }), (err: { code?: number; body?: string }) => {
    assert.equal(err.code, 400);
    assert.match(String(err.body), /admission webhook \\"hook-0\.meshgate\.io\\" denied the request: no pods today/);
    return true;
  });
  assert.equal(api.get('v1', 'pods', 'default', 'denied'), undefined);
});

test('failurePolicy: an untrusted certificate, a wrong uid or an unreachable webhook fails the create under Fail and is skipped under Ignore', async () => {
  answer = (review) => ({ uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: patch([{ op: 'add', path: '/metadata/labels/seen', value: 'yes' }]) });
  // the server certificate is checked against caBundle, and only against it
  register([{ clientConfig: { url: webhookUrl, caBundle: caBundle(otherCa) } }]);
  await assert.rejects(core.createNamespacedPod({ namespace: 'default', body: pod('bad-ca') }), (err: { code?: number; body?: string }) => {
    assert.equal(err.code, 500);
    assert.match(String(err.body), /failed calling webhook/);
    return true;
  });
  register([{ clientConfig: { url: webhookUrl, caBundle: caBundle(otherCa) }, failurePolicy: 'Ignore' }]);
  const ignored = await core.createNamespacedPod({ namespace: 'default', body: pod('bad-ca-ignored') });
  assert.equal(ignored.metadata!.labels?.['seen'], undefined, 'an ignored webhook does not mutate');
  // a response for another request
  register([{}]);
  answer = () => ({ uid: 'someone-else', allowed: true });
  await assert.rejects(core.createNamespacedPod({ namespace: 'default', body: pod('wrong-uid') }), (err: { code?: number }) => err.code === 500);
  // nothing listening
  register([{ clientConfig: { url: 'https://127.0.0.1:1/mutate', caBundle: caBundle(cert) } }]);
  await assert.rejects(core.createNamespacedPod({ namespace: 'default', body: pod('unreachable') }), (err: { code?: number }) => err.code === 500);
  register([{ clientConfig: { url: 'https://127.0.0.1:1/mutate', caBundle: caBundle(cert) }, failurePolicy: 'Ignore' }]);
  assert.ok(await core.createNamespacedPod({ namespace: 'default', body: pod('unreachable-ignored') }));
});

test('a Service reference is reached at its mapped URL and the certificate must name <service>.<namespace>.svc', async () => {
  reviews.length = 0;
  answer = (review) => ({ uid: review.request.uid, allowed: true });
  api.mapService('infra', 'hook', `https://127.0.0.1:${new URL(webhookUrl).port}`);
  api.mapService('infra', 'other', `https://127.0.0.1:${new URL(webhookUrl).port}`);
  register([{ clientConfig: { service: { namespace: 'infra', name: 'hook', path: '/mutate' }, caBundle: caBundle(cert) } }]);
  await core.createNamespacedPod({ namespace: 'default', body: pod('via-service') });
  assert.equal(reviews.length, 1);
  // the same listener under a name its certificate does not carry
  register([{ clientConfig: { service: { namespace: 'infra', name: 'other', path: '/mutate' }, caBundle: caBundle(cert) } }]);
  await assert.rejects(core.createNamespacedPod({ namespace: 'default', body: pod('wrong-name') }), (err: { code?: number }) => err.code === 500);
  api.remove('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', undefined, 'test-injector');
});

test('a pod bound to a node is deleted gracefully: deletionTimestamp first, gone after gracePeriodSeconds=0', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: pod('bound', {}, { nodeName: 'node-a', terminationGracePeriodSeconds: 45 }) });
  const marked = await core.deleteNamespacedPod({ namespace: 'default', name: 'bound' }) as unknown as KubeObject;
  assert.ok(marked.metadata.deletionTimestamp, 'the delete answers the pod, marked');
  const stored = api.get('v1', 'pods', 'default', 'bound')!;
  assert.equal(stored.metadata['deletionGracePeriodSeconds'], 45);
  assert.ok(new Date(stored.metadata.deletionTimestamp!).getTime() > Date.now() + 30_000, 'deletionTimestamp is now + the grace period');
  // a delete with a longer grace period changes nothing; a shorter one shortens it
  await core.deleteNamespacedPod({ namespace: 'default', name: 'bound', gracePeriodSeconds: 60 });
  assert.equal(api.get('v1', 'pods', 'default', 'bound')!.metadata['deletionGracePeriodSeconds'], 45);
  await core.deleteNamespacedPod({ namespace: 'default', name: 'bound', gracePeriodSeconds: 5 });
  assert.equal(api.get('v1', 'pods', 'default', 'bound')!.metadata['deletionGracePeriodSeconds'], 5);
  // what the kubelet sends once the containers stopped
  await core.deleteNamespacedPod({ namespace: 'default', name: 'bound', gracePeriodSeconds: 0 });
  assert.equal(api.get('v1', 'pods', 'default', 'bound'), undefined);
  // an unbound pod goes at once
  await core.createNamespacedPod({ namespace: 'default', body: pod('unbound') });
  await core.deleteNamespacedPod({ namespace: 'default', name: 'unbound' });
  assert.equal(api.get('v1', 'pods', 'default', 'unbound'), undefined);
});
