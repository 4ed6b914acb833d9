/**
 * The inbound sidecar's connect timeout to the local app (Proxy.Config.local_connect_timeout_ms, 1000 by default as
 * in Consul's built-in proxy) must not cut a connect that completed while the event loop was held up. On a loaded
 * host, test/proxy/l7-traffic's 90/10 split lost its first requests that way now and then (503, sidecar log: "local
 * app request failed: local app connect timeout"): a loopback connect completes in the kernel at once, but after the
 * process had been held up past the timeout Node ran the expired timer before it polled the finished connect.
 *
 * Here the hold-up is certain: every client socket the process opens while the stall is armed (`net.client.socket`)
 * holds the loop for 400 ms right after its connect started — longer than the sidecar's 100 ms timeout.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../helpers/server.ts';
import { allow, closeKeepAlive, httpGet, registerSidecar, runProxy, startMesh, startTcpApp, tcpExchange, type Mesh } from './helpers.ts';

let mesh: Mesh;
let apiPort: number;
let dbPort: number;

/** Holds the event loop (synchronously) for `ms`: what a starved or pausing process looks like from inside. */
function holdLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* held */ }
}

const stallAfterConnect = (): void => {
  // setImmediate: after the connect syscall (queued with process.nextTick) and the sidecar arming its timer.
  setImmediate(() => holdLoop(400));
};

/** An HTTP app that closes every connection after its answer, so each request makes the sidecar connect anew. */
async function closingApp(): Promise<number> {
  const server = createServer((req, res) => res.writeHead(200, { connection: 'close' }).end(`api ${req.method} ${req.url}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mesh.cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

async function withStalls<T>(run: () => Promise<T>): Promise<T> {
  subscribe('net.client.socket', stallAfterConnect);
  try {
    return await run();
  } finally {
    unsubscribe('net.client.socket', stallAfterConnect);
  }
}

before(async () => {
  mesh = await startMesh();
  await mesh.client.configEntries.set({ Kind: 'service-defaults', Name: 'api', Protocol: 'http' } as { Kind: string; Name: string });
  apiPort = await freePort();
  dbPort = await freePort();
  const web = await registerSidecar(mesh, { service: 'web', appPort: await freePort(), upstreams: [{ name: 'api', port: apiPort }, { name: 'db', port: dbPort }] });
  const timeout = { local_connect_timeout_ms: 100 };
  const api = await registerSidecar(mesh, { service: 'api', appPort: await closingApp(), proxyConfig: timeout });
  const db = await registerSidecar(mesh, { service: 'db', appPort: await startTcpApp(mesh, 'db'), proxyConfig: timeout });
  await allow(mesh, 'web', 'api');
  await allow(mesh, 'web', 'db');
  for (const id of [web.proxyId, api.proxyId, db.proxyId]) await runProxy(mesh, id);
  // Both paths are up before the stalls begin (the first request also opens the peer connections).
  assert.equal((await tcpExchange(dbPort, 'warm', 30_000)).data, 'db:warm');
  assert.equal((await httpGet(apiPort, '/warm')).status, 200);
});

after(async () => {
  closeKeepAlive();
  await mesh?.close();
});

test('http: a new connection to the app that completed during a held-up loop is not timed out', async () => {
  const r = await withStalls(() => httpGet(apiPort, '/new-connection'));
  assert.deepEqual({ status: r.status, body: r.body }, { status: 200, body: 'api GET /new-connection' });
});

test('tcp: a connection to the app that completed during a held-up loop is not timed out', async () => {
  const r = await withStalls(() => tcpExchange(dbPort, 'held', 30_000));
  assert.equal(r.data, 'db:held');
});
