/**
 * `meshgate k8s server-acl-init` against cluster.ts and a real `meshgate server` with ACLs on and not yet
 * bootstrapped. As consul-k8s's subcommand/server-acl-init does it (command.go: bootstrap and keep the token in
 * `<prefix>-bootstrap-acl-token`, the auth method `<prefix>-k8s-auth-method` with the cluster's CA and the reviewer
 * JWT, the binding rule BindType service / BindName ${serviceaccount.name}, component tokens in
 * `<prefix>-<component>-acl-token` Secrets): everything made on the first run, nothing duplicated on a rerun, a token
 * deleted behind its back replaced, and a pod's token then logs in to its service identity.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { isMeshgateError } from '../../src/lib/errors.ts';
import { runServerAclInit, type ServerAclInitOptions } from '../../src/kubernetes/acl-bootstrap/run.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { consulCall, reviewer, serviceAccount, tokenFor } from './auth-setup.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

let cluster: TestCluster;
let server: RunningServer;
let consul: ConsulClient;
let ns: string;

const options = (): ServerAclInitOptions => ({
  kubeConfig: cluster.kubeConfig, consul, logger: silentLogger(), resourcePrefix: 'mg', namespace: ns, timeoutMs: 30_000, pollMs: 100,
});

async function secretToken(name: string): Promise<string | undefined> {
  const secret = await cluster.get('v1', 'secrets', ns, name);
  const data = secret?.['data'] as Record<string, string> | undefined;
  return data?.['token'] ? Buffer.from(data['token'], 'base64').toString('utf8') : undefined;
}

before(async () => {
  cluster = await startTestCluster(process.env, { tls: true });
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny' } }, silentLogger());
  consul = createClient({ address: server.url, env: {} });
  ns = await cluster.namespace('acl');
  // What the manifests make: the reviewer's ServiceAccount with its bindings and its token in a Secret (filled here,
  // as a bare API server has no token controller).
  const jwt = await reviewer(cluster, ns, 'mg-auth-method');
  await cluster.put('v1', 'secrets', { metadata: { name: 'mg-auth-method', namespace: ns }, type: 'Opaque', data: { token: Buffer.from(jwt).toString('base64') } });
  await serviceAccount(cluster, ns, 'web');
});

after(async () => {
  await server?.close();
  await cluster?.close();
});

test('the first run bootstraps and makes the auth method, the binding rule and the components\' tokens as Secrets', async () => {
  const result = await runServerAclInit(options());
  assert.equal(result.bootstrapped, true);
  assert.equal(result.authMethod, 'mg-k8s-auth-method');
  const root = await secretToken('mg-bootstrap-acl-token');
  assert.ok(root, 'the management token is kept in its Secret');
  const method = await consulCall(server.url, 'GET', '/v1/acl/auth-method/mg-k8s-auth-method', undefined, root);
  assert.equal(method.status, 200, method.text);
  assert.equal(method.body.Type, 'kubernetes');
  assert.equal(method.body.Config.Host, cluster.kubeConfig.getCurrentCluster()!.server);
  assert.equal(method.body.Config.CACert, cluster.caCert);
  const rules = await consulCall(server.url, 'GET', '/v1/acl/binding-rules?authmethod=mg-k8s-auth-method', undefined, root);
  assert.deepEqual(rules.body.map((r: { BindType: string; BindName: string }) => [r.BindType, r.BindName]), [['service', '${serviceaccount.name}']]);

  // Each component's token works for its job and no further.
  const sync = createClient({ address: server.url, token: (await secretToken('mg-sync-catalog-acl-token'))!, env: {} });
  await sync.catalog.register({ Node: 'k8s-sync', Address: '127.0.0.1', Service: { Service: 'synced', Port: 80 } });
  await assert.rejects(sync.acl.tokenList(), /403/, 'catalog sync may not read tokens');
  const injector = createClient({ address: server.url, token: (await secretToken('mg-connect-injector-acl-token'))!, env: {} });
  assert.ok((await injector.acl.tokenList()).value.length > 0, 'the injector (endpoints controller) reads tokens to delete pods\' ones');
  const crd = createClient({ address: server.url, token: (await secretToken('mg-crd-controller-acl-token'))!, env: {} });
  await crd.configEntries.set({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' } as never);

  // A pod's service-account token logs in to its service identity through the method.
  const login = await consulCall(server.url, 'POST', '/v1/acl/login', { AuthMethod: 'mg-k8s-auth-method', BearerToken: await tokenFor(cluster, ns, 'web') }, '');
  assert.equal(login.status, 200, login.text);
  assert.deepEqual(login.body.ServiceIdentities, [{ ServiceName: 'web' }]);
});

test('a rerun changes nothing; a component token deleted behind its back is replaced', async () => {
  const root = (await secretToken('mg-bootstrap-acl-token'))!;
  const count = async (path: string) => (await consulCall(server.url, 'GET', path, undefined, root)).body.length as number;
  const before = { tokens: await count('/v1/acl/tokens'), policies: await count('/v1/acl/policies'), rules: await count('/v1/acl/binding-rules'), methods: await count('/v1/acl/auth-methods') };
  const first = await runServerAclInit(options());
  const second = await runServerAclInit(options());
  assert.equal(first.bootstrapped, false);
  assert.deepEqual(second, first);
  assert.deepEqual(
    { tokens: await count('/v1/acl/tokens'), policies: await count('/v1/acl/policies'), rules: await count('/v1/acl/binding-rules'), methods: await count('/v1/acl/auth-methods') },
    before,
  );
  const oldSecret = await secretToken('mg-sync-catalog-acl-token');
  await consulCall(server.url, 'DELETE', `/v1/acl/token/${first.tokens['sync-catalog']}`, undefined, root);
  const repaired = await runServerAclInit(options());
  assert.notEqual(repaired.tokens['sync-catalog'], first.tokens['sync-catalog']);
  assert.equal(repaired.tokens['connect-injector'], first.tokens['connect-injector']);
  const newSecret = await secretToken('mg-sync-catalog-acl-token');
  assert.notEqual(newSecret, oldSecret);
  const self = await consulCall(server.url, 'GET', '/v1/acl/token/self', undefined, newSecret!);
  assert.equal(self.status, 200, self.text);
});

test('bootstrapped elsewhere with no token given or kept, it stops and says what to do', async () => {
  await assert.rejects(runServerAclInit({ ...options(), resourcePrefix: 'other' }), (err: unknown) => {
    assert.ok(isMeshgateError(err, 'MG_K8S_SERVER_ACL_INIT'));
    assert.match((err as Error).message, /already bootstrapped and no management token was given.*other-bootstrap-acl-token/);
    return true;
  });
});
