/**
 * Transparent mode end to end, inside two network namespaces joined by a veth pair (addresses exist only there):
 * app A dials B's plain address; the iptables rules `meshgate connect redirect-traffic` installed (Consul's
 * sdk/iptables Setup) hand the connection to A's sidecar, which recovers the original destination, maps it to
 * service `b` by its catalog address, and carries it over mTLS to B's sidecar; B's namespace captures inbound
 * traffic into its sidecar, which checks the intention and forwards to the app on 127.0.0.1. A deny intention
 * closes the connection; an excluded port bypasses both sidecars.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { createNetnsPair, execIn, lineMatching, PROXY_UID, spawnIn, type NetnsPair } from './netns.ts';

const node = process.execPath;
const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;

let pair: NetnsPair | undefined;
let skip: string | undefined;
const children: ChildProcess[] = [];

/** An API call made from inside namespace A (the server listens there on 0.0.0.0:8500). */
async function apiCall(method: string, path: string, body?: unknown): Promise<string> {
  const args = ['curl', '-sS', '-f', '-X', method, `http://127.0.0.1:8500${path}`];
  if (body !== undefined) args.push('--data', JSON.stringify(body));
  return execIn(pair!.a, args);
}

async function callFromA(host: string, port: number): Promise<string> {
  return (await execIn(pair!.a, [node, fixture('tcp-call.ts'), host, String(port)])).trim();
}

before(async () => {
  const created = await createNetnsPair('tpm');
  if ('skip' in created) {
    skip = created.skip;
    return;
  }
  pair = created;
  const { a, b } = pair;
  // Rules go in first, as an init container installs them before anything in the pod runs: the kernel tracks
  // connections in a namespace only once a NAT table exists there, and a connection it picked up mid-stream would
  // have its first tracked packet NATed like a new one. A's rules take the ports as flags; B's read them from the
  // proxy's registration (-proxy-id) below.
  await execIn(a, [node, cli, 'connect', 'redirect-traffic', '-proxy-uid', String(PROXY_UID), '-proxy-inbound-port', '21001',
    '-exclude-outbound-port', '9999',
    // The server shares namespace A here (in a real deployment it runs elsewhere): B's sidecar must reach it.
    '-exclude-inbound-port', '8500']);
  const serverProcess = spawnIn(a, [node, cli, 'server', '-dev', '-http-addr', '0.0.0.0:8500', '-dns-port', '-1', '-node-name', 'node-a']);
  children.push(serverProcess);
  await lineMatching(serverProcess, /Meshgate server running/);
  const echo = spawnIn(b, [node, fixture('tcp-echo.ts'), '8080', '9999']);
  children.push(echo);
  await lineMatching(echo, /^ready$/);

  await apiCall('PUT', '/v1/agent/service/register', { ID: 'b', Name: 'b', Address: b.address, Port: 8080 });
  await apiCall('PUT', '/v1/agent/service/register', {
    Kind: 'connect-proxy', ID: 'b-sidecar-proxy', Name: 'b-sidecar-proxy', Address: b.address, Port: 21000,
    Proxy: { DestinationServiceName: 'b', DestinationServiceID: 'b', LocalServiceAddress: '127.0.0.1', LocalServicePort: 8080 },
  });
  await apiCall('PUT', '/v1/agent/service/register', { ID: 'a', Name: 'a', Address: a.address, Port: 9000 });
  await apiCall('PUT', '/v1/agent/service/register', {
    Kind: 'connect-proxy', ID: 'a-sidecar-proxy', Name: 'a-sidecar-proxy', Address: a.address, Port: 21001,
    Proxy: { DestinationServiceName: 'a', DestinationServiceID: 'a', LocalServicePort: 9000, Mode: 'transparent' },
  });
  await apiCall('PUT', '/v1/connect/intentions/exact?source=a&destination=b', { Action: 'allow' });

  await execIn(b, [node, cli, 'connect', 'redirect-traffic', '-proxy-uid', String(PROXY_UID), '-proxy-id', 'b-sidecar-proxy',
    '-http-addr', `${a.address}:8500`, '-exclude-inbound-port', '9999']);

  // Sidecars start as root (to open conntrack) and run as PROXY_UID, the UID the rules exclude.
  for (const [ns, id, api] of [[b, 'b-sidecar-proxy', `${a.address}:8500`], [a, 'a-sidecar-proxy', '127.0.0.1:8500']] as const) {
    const proxy = spawnIn(ns, [node, cli, 'proxy', '-proxy-id', id, '-http-addr', api, '-no-register-checks', '-run-as-uid', String(PROXY_UID), '-log-level', process.env.DEBUG_PROXY ? 'debug' : 'warn']);
    if (process.env.DEBUG_PROXY) proxy.stdout!.on('data', (d: Buffer) => console.error(id, d.toString().slice(0, 400)));
    children.push(proxy);
    await lineMatching(proxy, /Meshgate proxy running/);
  }
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await pair?.cleanup();
});

test('A dials B\'s plain address: captured, carried over mTLS, delivered by B\'s sidecar', { timeout: 120_000 }, async (t) => {
  if (skip) return t.skip(skip);
  // B's app sees the connection from 127.0.0.1 (its sidecar), not from A's address as a direct dial would.
  const answer = await waitFor(async () => {
    const reply = await callFromA(pair!.b.address, 8080);
    return reply === '8080 from 127.0.0.1' ? reply : undefined;
  }, 'a call through both sidecars', { deadlineMs: 60_000 });
  assert.equal(answer, '8080 from 127.0.0.1');
});

test('a deny intention refuses the captured connection at B\'s sidecar', { timeout: 120_000 }, async (t) => {
  if (skip) return t.skip(skip);
  await apiCall('PUT', '/v1/connect/intentions/exact?source=a&destination=b', { Action: 'deny' });
  const refused = await waitFor(async () => {
    const reply = await callFromA(pair!.b.address, 8080);
    return /^(CLOSED|ERROR )/.test(reply) ? reply : undefined;
  }, 'the deny taking effect', { deadlineMs: 60_000 });
  assert.match(refused, /^(CLOSED|ERROR ECONNRESET)$/);
  await apiCall('PUT', '/v1/connect/intentions/exact?source=a&destination=b', { Action: 'allow' });
  await waitFor(async () => (await callFromA(pair!.b.address, 8080)) === '8080 from 127.0.0.1', 'the allow again', { deadlineMs: 60_000 });
});

test('an excluded port bypasses both sidecars', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  assert.equal(await callFromA(pair!.b.address, 9999), `9999 from ${pair!.a.address}`);
});
