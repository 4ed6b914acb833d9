/**
 * What a cluster needs before pods can log in with the `kubernetes` auth method, built through HTTP so it runs on
 * the test API server and a real one alike: a reviewer ServiceAccount bound to `system:auth-delegator` and allowed
 * to read ServiceAccounts (consul-k8s's auth-method ClusterRole), tokens from TokenRequest, and the method with
 * consul-k8s's binding rule (service identity `${serviceaccount.name}`) on a `meshgate server`.
 */
import assert from 'node:assert/strict';
import type { TestCluster } from './cluster.ts';

export interface ConsulReply { status: number; body: any; text: string }

export async function consulCall(baseUrl: string, method: string, path: string, body: unknown, token: string): Promise<ConsulReply> {
  const res = await fetch(`${baseUrl}${path}`, { method, headers: token ? { 'X-Consul-Token': token } : {}, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

export async function serviceAccount(cluster: TestCluster, namespace: string, name: string, annotations?: Record<string, string>): Promise<void> {
  await cluster.put('v1', 'serviceaccounts', { metadata: { name, namespace, ...(annotations ? { annotations } : {}) } });
}

/** A token from the API server's TokenRequest, bound to the pod when one is named (what a projected volume holds). */
export async function tokenFor(cluster: TestCluster, namespace: string, name: string, pod?: { name: string; uid: string }): Promise<string> {
  const spec = { expirationSeconds: 3600, ...(pod ? { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', ...pod } } : {}) };
  return (await cluster.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec })).body.status.token;
}

export async function bindClusterRole(cluster: TestCluster, name: string, role: string, namespace: string, account: string): Promise<void> {
  await cluster.put('rbac.authorization.k8s.io/v1', 'clusterrolebindings', {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
  });
}

/** The reviewer's RBAC in `namespace`; returns its token. `delegator: false` leaves out system:auth-delegator. */
export async function reviewer(cluster: TestCluster, namespace: string, name: string, delegator = true): Promise<string> {
  await serviceAccount(cluster, namespace, name);
  await cluster.put('rbac.authorization.k8s.io/v1', 'clusterroles', {
    metadata: { name: `${namespace}-auth-method` },
    rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get'] }],
  });
  if (delegator) await bindClusterRole(cluster, `${namespace}-${name}-delegator`, 'system:auth-delegator', namespace, name);
  await bindClusterRole(cluster, `${namespace}-${name}-sa`, `${namespace}-auth-method`, namespace, name);
  return tokenFor(cluster, namespace, name);
}

/** Creates the `kubernetes` auth method `method` and, with `selectorNamespace`, consul-k8s's binding rule. */
export async function kubernetesAuthMethod(
  cluster: TestCluster, consulUrl: string, rootToken: string, method: string, reviewerToken: string, selectorNamespace?: string,
): Promise<ConsulReply> {
  const created = await consulCall(consulUrl, 'PUT', '/v1/acl/auth-method', {
    Name: method, Type: 'kubernetes',
    Config: { Host: cluster.kubeConfig.getCurrentCluster()!.server, CACert: cluster.caCert, ServiceAccountJWT: reviewerToken },
  }, rootToken);
  if (created.status !== 200 || selectorNamespace === undefined) return created;
  const rule = await consulCall(consulUrl, 'PUT', '/v1/acl/binding-rule', {
    AuthMethod: method, BindType: 'service', BindName: '${serviceaccount.name}', Selector: `serviceaccount.namespace=="${selectorNamespace}"`,
  }, rootToken);
  assert.equal(rule.status, 200, rule.text);
  return created;
}
