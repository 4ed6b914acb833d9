/**
 * The `kubernetes` auth method end to end: a real `meshgate server` with ACLs on (default deny) judges pods'
 * service-account tokens through TokenReview on the test API server (HTTPS, its CA as the method's CACert) or a real
 * one (MESHGATE_TEST_KUBECONFIG). Behaviour from Consul's agent/consul/authmethod/kubeauth/k8s.go (NewValidator's
 * required Host/CACert/ServiceAccountJWT, ValidateLogin's "lookup failed" errors, the system:serviceaccount username
 * split, the consul.hashicorp.com/service-name ServiceAccount annotation, fields serviceaccount.namespace/name/uid)
 * and agent/consul/auth/login.go (Description "token created via login: <meta JSON>"), with consul-k8s's binding
 * rule (subcommand/server-acl-init: BindType service, BindName ${serviceaccount.name}).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { consulCall, kubernetesAuthMethod, reviewer, serviceAccount, tokenFor as tokenFor_, type ConsulReply } from './auth-setup.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const ROOT: string = randomUUID();
let cluster: TestCluster;
let server: RunningServer;
let ns: string;
let other: string;
let reviewerToken: string;
let noRbacToken: string;

async function consul(method: string, path: string, body?: unknown, token = ROOT): Promise<ConsulReply> {
  return consulCall(server.url, method, path, body, token);
}

const tokenFor = (namespace: string, name: string, pod?: { name: string; uid: string }): Promise<string> => tokenFor_(cluster, namespace, name, pod);

async function createMethod(name: string, reviewerToken: string): Promise<ConsulReply> {
  return kubernetesAuthMethod(cluster, server.url, ROOT, name, reviewerToken);
}

async function login(method: string, bearer: string, meta?: Record<string, string>): Promise<ConsulReply> {
  return consul('POST', '/v1/acl/login', { AuthMethod: method, BearerToken: bearer, ...(meta ? { Meta: meta } : {}) }, '');
}

before(async () => {
  cluster = await startTestCluster(process.env, { tls: true });
  server = await startServer(
    { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: ROOT } } },
    silentLogger(),
  );
  ns = await cluster.namespace('auth');
  other = await cluster.namespace('auth-other');
  for (const name of ['web', 'api']) await serviceAccount(cluster, ns, name);
  await serviceAccount(cluster, ns, 'legacy', { 'consul.hashicorp.com/service-name': 'frontend' });
  await serviceAccount(cluster, other, 'web');
  reviewerToken = await reviewer(cluster, ns, 'reviewer');
  // no-rbac may read ServiceAccounts but not create TokenReviews.
  noRbacToken = await reviewer(cluster, ns, 'no-rbac', false);
  const created = await createMethod('k8s', reviewerToken);
  assert.equal(created.status, 200, created.text);
  const rule = await consul('PUT', '/v1/acl/binding-rule', {
    AuthMethod: 'k8s', BindType: 'service', BindName: '${serviceaccount.name}', Selector: `serviceaccount.namespace=="${ns}"`,
  });
  assert.equal(rule.status, 200, rule.text);
});

after(async () => {
  await server?.close();
  await cluster?.close();
});

test('the Config is checked as Consul checks it', async () => {
  const host = cluster.kubeConfig.getCurrentCluster()!.server;
  const missingHost = await consul('PUT', '/v1/acl/auth-method', { Name: 'bad', Type: 'kubernetes', Config: { CACert: cluster.caCert, ServiceAccountJWT: 'x' } });
  assert.equal(missingHost.status, 400);
  assert.match(missingHost.text, /Config\.Host is required/);
  const badCa = await consul('PUT', '/v1/acl/auth-method', { Name: 'bad', Type: 'kubernetes', Config: { Host: host, CACert: 'not a cert', ServiceAccountJWT: 'x' } });
  assert.equal(badCa.status, 400);
  assert.match(badCa.text, /error parsing kubernetes ca cert/);
  const badJwt = await consul('PUT', '/v1/acl/auth-method', { Name: 'bad', Type: 'kubernetes', Config: { Host: host, CACert: cluster.caCert, ServiceAccountJWT: 'not-a-jwt' } });
  assert.equal(badJwt.status, 400);
  assert.match(badJwt.text, /ServiceAccountJWT is not a valid JWT/);
  const unknown = await consul('PUT', '/v1/acl/auth-method', { Name: 'bad', Type: 'kubernetes', Config: { Host: host, CACert: cluster.caCert, ServiceAccountJWT: 'x', Nope: 1 } });
  assert.equal(unknown.status, 400);
  assert.match(unknown.text, /invalid config key\(s\): Nope/);
  const rule = await consul('PUT', '/v1/acl/binding-rule', { AuthMethod: 'k8s', BindType: 'service', BindName: 'x', Selector: 'value.name==x' });
  assert.equal(rule.status, 400, 'a selector on a field the kubernetes type does not have is refused');
});

test('a pod\'s token logs in to the service identity of its service account, and to no other', async () => {
  const pod = await cluster.put('v1', 'pods', {
    metadata: { name: 'web-1', namespace: ns },
    spec: { serviceAccountName: 'web', containers: [{ name: 'app', image: 'web:1' }] },
  });
  const bearer = await tokenFor(ns, 'web', { name: 'web-1', uid: pod.metadata.uid! });
  const reply = await login('k8s', bearer, { pod: `${ns}/web-1` });
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(reply.body.ServiceIdentities, [{ ServiceName: 'web' }]);
  assert.equal(reply.body.AuthMethod, 'k8s');
  assert.equal(reply.body.Description, `token created via login: {"pod":"${ns}/web-1"}`);
  const secret = reply.body.SecretID as string;
  // The identity grants service:write on web (and its sidecar), nothing on api.
  const own = await consul('PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 8080 }, secret);
  assert.equal(own.status, 200, own.text);
  const foreign = await consul('PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-1', Port: 8080 }, secret);
  assert.equal(foreign.status, 403, foreign.text);
  assert.match(foreign.text, /lacks permission 'service:write' on "api"/);
});

test('the ServiceAccount\'s consul.hashicorp.com/service-name annotation names the service', async () => {
  const reply = await login('k8s', await tokenFor(ns, 'legacy'));
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual(reply.body.ServiceIdentities, [{ ServiceName: 'frontend' }]);
});

test('a token no binding rule selects, a forged one and one whose service account is gone are refused', async () => {
  const elsewhere = await login('k8s', await tokenFor(other, 'web'));
  assert.equal(elsewhere.status, 403, 'another namespace: no rule binds');
  assert.match(elsewhere.text, /Permission denied/);

  const [header, payload] = (await tokenFor(ns, 'api')).split('.');
  const forged = await login('k8s', `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`);
  assert.equal(forged.status, 403);
  assert.match(forged.text, /lookup failed/);

  const notJwt = await login('k8s', 'garbage');
  assert.equal(notJwt.status, 403);
  assert.match(notJwt.text, /failed to parse and validate JWT/);

  await serviceAccount(cluster, ns, 'short-lived');
  const bearer = await tokenFor(ns, 'short-lived');
  assert.equal((await login('k8s', bearer)).status, 200);
  await cluster.remove('v1', 'serviceaccounts', ns, 'short-lived');
  const gone = await login('k8s', bearer);
  assert.equal(gone.status, 403, gone.text);
  assert.match(gone.text, /lookup failed/);
});

test('a reviewer without the system:auth-delegator binding gets the API server\'s refusal, named', async () => {
  const created = await createMethod('k8s-no-rbac', noRbacToken);
  assert.equal(created.status, 200, created.text);
  await consul('PUT', '/v1/acl/binding-rule', { AuthMethod: 'k8s-no-rbac', BindType: 'service', BindName: '${serviceaccount.name}' });
  const reply = await login('k8s-no-rbac', await tokenFor(ns, 'api'));
  assert.equal(reply.status, 500, reply.text);
  assert.match(reply.text, /the Kubernetes API answered 403/);
  assert.match(reply.text, /cannot create resource "tokenreviews" in API group "authentication\.k8s\.io"/);
  assert.match(reply.text, /system:auth-delegator/);
});

test('a CACert that does not sign the API server\'s certificate is a failed call, never a login', async (t) => {
  if (!cluster.caCert) return t.skip('the API server is not verified with a CA');
  // Any other self-signed certificate: the server's own CA from its Connect CA roots.
  const roots = await consul('GET', '/v1/connect/ca/roots');
  const foreignCa = roots.body?.Roots?.[0]?.RootCert as string | undefined;
  if (!foreignCa) return t.skip('no Connect CA root to use as a foreign CA');
  const created = await consul('PUT', '/v1/acl/auth-method', {
    Name: 'k8s-wrong-ca', Type: 'kubernetes',
    Config: { Host: cluster.kubeConfig.getCurrentCluster()!.server, CACert: foreignCa, ServiceAccountJWT: reviewerToken },
  });
  assert.equal(created.status, 200, created.text);
  await consul('PUT', '/v1/acl/binding-rule', { AuthMethod: 'k8s-wrong-ca', BindType: 'service', BindName: '${serviceaccount.name}' });
  const reply = await login('k8s-wrong-ca', await tokenFor(ns, 'web'));
  assert.equal(reply.status, 500, reply.text);
  assert.match(reply.text, /token review failed/);
});
