/**
 * `meshgate k8s acl-init` against a real `meshgate server` with ACLs on (default deny) and the `kubernetes` auth
 * method, whose TokenReviews go to the test API server (or a real one): the pod's service-account token logs in to
 * its service identity, the token lands in a 0600 file, the login waits for a server that is not up yet, a refusal
 * ends it at once. Behaviour from consul-k8s's subcommand/connect-init (login with Meta pod=<ns>/<name>, the token
 * written to a file the sidecar reads, the proxy found on the pod's node by Meta pod-name and k8s-namespace) and
 * Consul's agent/consul/auth/login.go (Description "token created via login: <meta JSON>").
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createClient } from '../../src/api/client.ts';
import type { CliIO } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { aclInit } from '../../src/kubernetes/acl-init.ts';
import { createLogger, silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { tempDir } from '../helpers/server.ts';
import { consulCall, kubernetesAuthMethod, reviewer, serviceAccount, tokenFor } from './auth-setup.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const ROOT: string = randomUUID();
let cluster: TestCluster;
let server: RunningServer | undefined;
let ns: string;
let port: number;
const data = tempDir('meshgate-acl-init-');
const files = tempDir('meshgate-acl-init-files-');

const serverOptions = (httpAddr: string) => ({
  dev: false, dataDir: data.path, httpAddr, nodeName: 'node-1', datacenter: 'dc1',
  acl: { enabled: true, defaultPolicy: 'deny' as const, tokens: { initialManagement: ROOT } },
});

async function consul(method: string, path: string, body?: unknown, token = ROOT) {
  return consulCall(server!.url, method, path, body, token);
}

/** What the pod's projected service-account token volume holds. */
async function tokenFile(namespace: string, account: string): Promise<string> {
  const path = join(files.path, `${namespace}-${account}-${randomUUID()}`);
  writeFileSync(path, `${await tokenFor(cluster, namespace, account)}\n`);
  return path;
}

before(async () => {
  cluster = await startTestCluster(process.env, { tls: true });
  ns = await cluster.namespace('acl-init');
  await serviceAccount(cluster, ns, 'web');
  // The server is set up (auth method and consul-k8s's binding rule), then stopped: acl-init meets it down first.
  server = await startServer(serverOptions('127.0.0.1:0'), silentLogger());
  port = Number(new URL(server.url).port);
  const method = await kubernetesAuthMethod(cluster, server.url, ROOT, 'meshgate-k8s', await reviewer(cluster, ns, 'reviewer'), ns);
  assert.equal(method.status, 200, method.text);
  await server.close();
  server = undefined;
});

after(async () => {
  await server?.close();
  await cluster?.close();
  data.remove();
  files.remove();
});

test('acl-init waits for the server, logs in with the pod\'s token and writes the token to a 0600 file', async () => {
  const sink = join(files.path, 'acl-token');
  let retries = 0;
  const logs = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (chunk.toString().includes('retrying')) retries++;
      done();
    },
  });
  const pending = aclInit({
    consul: createClient({ address: `127.0.0.1:${port}`, env: {} }), logger: createLogger({ name: 'acl-init', level: 'warn', destination: logs }),
    authMethod: 'meshgate-k8s', bearerTokenFile: await tokenFile(ns, 'web'), tokenSinkFile: sink, meta: { pod: `${ns}/web-1` }, retryIntervalMs: 100,
  });
  await waitFor(() => retries >= 2, 'acl-init retrying while the server is down');
  server = await startServer(serverOptions(`127.0.0.1:${port}`), silentLogger());
  const result = await pending;
  assert.equal(statSync(sink).mode & 0o777, 0o600);
  const secret = readFileSync(sink, 'utf8');
  assert.equal(secret, result.secretId);
  const self = await consul('GET', '/v1/acl/token/self', undefined, secret);
  assert.equal(self.status, 200, self.text);
  assert.deepEqual(self.body.ServiceIdentities, [{ ServiceName: 'web' }]);
  assert.equal(self.body.AuthMethod, 'meshgate-k8s');
  assert.equal(self.body.Description, `token created via login: {"pod":"${ns}/web-1"}`);
});

test('a refused login ends acl-init at once with the server\'s reason, and writes nothing', async () => {
  const other = await cluster.namespace('acl-init-other');
  await serviceAccount(cluster, other, 'web');
  const sink = join(files.path, 'refused-token');
  await assert.rejects(aclInit({
    consul: createClient({ address: server!.url, env: {} }), logger: silentLogger(),
    authMethod: 'meshgate-k8s', bearerTokenFile: await tokenFile(other, 'web'), tokenSinkFile: sink, retryIntervalMs: 100,
  }), (err: { code?: string; message: string }) => err.code === 'MG_K8S_ACL_INIT_LOGIN' && /Permission denied/.test(err.message));
  assert.equal(existsSync(sink), false);
  await assert.rejects(aclInit({
    consul: createClient({ address: server!.url, env: {} }), logger: silentLogger(),
    authMethod: 'meshgate-k8s', bearerTokenFile: join(files.path, 'missing'), tokenSinkFile: sink,
  }), (err: { code?: string }) => err.code === 'MG_K8S_ACL_INIT_BEARER_TOKEN');
});

test('meshgate k8s acl-init: login, then the proxy ID once the pod\'s connect-proxy is registered on its node', async () => {
  const sink = join(files.path, 'cli-token');
  const proxyIdFile = join(files.path, 'proxyid');
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (t) => void (out += t), err: (t) => void (err += t), readStdin: async () => Buffer.alloc(0),
    // the environment the injected init container has; a token there must not be sent with the login
    env: { POD_NAME: 'web-7', POD_NAMESPACE: ns, NODE_NAME: 'node-a', MESHGATE_HTTP_TOKEN: ROOT },
  };
  const exit = main(['k8s', 'acl-init', '--http-addr', server!.url, '--auth-method', 'meshgate-k8s', '--bearer-token-file', await tokenFile(ns, 'web'),
    '--token-sink-file', sink, '--meta', `pod=${ns}/web-7`, '--proxy-id-file', proxyIdFile, '--log-level', 'error'], io);
  await waitFor(() => existsSync(sink), 'the token file');
  assert.equal(existsSync(proxyIdFile), false, 'no proxy registered yet');
  // what the endpoints controller registers for the pod (consul-k8s's meta keys)
  const meta = { 'pod-name': 'web-7', 'k8s-namespace': ns, 'managed-by': 'consul-k8s-endpoints-controller' };
  const registered = await consul('PUT', '/v1/catalog/register', {
    Node: 'node-a', Address: '10.0.0.7',
    Service: { ID: 'web-7-web-sidecar-proxy', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 20000, Meta: meta, Proxy: { DestinationServiceName: 'web', LocalServicePort: 8080 } },
  });
  assert.equal(registered.status, 200, registered.text);
  assert.equal(await exit, 0, err);
  assert.equal(readFileSync(proxyIdFile, 'utf8'), 'web-7-web-sidecar-proxy');
  assert.match(out, /Logged in: token [0-9a-f-]{36} written to/);
  assert.equal(statSync(proxyIdFile).mode & 0o777, 0o600);
});
