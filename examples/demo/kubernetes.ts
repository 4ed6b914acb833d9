/**
 * The demo's Kubernetes half: service D lives "in Kubernetes". Kubernetes itself cannot be installed here, so the
 * API is the test suite's in-process API server (test/kubernetes/apiserver.ts: list/watch, resourceVersion,
 * admission through registered webhooks); everything Meshgate runs against it is the product, as separate processes:
 *
 *   `meshgate k8s connect-inject` — the HTTPS mutating webhook (injects D's pod) and the endpoints controller
 *                                   (registers the pod and its sidecar on `kind-node-virtual`);
 *   `meshgate k8s sync-catalog`  — D's NodePort Service into the catalog as `d-nodeport` (the gateway routes
 *                                   `/k8s` to it from its annotation's tags), and catalog services back into
 *                                   Kubernetes as ExternalName Services in `default`.
 *
 * With no kubelet, no controller manager and no kube-proxy, this module plays their parts and says so: it starts
 * the pod's app and its sidecar (`meshgate proxy --node-name kind-node-virtual`, as the injected container runs it)
 * on the pod's own loopback address, reports the pod Ready, writes the Service's Endpoints and EndpointSlice, and
 * forwards the node port to the pod. D calls B through its sidecar (intention D→B allow), so a request to `/k8s/`
 * crosses the gateway, the node port, D, D's sidecar, B's sidecar, B, and on to C.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, connect, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { FakeApiServer, type KubeObject } from '../../test/kubernetes/apiserver.ts';

export interface KubernetesHalfPorts {
  server: number;
  webhook: number;
  nodePort: number;
  /** D's sidecar upstream to B (pod loopback is the host's here, so it needs its own port). */
  dToB: number;
}

export interface KubernetesHalfContext {
  workdir: string;
  ports: KubernetesHalfPorts;
  managementToken: string;
  agentToken: string;
  hop: string;
  meshgate(name: string, args: string[]): ChildProcess;
  start(name: string, command: string, args: string[]): ChildProcess;
  api(method: string, path: string, body?: unknown): Promise<unknown>;
  until<T>(what: string, fn: () => Promise<T | undefined>, deadlineMs?: number): Promise<T>;
  /** Closed by the demo's stop(). */
  onStop(close: () => Promise<void> | void): void;
}

export interface KubernetesHalf {
  apiUrl: string;
  kubeconfig: string;
}

export const NAMESPACE = 'shop';
export const NODE = 'kind-node';
const APP_PORT = 8080;
const WEBHOOK_CONFIG = 'meshgate-connect-injector';

/** A loopback address of its own for the pod (127.0.0.0/8 is all loopback on Linux), distinct per demo instance. */
export function podAddress(serverPort: number): string {
  return `127.1.${(serverPort >> 8) & 255}.${(serverPort & 255) || 1}`;
}

export async function startKubernetesHalf(ctx: KubernetesHalfContext): Promise<KubernetesHalf> {
  const { ports } = ctx;
  const podIp = podAddress(ports.server);
  const kube = new FakeApiServer();
  const apiUrl = await kube.start();
  ctx.onStop(() => kube.close());
  const kubeconfig = join(ctx.workdir, 'kubeconfig.yaml');
  await writeFile(kubeconfig, `apiVersion: v1
kind: Config
clusters:
  - name: demo
    # client-node refuses plain HTTP unless TLS verification is off; the API here is on loopback.
    cluster: { server: "${apiUrl}", insecure-skip-tls-verify: true }
users:
  - name: demo
    user: {}
contexts:
  - name: demo
    context: { cluster: demo, user: demo }
current-context: demo
`);
  const put = (apiVersion: string, resource: string, object: KubeObject): KubeObject => kube.put(apiVersion, resource, object);

  // The cluster: one node, the app namespace, and the webhook configuration the injector writes its CA into.
  put('v1', 'nodes', { metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: NODE }] } });
  put('v1', 'namespaces', { metadata: { name: NAMESPACE, labels: { 'kubernetes.io/metadata.name': NAMESPACE } } });
  put('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', {
    metadata: { name: WEBHOOK_CONFIG },
    webhooks: [{
      name: 'inject.meshgate.io', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
      clientConfig: { url: `https://127.0.0.1:${ports.webhook}/mutate` },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } },
    }],
  });

  // Meshgate's Kubernetes components (the management token stands in for the tokens server-acl-init would issue).
  const http = ['--http-addr', `127.0.0.1:${ports.server}`, '--token', ctx.managementToken];
  const caFile = join(ctx.workdir, 'webhook-ca.pem');
  ctx.meshgate('k8s-connect-inject', ['k8s', 'connect-inject', '--kubeconfig', kubeconfig, ...http,
    '--listen', `127.0.0.1:${ports.webhook}`, '--tls-san', '127.0.0.1', '--ca-bundle-file', caFile, '--webhook-config-name', WEBHOOK_CONFIG,
    '--enable-endpoints-controller', 'true', '--image', 'meshgate:demo', '--log-level', 'warn']);
  ctx.meshgate('k8s-sync-catalog', ['k8s', 'sync-catalog', '--kubeconfig', kubeconfig, ...http,
    '--to-k8s', 'true', '--k8s-write-namespace', 'default', '--consul-write-interval', '10s', '--log-level', 'warn']);
  await ctx.until('the connect injector\'s webhook certificate', async () => (existsSync(caFile) && (await readFile(caFile, 'utf8')).includes('BEGIN') ? true : undefined));
  await ctx.until('the connect injector to listen', () => new Promise<true | undefined>((resolve) => {
    const s = connect(ports.webhook, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(undefined));
  }));

  // D's Service (NodePort; its annotations name the synced service and the gateway's route) and intention D → B.
  put('v1', 'services', {
    metadata: {
      name: 'd', namespace: NAMESPACE,
      annotations: {
        'consul.hashicorp.com/service-name': 'd-nodeport',
        'consul.hashicorp.com/service-tags': 'traefik.enable=true,traefik.http.routers.demo-k8s.rule=PathPrefix(`/k8s`),traefik.http.routers.demo-k8s.middlewares=demo-strip@file',
      },
    },
    spec: { type: 'NodePort', selector: { app: 'd' }, ports: [{ name: 'http', port: 80, targetPort: APP_PORT, nodePort: ports.nodePort, protocol: 'TCP' }] },
  });
  await ctx.api('PUT', '/v1/connect/intentions/exact?source=d&destination=b', { Action: 'allow', Description: 'demo: d (Kubernetes) → b' });

  // The pod, created through the API so admission runs: it must come back injected.
  const created = await kubeRequest(apiUrl, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: 'd-0', namespace: NAMESPACE, labels: { app: 'd' },
      annotations: {
        'consul.hashicorp.com/connect-inject': 'true',
        'consul.hashicorp.com/connect-service-port': String(APP_PORT),
        'consul.hashicorp.com/connect-service-upstreams': `b:${ports.dToB}`,
        'consul.hashicorp.com/service-meta-version': '1.0.0',
      },
    },
    spec: { nodeName: NODE, containers: [{ name: 'app', image: 'meshgate-demo/hop:1', ports: [{ containerPort: APP_PORT, name: 'http' }] }] },
  }) as KubeObject & { spec: { containers: Array<{ name: string }>; initContainers?: Array<{ name: string }> } };
  const containers = created.spec.containers.map((c) => c.name);
  if (!containers.includes('meshgate-proxy')) throw new Error(`demo: the pod came back without its sidecar (containers: ${containers.join(', ')})`);

  // The kubelet's part: run the pod's containers on its address, report it Ready.
  ctx.start('pod-d-app', process.execPath, [ctx.hop, '--name', 'd', '--host', podIp, '--port', String(APP_PORT), '--next', `http://127.0.0.1:${ports.dToB}/`]);
  const pod = kube.get('v1', 'pods', NAMESPACE, 'd-0')!;
  put('v1', 'pods', {
    ...pod,
    status: {
      phase: 'Running', podIP: podIp, podIPs: [{ ip: podIp }], hostIP: '127.0.0.1',
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'ContainersReady', status: 'True' }],
    },
  });
  // The endpoint and EndpointSlice controllers' part: the Service's ready address.
  const targetRef = { kind: 'Pod', name: 'd-0', namespace: NAMESPACE, uid: pod.metadata.uid };
  put('v1', 'endpoints', {
    metadata: { name: 'd', namespace: NAMESPACE },
    subsets: [{ addresses: [{ ip: podIp, nodeName: NODE, targetRef }], ports: [{ name: 'http', port: APP_PORT, protocol: 'TCP' }] }],
  });
  put('discovery.k8s.io/v1', 'endpointslices', {
    metadata: { name: 'd-demo', namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': 'd' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [podIp], conditions: { ready: true }, nodeName: NODE, targetRef }],
    ports: [{ name: 'http', port: APP_PORT, protocol: 'TCP' }],
  });

  // The sidecar, once the endpoints controller has registered it — started as the injected container starts it.
  const proxyId = await ctx.until('the endpoints controller to register D\'s sidecar', async () => {
    const entries = (await ctx.api('GET', '/v1/catalog/service/d-sidecar-proxy')) as Array<{ ServiceID: string }>;
    return entries[0]?.ServiceID;
  });
  ctx.meshgate('pod-d-sidecar', ['proxy', '--proxy-id', proxyId, '--node-name', `${NODE}-virtual`,
    '--http-addr', `127.0.0.1:${ports.server}`, '--token', ctx.agentToken, '--log-level', 'warn']);

  // kube-proxy's part: the node port forwards to the pod.
  const nodePort: NetServer = createNetServer((client) => {
    const upstream = connect(APP_PORT, podIp);
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve, reject) => {
    nodePort.once('error', reject);
    nodePort.listen(ports.nodePort, '127.0.0.1', () => resolve());
  });
  ctx.onStop(() => new Promise<void>((resolve) => nodePort.close(() => resolve())));
  return { apiUrl, kubeconfig };
}

/** One JSON call to the API server, failing with its Status message. */
async function kubeRequest(apiUrl: string, method: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${apiUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`demo: ${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}
