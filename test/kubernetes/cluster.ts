/**
 * The Kubernetes API the end-to-end tests run against: the in-process `FakeApiServer` by default, or a real API
 * server when `MESHGATE_TEST_KUBECONFIG` names a kubeconfig (`npm run test:k8s`). Tests set up their world —
 * nodes, pods with their status, services, endpoints — through this object's HTTP calls, never through the fake's
 * in-memory shortcuts, so the same test runs on both; what only the fake can do (compact its watch history,
 * restart, hook TokenReviews) is reached through `fake`, and a test that needs it skips itself on a real cluster
 * with a message saying why.
 *
 * A bare kube-apiserver has no controller manager: no `default` ServiceAccount appears in a new namespace and
 * nothing deletes a terminating pod. `namespace()` therefore creates the namespace with its `default`
 * ServiceAccount, and `close()` deletes what the test created (namespaces last, with gracePeriodSeconds=0).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { clusterCaPem } from '../../src/kubernetes/kubeconfig.ts';
import { createTestPki } from '../helpers/test-pki.ts';
import { FakeApiServer, type KubeObject } from './apiserver.ts';
import { installServiceAccountAuth } from './service-accounts.ts';

export interface TestCluster {
  readonly kubeConfig: KubeConfig;
  /** The in-process server, when the tests are not pointed at a real cluster. */
  readonly fake: FakeApiServer | undefined;
  /** Why a fake-only test cannot run here, or undefined when it can. */
  readonly fakeOnly: string | undefined;
  /** The PEM CA the API server's certificate is verified with (HTTPS only; the fake serves HTTPS with `tls: true`). */
  readonly caCert: string | undefined;
  /** Creates a namespace (with its `default` ServiceAccount) named `<prefix>-<random>`; removed by `close()`. */
  namespace(prefix: string): Promise<string>;
  /** Creates the object, or replaces it (keeping its resourceVersion) when it exists. Returns the stored object. */
  put(apiVersion: string, resource: string, object: KubeObject): Promise<KubeObject>;
  /** Replaces the status subresource (pods' readiness, LoadBalancer ingress…). */
  putStatus(apiVersion: string, resource: string, object: KubeObject): Promise<KubeObject>;
  get(apiVersion: string, resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined>;
  list(apiVersion: string, resource: string, namespace?: string): Promise<KubeObject[]>;
  /** Deletes the object (gracePeriodSeconds as given; 0 by default), ignoring 404. */
  remove(apiVersion: string, resource: string, namespace: string | undefined, name: string, gracePeriodSeconds?: number): Promise<void>;
  /** Any other call: `path` from `/api` or `/apis`. Throws on a non-2xx answer with the Status message. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

const CLUSTER_SCOPED = new Set(['namespaces', 'nodes', 'customresourcedefinitions', 'mutatingwebhookconfigurations', 'clusterroles', 'clusterrolebindings']);

export function collectionPath(apiVersion: string, resource: string, namespace: string | undefined): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace !== undefined && !CLUSTER_SCOPED.has(resource) ? `${base}/namespaces/${namespace}/${resource}` : `${base}/${resource}`;
}

export interface TestClusterOptions {
  /** Serve the in-process API server over HTTPS with a throwaway CA (what the `kubernetes` auth method needs). */
  tls?: boolean;
}

export async function startTestCluster(env: NodeJS.ProcessEnv = process.env, options: TestClusterOptions = {}): Promise<TestCluster> {
  const kubeConfig = new KubeConfig();
  let fake: FakeApiServer | undefined;
  let pkiDir: string | undefined;
  const configPath = env['MESHGATE_TEST_KUBECONFIG'];
  if (configPath) {
    kubeConfig.loadFromFile(configPath);
  } else if (options.tls) {
    pkiDir = mkdtempSync(join(tmpdir(), 'mg-k8s-pki-'));
    const pki = createTestPki(pkiDir);
    fake = new FakeApiServer({ tls: { key: readFileSync(pki.serverKey, 'utf8'), cert: readFileSync(pki.serverCert, 'utf8') } });
    const url = await fake.start();
    kubeConfig.loadFromClusterAndUser({ name: 'test', server: url, caData: readFileSync(pki.caFile).toString('base64'), skipTLSVerify: false }, { name: 'test' });
  } else {
    fake = new FakeApiServer();
    const url = await fake.start();
    kubeConfig.loadFromClusterAndUser({ name: 'test', server: url, skipTLSVerify: true }, { name: 'test' });
  }
  // Service-account tokens, TokenReview and RBAC, as a real API server has them.
  if (fake) await installServiceAccountAuth(fake);
  const created: Array<{ apiVersion: string; resource: string; namespace: string | undefined; name: string }> = [];
  const namespaces: string[] = [];

  async function request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const server = new URL(kubeConfig.getCurrentCluster()!.server);
    const options: RequestOptions = {
      method, host: server.hostname, port: server.port, path,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } : {}),
      },
    };
    await kubeConfig.applyToHTTPSOptions(options);
    const send = server.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed = text ? JSON.parse(text) : undefined;
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status, body: parsed });
          else reject(Object.assign(new Error(`${method} ${path}: ${status} ${parsed?.message ?? text}`), { status, body: parsed }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async function get(apiVersion: string, resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return (await request('GET', `${collectionPath(apiVersion, resource, namespace)}/${name}`)).body;
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw error;
    }
  }

  async function put(apiVersion: string, resource: string, object: KubeObject): Promise<KubeObject> {
    const namespace = object.metadata.namespace;
    const path = collectionPath(apiVersion, resource, namespace);
    const existing = object.metadata.name ? await get(apiVersion, resource, namespace, object.metadata.name) : undefined;
    if (existing) {
      const next = { ...object, metadata: { ...object.metadata, resourceVersion: existing.metadata.resourceVersion } };
      return (await request('PUT', `${path}/${object.metadata.name}`, next)).body;
    }
    const stored: KubeObject = (await request('POST', path, { apiVersion, ...object })).body;
    created.push({ apiVersion, resource, namespace, name: stored.metadata.name! });
    return stored;
  }

  async function remove(apiVersion: string, resource: string, namespace: string | undefined, name: string, gracePeriodSeconds = 0): Promise<void> {
    try {
      await request('DELETE', `${collectionPath(apiVersion, resource, namespace)}/${name}?gracePeriodSeconds=${gracePeriodSeconds}`);
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }

  return {
    kubeConfig,
    fake,
    fakeOnly: fake ? undefined : 'needs the in-process API server (MESHGATE_TEST_KUBECONFIG points at a real one)',
    caCert: clusterCaPem(kubeConfig),
    async namespace(prefix) {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`;
      await request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      namespaces.push(name);
      // A real cluster's service-account controller may have made it already.
      if (!(await get('v1', 'serviceaccounts', name, 'default'))) {
        await request('POST', `/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
      }
      return name;
    },
    put,
    async putStatus(apiVersion, resource, object) {
      const namespace = object.metadata.namespace;
      const current = await get(apiVersion, resource, namespace, object.metadata.name!);
      const next = { apiVersion, ...object, metadata: { ...object.metadata, resourceVersion: current?.metadata.resourceVersion } };
      return (await request('PUT', `${collectionPath(apiVersion, resource, namespace)}/${object.metadata.name}/status`, next)).body;
    },
    get,
    async list(apiVersion, resource, namespace) {
      return (await request('GET', collectionPath(apiVersion, resource, namespace))).body.items ?? [];
    },
    remove,
    request,
    async close() {
      for (const c of created.reverse()) {
        if (c.resource === 'namespaces') continue;
        await remove(c.apiVersion, c.resource, c.namespace, c.name);
      }
      for (const ns of namespaces) await remove('v1', 'namespaces', undefined, ns);
      await fake?.close();
      if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
    },
  };
}
