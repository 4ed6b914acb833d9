/**
 * Traefik v3.7's load-balancer strategies through a real entry point and real upstreams on loopback:
 * - p2c (pkg/server/service/loadbalancer/p2c, Balancer.nextServer): of two servers drawn at random the one with
 *   fewer requests in flight wins — with two servers, every request goes to the one that is not busy;
 * - hrw (hrw/hrw.go, getNodeScore): rendezvous hashing of the client's address (RemoteAddrStrategy) and the server
 *   URL with FNV-1a 64, so a client keeps its server, and only the clients of a server that leaves move;
 * - leasttime (leasttime/leasttime.go, nextServer): lowest average time-to-first-byte × (1 + in flight).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request } from 'undici';
import { buildServices, echoUpstream, startGateway, startUpstream, type Upstream, closeOpenUpstreams } from './testing.ts';
import { TransportRegistry } from './transport.ts';
import { fnv1a64, hrwScore } from './hrw.ts';
import { waitFor } from '../../lib/testing/wait-for.ts';

after(closeOpenUpstreams);

/** An upstream that answers its name, after `delayMs`, and holds `/hold` requests until `release()`. */
async function holdingUpstream(name: string, delayMs = 0): Promise<Upstream & { held: number; release(): void }> {
  const waiting: Array<() => void> = [];
  const up = await startUpstream((req, res) => {
    const answer = () => { res.writeHead(200, { 'x-upstream': name }); res.end(name); };
    if (req.url === '/hold') {
      extra.held++;
      waiting.push(answer);
    } else setTimeout(answer, delayMs);
  });
  const extra = Object.assign(up, { held: 0, release() { for (const w of waiting.splice(0)) w(); } });
  return extra;
}

async function nameOf(url: string): Promise<string> {
  const res = await request(url);
  return String(res.headers['x-upstream'] ?? (await res.body.text()));
}

test('p2c: the server with fewer requests in flight takes the request', async (t) => {
  const transports = new TransportRegistry();
  const a = await holdingUpstream('a');
  const b = await holdingUpstream('b');
  const svc = buildServices({ s: { loadBalancer: { strategy: 'p2c', servers: [{ url: a.url }, { url: b.url }] } } }, { transports });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { a.release(); b.release(); svc.close(); await gw.close(); await transports.close(); await a.close(); await b.close(); });

  const held = request(`${gw.url}/hold`).then((r) => r.body.text());
  await waitFor(() => a.held + b.held === 1, 'the held request to reach a server');
  const busy = a.held === 1 ? 'a' : 'b';
  const idle = busy === 'a' ? 'b' : 'a';
  const seen: string[] = [];
  for (let i = 0; i < 12; i++) seen.push(await nameOf(gw.url));
  // Weighted round robin would send half of these to the busy server.
  assert.deepEqual(seen, Array(12).fill(idle));
  a.release();
  b.release();
  assert.equal(await held, busy);
});

/** A GET from a chosen loopback source address (Linux routes all of 127/8 to lo). */
function getFrom(url: string, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(String(res.headers['x-upstream'])));
    }).on('error', reject);
  });
}

test('hrw: a client keeps the server its address hashes to; only the clients of a server that leaves move', async (t) => {
  // Go's hash/fnv test vector: FNV-1a 64 of "a".
  assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
  const transports = new TransportRegistry();
  let aHealthy = true;
  const a = await startUpstream((req, res) => {
    if (req.url === '/health') { res.writeHead(aHealthy ? 200 : 503); res.end(); return; }
    res.writeHead(200, { 'x-upstream': 'a' }); res.end('a');
  });
  const b = await echoUpstream('b');
  const c = await echoUpstream('c');
  const servers = [a.url, b.url, c.url];
  const svc = buildServices({
    s: { loadBalancer: { strategy: 'hrw', servers: servers.map((url) => ({ url })), healthCheck: { path: '/health', interval: '50ms', timeout: '1s' } } },
  }, { transports });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { svc.close(); await gw.close(); await transports.close(); await a.close(); await b.close(); await c.close(); });

  const names: Record<string, string> = { [a.url]: 'a', [b.url]: 'b', [c.url]: 'c' };
  const expected = (client: string, among: string[]) => names[among.reduce((best, url) => (hrwScore(client, url, 1) > hrwScore(client, best, 1) ? url : best))]!;
  const clients = Array.from({ length: 24 }, (_, i) => `127.0.0.${i + 1}`);
  const first = new Map<string, string>();
  for (const client of clients) {
    const got = await getFrom(gw.url, client);
    assert.equal(got, expected(client, servers), `client ${client}`);
    first.set(client, got);
    // Sticky: the same client again gets the same server.
    assert.equal(await getFrom(gw.url, client), got);
  }
  assert.equal(new Set(first.values()).size, 3, 'the clients spread over all three servers');

  aHealthy = false;
  await waitFor(() => svc.get('s').status().serverStatus[a.url] === 'DOWN', 'server a to be marked down');
  for (const client of clients) {
    const got = await getFrom(gw.url, client);
    if (first.get(client) === 'a') assert.equal(got, expected(client, [b.url, c.url]), `client ${client} moves off a`);
    else assert.equal(got, first.get(client), `client ${client} stays`);
  }
});

test('leasttime: the faster server takes the traffic', async (t) => {
  const transports = new TransportRegistry();
  const slow = await holdingUpstream('slow', 150);
  const fast = await holdingUpstream('fast', 20);
  const svc = buildServices({ s: { loadBalancer: { strategy: 'leasttime', servers: [{ url: slow.url }, { url: fast.url }] } } }, { transports });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { slow.release(); fast.release(); svc.close(); await gw.close(); await transports.close(); await slow.close(); await fast.close(); });

  const seen: string[] = [];
  for (let i = 0; i < 20; i++) seen.push(await nameOf(gw.url));
  // Cold start: equal scores (no sample yet) are broken by round robin, so each server answers once; from then on
  // the slow server's average time to first byte keeps it out.
  assert.equal(seen.filter((n) => n === 'slow').length, 1, seen.join(','));

  fast.release();
});

test('leasttime: a server busy with requests in flight gives way to an equally fast one', async (t) => {
  const transports = new TransportRegistry();
  const x = await holdingUpstream('x', 100);
  const y = await holdingUpstream('y', 100);
  const svc = buildServices({ s: { loadBalancer: { strategy: 'leasttime', servers: [{ url: x.url }, { url: y.url }] } } }, { transports });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { x.release(); y.release(); svc.close(); await gw.close(); await transports.close(); await x.close(); await y.close(); });
  for (let i = 0; i < 4; i++) await nameOf(gw.url);
  // The held request goes to whichever scores lower now; its score doubles (average × (1 + 1 in flight)), so the
  // next requests go to the other server, whose average is about the same.
  const held = request(`${gw.url}/hold`).then((r) => r.body.text());
  await waitFor(() => x.held + y.held === 1, 'the held request to reach a server');
  const busy = x.held === 1 ? 'x' : 'y';
  const seen: string[] = [];
  for (let i = 0; i < 3; i++) seen.push(await nameOf(gw.url));
  assert.deepEqual(seen, Array(3).fill(busy === 'x' ? 'y' : 'x'));
  x.release();
  y.release();
  assert.equal(await held, busy);
});
