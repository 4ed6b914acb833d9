/**
 * consul-k8s's CRDs through the CRD controller against the test API server and a real `meshgate server`: a
 * ServiceIntentions manifest from consul-k8s's documentation becomes a `service-intentions` entry with
 * `Synced=True`; a bad one reports `Synced=False` with the server's reason; an entry created outside Kubernetes is
 * neither overwritten nor deleted (`ExternallyManagedConfigError`, the reason and message of consul-k8s's
 * configentry_controller.go); deleting the resource deletes its entry through the finalizer.
 *
 * Through `cluster.ts`, so it runs against a real API server too: the CRDs are installed from the same definitions
 * `meshgate k8s manifests` renders (their schemas decide what a real server keeps of each manifest), and everything
 * the test made is deleted while the controller still runs, so no finalizer is left holding an object.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { CrdController, FINALIZER } from '../../src/kubernetes/crd/controller.ts';
import { crdDefinitions } from '../../src/kubernetes/crd/definitions.ts';
import { CRD_KINDS } from '../../src/kubernetes/crd/kinds.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';
import type { KubeObject } from './apiserver.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const GV = 'consul.hashicorp.com/v1alpha1';
let cluster: TestCluster;
let ns: string;
let server: RunningServer;
let consul: ConsulClient;
let controller: CrdController;

before(async () => {
  cluster = await startTestCluster();
  for (const definition of crdDefinitions()) await cluster.put('apiextensions.k8s.io/v1', 'customresourcedefinitions', definition as unknown as KubeObject);
  // A real API server serves a new CRD's resources once it is Established.
  for (const kind of CRD_KINDS) await waitFor(() => cluster.list(GV, kind.plural).then(() => true, () => false), `${kind.plural} served`);
  ns = await cluster.namespace('crd');
  server = await startTestServer();
  consul = createClient({ address: server.url, env: {} });
  controller = new CrdController({ kubeConfig: cluster.kubeConfig, consul, logger: silentLogger(), datacenter: 'dc1' });
  await controller.start();
  controller.setLeading(true);
});

after(async () => {
  // Deleted while the controller runs, so its finalizer is released and nothing stays Terminating.
  for (const kind of CRD_KINDS) {
    for (const object of await cluster.list(GV, kind.plural, ns).catch(() => [])) {
      await cluster.remove(GV, kind.plural, ns, object.metadata.name!);
      await waitFor(async () => (await cluster.get(GV, kind.plural, ns, object.metadata.name!)) === undefined, `${kind.plural}/${object.metadata.name} released`);
    }
  }
  await controller?.stop();
  await server?.close();
  await cluster?.close();
});

type Synced = { type: string; status: string; reason?: string; message?: string };
const synced = async (plural: string, name: string): Promise<Synced | undefined> => {
  const object = await cluster.get(GV, plural, ns, name) as (KubeObject & { status?: { conditions?: Synced[] } }) | undefined;
  return object?.status?.conditions?.find((c) => c.type === 'Synced');
};

test('a ServiceIntentions manifest becomes a service-intentions entry and reports Synced=True', async () => {
  // consul-k8s's documented example (docs: ServiceIntentions, "L7 intentions").
  await cluster.put(GV, 'serviceintentions', {
    kind: 'ServiceIntentions',
    metadata: { name: 'web-intentions', namespace: ns },
    spec: {
      destination: { name: 'web' },
      sources: [
        { name: 'frontend', action: 'allow' },
        { name: 'admin', permissions: [{ action: 'allow', http: { pathPrefix: '/admin', methods: ['GET'] } }] },
        { name: '*', action: 'deny' },
      ],
    },
  });
  await waitFor(async () => (await synced('serviceintentions', 'web-intentions'))?.status === 'True', 'Synced=True');
  const entry = (await consul.configEntries.get('service-intentions', 'web')).value as unknown as {
    Sources: Array<{ Name: string; Action?: string; Permissions?: Array<{ Action: string; HTTP: { PathPrefix: string; Methods: string[] } }> }>;
    Meta: Record<string, string>;
  };
  assert.deepEqual(entry.Sources.map((s) => [s.Name, s.Action ?? 'L7']), [['frontend', 'allow'], ['admin', 'L7'], ['*', 'deny']]);
  assert.deepEqual(entry.Sources[1]!.Permissions![0]!.HTTP, { PathPrefix: '/admin', Methods: ['GET'] });
  assert.equal(entry.Meta['external-source'], 'kubernetes');
  assert.equal(entry.Meta['consul.hashicorp.com/source-datacenter'], 'dc1');
  assert.ok((await cluster.get(GV, 'serviceintentions', ns, 'web-intentions'))!.metadata.finalizers?.includes(FINALIZER));
});

test('a bad manifest reports Synced=False with the server\'s reason, and writes nothing', async () => {
  await cluster.put(GV, 'servicedefaults', { kind: 'ServiceDefaults', metadata: { name: 'api', namespace: ns }, spec: { protocol: 'http', mutualTLSMode: 'sometimes' } });
  const condition = await waitFor(async () => {
    const c = await synced('servicedefaults', 'api');
    return c?.status === 'False' ? c : undefined;
  }, 'Synced=False');
  assert.equal(condition.reason, 'ConsulAgentError');
  // Consul's ServiceConfigEntry.Validate: MutualTLSMode must be "", "strict" or "permissive".
  assert.match(condition.message ?? '', /MutualTLSMode "sometimes"/);
  assert.equal((await consul.configEntries.get('service-defaults', 'api').catch(() => ({ value: null }))).value, null);
  // Fixed, it syncs.
  await cluster.put(GV, 'servicedefaults', { ...(await cluster.get(GV, 'servicedefaults', ns, 'api'))!, spec: { protocol: 'http' } });
  await waitFor(async () => (await synced('servicedefaults', 'api'))?.status === 'True', 'Synced=True after the fix');
  assert.equal(((await consul.configEntries.get('service-defaults', 'api')).value as unknown as { Protocol: string }).Protocol, 'http');
});

test('an entry created outside Kubernetes is neither overwritten nor deleted', async () => {
  await consul.configEntries.set({ Kind: 'service-defaults', Name: 'billing', Protocol: 'grpc' } as never);
  await cluster.put(GV, 'servicedefaults', { kind: 'ServiceDefaults', metadata: { name: 'billing', namespace: ns }, spec: { protocol: 'http' } });
  const condition = await waitFor(async () => {
    const c = await synced('servicedefaults', 'billing');
    return c?.status === 'False' ? c : undefined;
  }, 'ExternallyManagedConfigError');
  assert.equal(condition.reason, 'ExternallyManagedConfigError');
  assert.equal(condition.message, 'config entry already exists in Consul');
  await cluster.remove(GV, 'servicedefaults', ns, 'billing');
  await waitFor(async () => (await cluster.get(GV, 'servicedefaults', ns, 'billing')) === undefined, 'the resource gone once its finalizer is removed');
  assert.equal(((await consul.configEntries.get('service-defaults', 'billing')).value as unknown as { Protocol: string }).Protocol, 'grpc');
});

test('deleting a resource deletes its entry through the finalizer', async () => {
  await cluster.remove(GV, 'serviceintentions', ns, 'web-intentions');
  // The finalizer holds it (deletionTimestamp set) until the controller has deleted the entry.
  await waitFor(async () => (await cluster.get(GV, 'serviceintentions', ns, 'web-intentions')) === undefined, 'the resource released');
  assert.equal((await consul.configEntries.get('service-intentions', 'web').catch(() => ({ value: null }))).value, null);
});
