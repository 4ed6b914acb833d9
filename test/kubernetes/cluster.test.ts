/** The test-cluster harness itself: what the end-to-end suites rely on works on the API server in use. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestCluster, type TestCluster } from './cluster.ts';

let cluster: TestCluster;
before(async () => {
  cluster = await startTestCluster();
});
after(() => cluster.close());

test('a namespace comes with its default ServiceAccount; pods are created, their status replaced, listed and deleted', async () => {
  const ns = await cluster.namespace('harness');
  assert.ok(await cluster.get('v1', 'serviceaccounts', ns, 'default'));
  const pod = await cluster.put('v1', 'pods', {
    metadata: { name: 'p1', namespace: ns, labels: { app: 'x' } },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'app:1' }] },
  });
  assert.equal(pod.metadata.name, 'p1');
  await cluster.putStatus('v1', 'pods', { metadata: { name: 'p1', namespace: ns }, status: { phase: 'Running', podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'True' }] } });
  const stored = await cluster.get('v1', 'pods', ns, 'p1');
  assert.equal((stored as any).status.podIP, '10.0.0.9');
  assert.equal((stored as any).spec.containers[0].image, 'app:1', 'a status write leaves the spec alone');
  assert.deepEqual((await cluster.list('v1', 'pods', ns)).map((p) => p.metadata.name), ['p1']);
  // put on an existing object replaces it with the current resourceVersion, not a conflict
  await cluster.put('v1', 'pods', { metadata: { name: 'p1', namespace: ns, labels: { app: 'y' } }, spec: (stored as any).spec });
  assert.equal((await cluster.get('v1', 'pods', ns, 'p1'))!.metadata.labels!['app'], 'y');
  await cluster.remove('v1', 'pods', ns, 'p1');
  assert.equal(await cluster.get('v1', 'pods', ns, 'p1'), undefined);
  await assert.rejects(cluster.request('GET', `/api/v1/namespaces/${ns}/pods/p1`), /404/);
});
