/**
 * One upstream that cannot come up must not keep the others down (issue 11).
 *
 * An upstream whose listener could not open is tried again until it opens. The registration watch hands
 * each registration over once — it records the registration as seen whether or not the apply worked, so an edit
 * that does not parse is not applied again and again — which left an upstream whose port was held past the bind
 * window (another process's listener on the port the registration names) down until some unrelated edit of the
 * registration came along. Here the port is held while the apply runs out its (shortened) bind window and
 * rejects, then freed: the upstream must come up without another apply.
 *
 * Applies run one at a time, and each new upstream waited for its first discovery chain before its listener opened
 * — with no bound, so an upstream whose chain the server cannot answer (`Datacenter` naming one it has no path to:
 * 500 "No path to datacenter", as Consul's RPC forwarding answers) held every later registration edit back for good.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { noAccessLog } from '../../src/proxy/access-log.ts';
import { EndpointSet } from '../../src/proxy/endpoints.ts';
import { ProxyIdentity } from '../../src/proxy/identity.ts';
import { ProxyMetrics } from '../../src/proxy/metrics.ts';
import { UpstreamSet } from '../../src/proxy/upstream-set.ts';
import { freePort } from '../helpers/server.ts';
import { allow, registerSidecar, runProxy, startMesh, startTcpApp, tcpExchange, type Mesh } from './helpers.ts';

let mesh: Mesh;
let identity: ProxyIdentity;
let endpoints: EndpointSet;

before(async () => {
  mesh = await startMesh();
  const db = await registerSidecar(mesh, { service: 'db', appPort: await startTcpApp(mesh, 'db') });
  await allow(mesh, 'web', 'db');
  await runProxy(mesh, db.proxyId);
  identity = new ProxyIdentity(mesh.client, 'web', silentLogger());
  await identity.start();
  endpoints = new EndpointSet(mesh.client, silentLogger());
});

after(async () => {
  endpoints?.stop();
  identity?.stop();
  await mesh?.close();
});

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** web's sidecar's upstream set with the test's shortened waits, stopped after the test. */
function webUpstreams(t: TestContext, options: ConstructorParameters<typeof UpstreamSet>[2]): UpstreamSet {
  const set = new UpstreamSet(
    { client: mesh.client, identity, endpoints, metrics: new ProxyMetrics('web-sidecar-proxy'), accessLog: noAccessLog, service: 'web' },
    silentLogger(),
    options,
  );
  t.after(() => set.stop());
  return set;
}

test('an upstream whose port was held past the bind window opens once the port is free, without another apply', async (t) => {
  const set = webUpstreams(t, { bindRetryMs: 300, reopenInitialMs: 100 });
  const blocker = createServer();
  const port = await listen(blocker);
  t.after(() => new Promise<void>((r) => blocker.close(() => r())));

  await assert.rejects(set.apply([{ destinationName: 'db', localBindAddress: '127.0.0.1', localBindPort: port }]), { code: 'EADDRINUSE' });
  assert.equal(set.addresses.has('db'), false);
  await new Promise<void>((r) => blocker.close(() => r()));

  await waitFor(async () => (await tcpExchange(port, 'hi', 1000)).data === 'db:hi', 'the upstream to open once its port is free');
  assert.equal(set.addresses.get('db')?.port, port);
});

test('an upstream that a later apply no longer names is not reopened', async (t) => {
  const set = webUpstreams(t, { bindRetryMs: 300, reopenInitialMs: 100 });
  const blocker = createServer();
  const port = await listen(blocker);
  await assert.rejects(set.apply([{ destinationName: 'db', localBindAddress: '127.0.0.1', localBindPort: port }]), { code: 'EADDRINUSE' });
  await set.apply([]);
  await new Promise<void>((r) => blocker.close(() => r()));
  // Several reopen pauses (100, 200, 400 ms) pass: the port stays free for anyone else.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(set.addresses.has('db'), false);
  const probe = createServer();
  assert.equal(await listen(probe, port), port);
  await new Promise<void>((r) => probe.close(() => r()));
});

test('an upstream whose discovery chain cannot be read does not hold back the next registration edit', async (t) => {
  const set = webUpstreams(t, { firstChainWaitMs: 300 });
  const [remote, local] = [await freePort(), await freePort()];
  const first = set.apply([{ destinationName: 'db', datacenter: 'dc-nowhere', localBindAddress: '127.0.0.1', localBindPort: remote }]);
  const second = set.apply([{ destinationName: 'db', localBindAddress: '127.0.0.1', localBindPort: local }]);
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the second apply is still waiting behind the first')), 30_000);
  });
  try {
    await Promise.race([Promise.all([first, second]), stuck]);
  } finally {
    clearTimeout(timer);
  }
  await waitFor(async () => (await tcpExchange(local, 'hi', 1000)).data === 'db:hi', 'the local db upstream to answer');
});
