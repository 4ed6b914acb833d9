/**
 * The test API server behaves as the real one where controllers depend on it, checked through the real
 * `@kubernetes/client-node` code the product uses: typed calls, optimistic concurrency, and an informer's
 * list-then-watch that survives a compacted history (410 Gone → relist, as client-node's ListWatch.doneHandler does).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig, makeInformer, type V1Service } from '@kubernetes/client-node';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { FakeApiServer } from './apiserver.ts';

const api = new FakeApiServer();
let core: CoreV1Api;
let kubeConfig: KubeConfig;

before(async () => {
  const server = await api.start();
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser({ name: 'test', server, skipTLSVerify: true }, { name: 'test' });
  core = kubeConfig.makeApiClient(CoreV1Api);
});
after(() => api.close());

const service = (name: string, labels: Record<string, string> = {}): V1Service => ({
  metadata: { name, labels },
  spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] },
});

test('create, conflict on a stale resourceVersion, merge patch, delete — each write bumps resourceVersion', async () => {
  const created = await core.createNamespacedService({ namespace: 'default', body: service('web') });
  assert.ok(Number(created.metadata!.resourceVersion) > 0);
  await assert.rejects(core.createNamespacedService({ namespace: 'default', body: service('web') }), (err: { code?: number }) => err.code === 409);
  const replaced = await core.replaceNamespacedService({ namespace: 'default', name: 'web', body: { ...created, metadata: { ...created.metadata, labels: { a: '1' } } } });
  assert.ok(Number(replaced.metadata!.resourceVersion) > Number(created.metadata!.resourceVersion));
  // the same update again, from the now stale copy, is a conflict
  await assert.rejects(core.replaceNamespacedService({ namespace: 'default', name: 'web', body: created }), (err: { code?: number }) => err.code === 409);
  await core.deleteNamespacedService({ namespace: 'default', name: 'web' });
  await assert.rejects(core.readNamespacedService({ namespace: 'default', name: 'web' }), (err: { code?: number }) => err.code === 404);
});

test('an informer lists, watches, and relists after a 410 without losing or duplicating objects', async () => {
  const informer = makeInformer(kubeConfig, '/api/v1/namespaces/sync/services', () => core.listNamespacedService({ namespace: 'sync' }));
  const seen = new Map<string, number>();
  informer.on('add', (s) => seen.set(s.metadata!.name!, (seen.get(s.metadata!.name!) ?? 0) + 1));
  informer.on('delete', (s) => seen.delete(s.metadata!.name!));
  // client-node's informers stop on a connection error and leave restarting to the caller (its documented pattern).
  let stopping = false;
  informer.on('error', () => setTimeout(() => void (stopping || informer.start()), 100));
  await core.createNamespacedService({ namespace: 'sync', body: service('before') });
  await informer.start();
  try {
    await waitFor(() => seen.has('before'), 'the listed service');
    await core.createNamespacedService({ namespace: 'sync', body: service('during') });
    await waitFor(() => seen.has('during'), 'the watched service');
    // Compact the history and break the watch: the informer's resume from its last resourceVersion gets 410 and
    // must relist; meanwhile one object appears and one goes.
    api.compact();
    api.remove('v1', 'services', 'sync', 'before');
    api.put('v1', 'services', { metadata: { name: 'after', namespace: 'sync' }, spec: {} });
    await api.close();
    await api.start().then((url) => assert.ok(url));
    await waitFor(() => seen.has('after') && !seen.has('before'), 'the relist after 410', { deadlineMs: 60_000 });
    assert.deepEqual([...seen.keys()].sort(), ['after', 'during']);
    assert.equal(seen.get('during'), 1);
  } finally {
    stopping = true;
    await informer.stop();
  }
});
