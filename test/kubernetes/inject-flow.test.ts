/**
 * The injected pod's whole path, as consul-k8s's connect-inject runs it: `meshgate k8s connect-inject` with its
 * webhook and endpoints controller, a real `meshgate server` with ACLs on and the `kubernetes` auth method. A pod
 * created with the annotation comes back injected; once it runs behind a Service the endpoints controller registers
 * it on `<node>-virtual`; the init container's own command — taken from the injected pod, with `$(VAR)` expanded from
 * the pod as the kubelet does and its volumes mapped to a temporary directory — logs in to the service account's
 * identity and finds the proxy ID the sidecar will run with; deleting the pod removes the instance and the token
 * acl-init made (the login's `pod=<ns>/<name>` meta is what ties them, consul-k8s's endpoints controller contract).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { defaultInjectorConfig } from '../../src/kubernetes/inject/config.ts';
import { runConnectInject, type RunningConnectInject } from '../../src/kubernetes/inject/run.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { tempDir } from '../helpers/server.ts';
import type { KubeObject } from './apiserver.ts';
import { consulCall, kubernetesAuthMethod, reviewer, serviceAccount, tokenFor } from './auth-setup.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const ROOT: string = randomUUID();
let cluster: TestCluster;
let server: RunningServer;
let consul: ConsulClient;
let injector: RunningConnectInject;
let ns: string;
let k8sNode: string;
const WEBHOOK_CONFIG = `meshgate-inject-flow-${process.pid}`;
const root = tempDir('meshgate-inject-flow-');

before(async () => {
  cluster = await startTestCluster(process.env, { tls: true });
  server = await startServer(
    { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: ROOT } } },
    silentLogger(),
  );
  consul = createClient({ address: server.url, token: ROOT, env: {} });
  ns = await cluster.namespace('flow');
  k8sNode = `${ns}-node`;
  await cluster.put('v1', 'nodes', { metadata: { name: k8sNode }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.20' }] } });
  await serviceAccount(cluster, ns, 'web');
  const method = await kubernetesAuthMethod(cluster, server.url, ROOT, 'k8s', await reviewer(cluster, ns, 'reviewer'), ns);
  assert.equal(method.status, 200, method.text);
  await cluster.put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', {
    metadata: { name: WEBHOOK_CONFIG },
    webhooks: [{
      name: 'inject.meshgate.io', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail',
      clientConfig: { url: 'https://127.0.0.1:1/mutate' },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
    }],
  });
  injector = await runConnectInject({
    kubeConfig: cluster.kubeConfig, consul, logger: silentLogger(),
    config: defaultInjectorConfig({ image: 'meshgate:test', allowNamespaces: [ns], authMethod: 'k8s', httpAddr: 'meshgate-server:8500' }),
    enableWebhook: true, enableCrdController: false, enableEndpointsController: true,
    host: '127.0.0.1', port: 0, certNames: ['127.0.0.1'], webhookConfigName: WEBHOOK_CONFIG, leaseNamespace: ns,
  });
  const config = (await cluster.get('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', undefined, WEBHOOK_CONFIG))!;
  (config['webhooks'] as Array<{ clientConfig: { url: string } }>)[0]!.clientConfig.url = injector.webhook!.url;
  await cluster.put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', config);
  await cluster.put('v1', 'services', { metadata: { name: 'web', namespace: ns }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
});

after(async () => {
  await cluster?.remove('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', undefined, WEBHOOK_CONFIG);
  await injector?.close();
  await server?.close();
  await cluster?.close();
  root.remove();
});

/** The kubelet's `$(VAR)` expansion from the container's env (fieldRef values taken from the pod). */
function expand(args: string[], pod: KubeObject): string[] {
  const values: Record<string, string> = { POD_NAME: pod.metadata.name!, POD_NAMESPACE: pod.metadata.namespace!, NODE_NAME: (pod['spec'] as { nodeName: string }).nodeName };
  return args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_m, name: string) => values[name] ?? `$(${name})`));
}

test('an annotated pod is injected, registered by the endpoints controller, and its init container logs in and finds its proxy', async () => {
  const created = await cluster.put('v1', 'pods', {
    metadata: { name: 'web-1', namespace: ns, annotations: { 'consul.hashicorp.com/connect-inject': 'true' } },
    spec: { nodeName: k8sNode, serviceAccountName: 'web', containers: [{ name: 'app', image: 'web:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
  });
  const init = (created['spec'] as { initContainers: Array<{ command: string[] }> }).initContainers[0]!;
  await cluster.putStatus('v1', 'pods', { ...created, status: { phase: 'Running', podIP: '10.9.0.5', hostIP: '192.0.2.20', conditions: [{ type: 'Ready', status: 'True' }] } });
  await cluster.put('v1', 'endpoints', {
    metadata: { name: 'web', namespace: ns },
    subsets: [{ addresses: [{ ip: '10.9.0.5', nodeName: k8sNode, targetRef: { kind: 'Pod', name: 'web-1', namespace: ns } }], ports: [{ name: 'http', port: 8080 }] }],
  });
  await waitFor(async () => (await consul.health.service('web')).value.some((e) => e.Service.ID === 'web-1-web'), 'web-1 registered by the endpoints controller');

  // The init container as the kubelet would run it: its volumes under `root`, the projected token from TokenRequest.
  const command = expand(init.command, created).map((a) => (a.startsWith('/var/run/secrets/meshgate/') || a.startsWith('/meshgate/') ? join(root.path, a) : a));
  command[command.indexOf('--http-addr') + 1] = server.url;
  const at = (flag: string) => command[command.indexOf(flag) + 1]!;
  for (const flag of ['--bearer-token-file', '--token-sink-file', '--proxy-id-file']) mkdirSync(dirname(at(flag)), { recursive: true });
  writeFileSync(at('--bearer-token-file'), await tokenFor(cluster, ns, 'web', { name: 'web-1', uid: created.metadata.uid! }));
  let err = '';
  const io: CliIO = { out: () => undefined, err: (t) => void (err += t), env: {}, readStdin: async () => Buffer.alloc(0) };
  assert.equal(command[0], 'meshgate');
  assert.equal(await main(command.slice(1), io), 0, err);

  assert.equal(readFileSync(at('--proxy-id-file'), 'utf8'), 'web-1-web-sidecar-proxy');
  const secret = readFileSync(at('--token-sink-file'), 'utf8');
  const self = await consulCall(server.url, 'GET', '/v1/acl/token/self', undefined, secret);
  assert.equal(self.status, 200, self.text);
  assert.deepEqual(self.body.ServiceIdentities, [{ ServiceName: 'web' }]);
  assert.equal(self.body.Description, `token created via login: {"pod":"${ns}/web-1"}`);

  // The pod goes: its instance and the token its init container made go with it.
  await cluster.remove('v1', 'pods', ns, 'web-1');
  await cluster.put('v1', 'endpoints', { metadata: { name: 'web', namespace: ns }, subsets: [] });
  await waitFor(async () => (await consul.health.service('web')).value.length === 0, 'web-1 deregistered');
  await waitFor(async () => (await consulCall(server.url, 'GET', '/v1/acl/token/self', undefined, secret)).status === 403, 'the login token deleted');
});
