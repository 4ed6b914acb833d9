/**
 * consul-k8s's CRDs through the CRD controller against the test API server and a real `meshgate server`: a
 * ServiceIntentions manifest from consul-k8s's documentation becomes a `service-intentions` entry with
 * `Synced=True`; a bad one reports `Synced=False` with the server's reason; an entry created outside Kubernetes is
 * neither overwritten nor deleted (`ExternallyManagedConfigError`, the reason and message of consul-k8s's
 * configentry_controller.go); deleting the resource deletes its entry through the finalizer.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { CrdController, FINALIZER } from '../../src/kubernetes/crd/controller.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';
import { FakeApiServer, type KubeObject } from './apiserver.ts';

const GV = 'consul.hashicorp.com/v1alpha1';
const api = new FakeApiServer();
let server: RunningServer;
let consul: ConsulClient;
let controller: CrdController;

before(async () => {
  const url = await api.start();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser({ name: 'test', server: url, skipTLSVerify: true }, { name: 'test' });
  server = await startTestServer();
  consul = createClient({ address: server.url, env: {} });
  controller = new CrdController({ kubeConfig, consul, logger: silentLogger(), datacenter: 'dc1' });
  await controller.start();
  controller.setLeading(true);
});

after(async () => {
  await controller?.stop();
  await server?.close();
  await api.close();
});

const synced = (plural: string, name: string) => {
  const object = api.get(GV, plural, 'default', name) as (KubeObject & { status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } }) | undefined;
  return object?.status?.conditions?.find((c) => c.type === 'Synced');
};

test('a ServiceIntentions manifest becomes a service-intentions entry and reports Synced=True', async () => {
  // consul-k8s's documented example (docs: ServiceIntentions, "L7 intentions").
  api.put(GV, 'serviceintentions', {
    metadata: { name: 'web-intentions', namespace: 'default' },
    spec: {
      destination: { name: 'web' },
      sources: [
        { name: 'frontend', action: 'allow' },
        { name: 'admin', permissions: [{ action: 'allow', http: { pathPrefix: '/admin', methods: ['GET'] } }] },
        { name: '*', action: 'deny' },
      ],
    },
  });
  await waitFor(() => synced('serviceintentions', 'web-intentions')?.status === 'True', 'Synced=True');
  const entry = (await consul.configEntries.get('service-intentions', 'web')).value as unknown as {
    Sources: Array<{ Name: string; Action?: string; Permissions?: Array<{ Action: string; HTTP: { PathPrefix: string; Methods: string[] } }> }>;
    Meta: Record<string, string>;
  };
  assert.deepEqual(entry.Sources.map((s) => [s.Name, s.Action ?? 'L7']), [['frontend', 'allow'], ['admin', 'L7'], ['*', 'deny']]);
  assert.deepEqual(entry.Sources[1]!.Permissions![0]!.HTTP, { PathPrefix: '/admin', Methods: ['GET'] });
  assert.equal(entry.Meta['external-source'], 'kubernetes');
  assert.equal(entry.Meta['consul.hashicorp.com/source-datacenter'], 'dc1');
  assert.ok(api.get(GV, 'serviceintentions', 'default', 'web-intentions')!.metadata.finalizers?.includes(FINALIZER));
});

test('a bad manifest reports Synced=False with the server\'s reason, and writes nothing', async () => {
  api.put(GV, 'servicedefaults', { metadata: { name: 'api', namespace: 'default' }, spec: { protocol: 'http', mutualTLSMode: 'sometimes' } });
  const condition = await waitFor(() => {
    const c = synced('servicedefaults', 'api');
    return c?.status === 'False' ? c : undefined;
  }, 'Synced=False');
  assert.equal(condition.reason, 'ConsulAgentError');
  // Consul's ServiceConfigEntry.Validate: MutualTLSMode must be "", "strict" or "permissive".
  assert.match(condition.message ?? '', /MutualTLSMode "sometimes"/);
  assert.equal((await consul.configEntries.get('service-defaults', 'api').catch(() => ({ value: null }))).value, null);
  // Fixed, it syncs.
  api.put(GV, 'servicedefaults', { ...api.get(GV, 'servicedefaults', 'default', 'api')!, spec: { protocol: 'http' } });
  await waitFor(() => synced('servicedefaults', 'api')?.status === 'True', 'Synced=True after the fix');
  assert.equal(((await consul.configEntries.get('service-defaults', 'api')).value as unknown as { Protocol: string }).Protocol, 'http');
});

test('an entry created outside Kubernetes is neither overwritten nor deleted', async () => {
  await consul.configEntries.set({ Kind: 'service-defaults', Name: 'billing', Protocol: 'grpc' } as never);
  api.put(GV, 'servicedefaults', { metadata: { name: 'billing', namespace: 'default' }, spec: { protocol: 'http' } });
  const condition = await waitFor(() => {
    const c = synced('servicedefaults', 'billing');
    return c?.status === 'False' ? c : undefined;
  }, 'ExternallyManagedConfigError');
  assert.equal(condition.reason, 'ExternallyManagedConfigError');
  assert.equal(condition.message, 'config entry already exists in Consul');
  api.remove(GV, 'servicedefaults', 'default', 'billing');
  await waitFor(() => api.get(GV, 'servicedefaults', 'default', 'billing') === undefined, 'the resource gone once its finalizer is removed');
  assert.equal(((await consul.configEntries.get('service-defaults', 'billing')).value as unknown as { Protocol: string }).Protocol, 'grpc');
});

test('deleting a resource deletes its entry through the finalizer', async () => {
  api.remove(GV, 'serviceintentions', 'default', 'web-intentions');
  // The finalizer holds it (deletionTimestamp set) until the controller has deleted the entry.
  await waitFor(() => api.get(GV, 'serviceintentions', 'default', 'web-intentions') === undefined, 'the resource released');
  assert.equal((await consul.configEntries.get('service-intentions', 'web').catch(() => ({ value: null }))).value, null);
});
