/**
 * `meshgate agent`'s SPIFFE Workload API (spiffe_workload_api block / -workload-api-* flags) against a real
 * `meshgate server` on loopback. What a Workload API must do is the SPIFFE standard's (SPIFFE_Workload_API.md:
 * §4.3 a first answer at once and a complete new one on every change; §5.2.1 X509SVID fields, the leaf first in
 * x509_svid, the bundle of the trust domain; §5.2.2 bundles keyed by the trust domain's SPIFFE ID; and the Workload
 * Endpoint's security header, without which the call is refused with InvalidArgument). The field numbers are
 * go-spiffe's proto/spiffe/workload/workload.proto; lib/workload-api/workload-api.test.ts checks our definition.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsulClient } from '../../src/api/client.ts';
import { startAgent, type RunningAgent } from '../../src/agent/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { grpc, type X509BundlesResponse, type X509SvidResponse } from '../../src/lib/workload-api/definition.ts';
import { splitDerCertificates } from '../../src/lib/workload-api/der.ts';
import { uriSans } from '../../src/lib/spiffe.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer, tempDir } from '../helpers/server.ts';
import { spawnAgent, type AgentProcess } from './helpers.ts';
import { openStream, unary } from './workload-api-client.ts';

let server: RunningServer;
let client: ConsulClient;
let agent: RunningAgent;
let spawned: AgentProcess | undefined;
let trustDomain: string;
const dir = tempDir('mg-workload-api-');
const socket = join(dir.path, 'workload.sock');

before(async () => {
  server = await startTestServer();
  client = new ConsulClient({ address: server.url, env: {} });
  await waitFor(async () => (await client.connect.caRoots()).value.ActiveRootID !== '', 'the Connect CA to have a root');
  trustDomain = (await client.connect.caRoots()).value.TrustDomain;
  writeFileSync(join(dir.path, 'agent.hcl'), `spiffe_workload_api {\n  socket = "${socket}"\n  service = "web"\n}\n`);
  agent = await startAgent({ retryJoin: [server.url], config: { files: [join(dir.path, 'agent.hcl')], dirs: [] }, nodeName: 'wl', httpAddr: '127.0.0.1:0' }, silentLogger());
});

after(async () => {
  await spawned?.stop();
  await agent?.close();
  await server?.close();
  dir.remove();
});

/** The chain verifies up to one of the bundle's roots, and the key is the leaf's. */
function assertSvidVerifies(svid: X509SvidResponse['svids'][number]): X509Certificate[] {
  const chain = splitDerCertificates(svid.x509_svid, 'x509_svid');
  const roots = splitDerCertificates(svid.bundle, 'bundle');
  assert.ok(chain.length >= 1);
  for (let i = 0; i + 1 < chain.length; i++) assert.ok(chain[i]!.verify(chain[i + 1]!.publicKey), `chain[${i}] is signed by chain[${i + 1}]`);
  const top = chain[chain.length - 1]!;
  assert.ok(roots.some((root) => top.checkIssued(root) && top.verify(root.publicKey)), 'the chain ends at a root of the bundle');
  return chain;
}

test('FetchX509SVID answers at once with the SVID of the configured service; the chain verifies against the served bundle', async () => {
  assert.equal(agent.workloadApiAddress, `unix://${socket}`);
  const stream = openStream<X509SvidResponse>(`unix://${socket}`, 'FetchX509SVID');
  try {
    const first = await stream.nth(1);
    assert.equal(first.svids.length, 1);
    const svid = first.svids[0]!;
    assert.equal(svid.spiffe_id, `spiffe://${trustDomain}/ns/default/dc/dc1/svc/web`);
    const chain = assertSvidVerifies(svid);
    assert.deepEqual(uriSans(chain[0]!.subjectAltName), [svid.spiffe_id]);
    const { createPrivateKey } = await import('node:crypto');
    assert.ok(chain[0]!.checkPrivateKey(createPrivateKey({ key: svid.x509_svid_key, format: 'der', type: 'pkcs8' })), 'the key is the leaf\'s (PKCS#8 DER)');
  } finally {
    stream.close();
  }
});

test('FetchX509Bundles: the trust domain\'s roots keyed by its SPIFFE ID', async () => {
  const stream = openStream<X509BundlesResponse>(`unix://${socket}`, 'FetchX509Bundles');
  try {
    const first = await stream.nth(1);
    assert.deepEqual(Object.keys(first.bundles), [`spiffe://${trustDomain}`]);
    const roots = (await client.connect.caRoots()).value.Roots!.map((r) => new X509Certificate(r.RootCert).fingerprint256);
    assert.deepEqual(splitDerCertificates(first.bundles[`spiffe://${trustDomain}`]!, 'bundle').map((c) => c.fingerprint256), roots);
  } finally {
    stream.close();
  }
});

test('a call without the security header (or with another value) is refused with InvalidArgument; JWT calls are Unimplemented', async () => {
  for (const header of [false, 'false'] as const) {
    const stream = openStream<X509SvidResponse>(`unix://${socket}`, 'FetchX509SVID', header);
    const status = await stream.ended;
    stream.close();
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT, `header ${String(header)}`);
    assert.match(status.details, /security header missing/);
    assert.deepEqual(stream.received, []);
  }
  assert.equal((await unary(`unix://${socket}`, 'FetchJWTSVID', false))?.code, grpc.status.INVALID_ARGUMENT);
  const jwt = await unary(`unix://${socket}`, 'FetchJWTSVID');
  assert.equal(jwt?.code, grpc.status.UNIMPLEMENTED);
  assert.match(jwt!.details, /X\.509-SVID profile only/);
  assert.equal((await unary(`unix://${socket}`, 'ValidateJWTSVID'))?.code, grpc.status.UNIMPLEMENTED);
  const bundles = openStream(`unix://${socket}`, 'FetchJWTBundles');
  assert.equal((await bundles.ended).code, grpc.status.UNIMPLEMENTED);
  bundles.close();
});

test('the socket is the access control: mode 0600 by default', () => {
  const st = statSync(socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
});

test('a rotation of the Connect CA pushes a new answer on the open stream: a leaf of the new root, both roots in the bundle', async () => {
  const stream = openStream<X509SvidResponse>(`unix://${socket}`, 'FetchX509SVID');
  try {
    const before = await stream.nth(1);
    const oldLeaf = splitDerCertificates(before.svids[0]!.x509_svid, 'x509_svid')[0]!;
    const oldRoot = (await client.connect.caRoots()).value.ActiveRootID;
    // A change of key type rotates the root and reissues every leaf (test/proxy/rotation.test.ts).
    const res = await fetch(`${server.url}/v1/connect/ca/configuration`, {
      method: 'PUT', body: JSON.stringify({ Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 } }),
    });
    assert.equal(res.status, 200, await res.text());
    const roots = (await client.connect.caRoots()).value;
    assert.notEqual(roots.ActiveRootID, oldRoot);
    const newRoot = new X509Certificate(roots.Roots!.find((r) => r.ID === roots.ActiveRootID)!.RootCert);
    // The stream delivers complete answers until one carries a leaf issued under the new root.
    const rotated = await waitFor(() => stream.received.find((m) => {
      const chain = splitDerCertificates(m.svids[0]!.x509_svid, 'x509_svid');
      return chain[chain.length - 1]!.checkIssued(newRoot) || chain[0]!.checkIssued(newRoot) ? m : undefined;
    }), 'an answer with a leaf of the new root', { deadlineMs: 60_000 });
    const svid = rotated.svids[0]!;
    assert.equal(svid.spiffe_id, `spiffe://${trustDomain}/ns/default/dc/dc1/svc/web`);
    const chain = assertSvidVerifies(svid);
    assert.notEqual(chain[0]!.serialNumber, oldLeaf.serialNumber);
    assert.equal(splitDerCertificates(svid.bundle, 'bundle').length, 2, 'old and new roots are both trusted during the rotation');
    assert.ok(stream.received.length >= 2);
  } finally {
    stream.close();
  }
});

test('-workload-api-* flags on the command line: a tcp:// socket serving another service', async () => {
  const port = await import('../helpers/server.ts').then((m) => m.freePort());
  spawned = await spawnAgent(['-retry-join', server.url, '-node-name', 'wl-cli', '-workload-api-socket', `tcp://127.0.0.1:${port}`, '-workload-api-service', 'api']);
  const stream = openStream<X509SvidResponse>(`127.0.0.1:${port}`, 'FetchX509SVID');
  try {
    const first = await stream.nth(1);
    assert.equal(first.svids[0]!.spiffe_id, `spiffe://${trustDomain}/ns/default/dc/dc1/svc/api`);
    assertSvidVerifies(first.svids[0]!);
  } finally {
    stream.close();
  }
});

test('spiffe_workload_api in HCL and JSON: socket_mode, token; bad blocks are refused naming the key', async () => {
  const { buildAgentConfig } = await import('../../src/agent/agent-config.ts');
  const load = (doc: Record<string, unknown>) => buildAgentConfig([{ file: 'a.json', doc }]);
  assert.deepEqual(load({ spiffe_workload_api: { socket: '/run/w.sock', service: 'web', socket_mode: '0660', token: 't' } }).workloadApi,
    { socket: '/run/w.sock', service: 'web', socketMode: 0o660, token: 't' });
  // HCL blocks arrive as one-element lists.
  assert.equal(load({ spiffe_workload_api: [{ socket: 'tcp://127.0.0.1:1', service: 'web' }] }).workloadApi?.socketMode, 0o600);
  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ service: 'web' }, /a\.json: spiffe_workload_api\.socket is required/],
    [{ socket: '/x' }, /spiffe_workload_api\.service is required/],
    [{ socket: '/x', service: 'web', socket_mode: '999' }, /spiffe_workload_api\.socket_mode must be an octal file mode/],
    [{ socket: '/x', service: 'web', mode: '0600' }, /spiffe_workload_api: unknown key "mode"/],
    [{ socket: 'tcp://localhost:1', service: 'web' }, /spiffe_workload_api\.socket: workload endpoint tcp socket URI host component must be an IP:port/],
    [{ socket: 'localhost', service: 'web' }, /must have a tcp:\/\/ or unix:\/\/ scheme/],
  ];
  for (const [block, why] of refused) {
    assert.throws(() => load({ spiffe_workload_api: block }), (err: unknown) => (err as { code?: string }).code === 'MG_AGENT_INVALID' && why.test((err as Error).message), JSON.stringify(block));
  }
});

test('socket_mode is applied; a stale socket is replaced, any other file at the path is refused and left alone', async () => {
  const { startWorkloadApi } = await import('../../src/agent/workload-api/server.ts');
  const deps = { servers: agent.agent.servers, defaultToken: () => '', logger: silentLogger() };
  const path = join(dir.path, 'group.sock');
  const first = await startWorkloadApi({ socket: path, service: 'web', socketMode: 0o660 }, deps);
  assert.equal(statSync(path).mode & 0o777, 0o660);
  // A second agent on the same path (the first one's socket left behind) takes it over.
  const second = await startWorkloadApi({ socket: `unix://${path}`, service: 'web', socketMode: 0o600 }, deps);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const stream = openStream<X509SvidResponse>(`unix://${path}`, 'FetchX509SVID');
  try {
    assert.equal((await stream.nth(1)).svids[0]!.spiffe_id, `spiffe://${trustDomain}/ns/default/dc/dc1/svc/web`);
  } finally {
    stream.close();
  }
  await first.close();
  await second.close();
  const file = join(dir.path, 'not-a-socket');
  writeFileSync(file, 'keep me');
  await assert.rejects(startWorkloadApi({ socket: file, service: 'web', socketMode: 0o600 }, deps), /exists and is not a socket/);
  assert.equal((await import('node:fs')).readFileSync(file, 'utf8'), 'keep me');
});
