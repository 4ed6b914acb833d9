import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { ServiceConfigInput } from './schema.ts';
import { TransportRegistry } from './transport.ts';
import { HealthRegistry } from './health.ts';
import { buildServices, echoUpstream, startGateway, startUpstream } from './testing.ts';
import { GatewayMetrics } from '../metrics/metrics.ts';

const transports = new TransportRegistry();
after(() => transports.close());

function build(services: Record<string, ServiceConfigInput>, metrics?: GatewayMetrics, healthRegistry?: HealthRegistry) {
  return buildServices(services, { transports, metrics, healthRegistry });
}

async function until(cond: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function names(url: string, n: number, headers: Record<string, string> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await request(url, { headers });
    out.push(((await res.body.json()) as { name: string }).name);
  }
  return out;
}

test('weighted round robin follows server weights, interleaved', async (t) => {
  const a = await echoUpstream('a');
  const b = await echoUpstream('b');
  const svc = build({ s: { loadBalancer: { servers: [{ url: a.url, weight: 3 }, { url: b.url, weight: 1 }] } } });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { svc.close(); await gw.close(); await a.close(); await b.close(); });
  const seen = await names(gw.url, 40);
  assert.equal(seen.filter((n) => n === 'a').length, 30);
  assert.equal(seen.filter((n) => n === 'b').length, 10);
  // smooth: never more than 3 a's in a row
  assert.doesNotMatch(seen.join(''), /aaaa/);
});

test('sticky cookie pins a client to its server, and falls back when the server is gone', async (t) => {
  const a = await echoUpstream('a');
  const b = await echoUpstream('b');
  const svc = build({ s: { loadBalancer: { servers: [{ url: a.url }, { url: b.url }], sticky: { cookie: { name: 'lb', httpOnly: true, sameSite: 'lax' } } } } });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { svc.close(); await gw.close(); await a.close(); await b.close(); });
  const first = await request(gw.url);
  const firstName = ((await first.body.json()) as { name: string }).name;
  const setCookie = String(first.headers['set-cookie']);
  const url = firstName === 'a' ? a.url : b.url;
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  assert.equal(setCookie, `lb=${hash}; Path=/; HttpOnly; SameSite=Lax`);
  const again = await names(gw.url, 6, { cookie: `other=1; lb=${hash}` });
  assert.deepEqual(again, Array(6).fill(firstName));
  const unknown = await request(gw.url, { headers: { cookie: 'lb=0000000000000000' } });
  assert.match(String(unknown.headers['set-cookie']), /^lb=[0-9a-f]{16}/);
  await unknown.body.dump();
  // The pinned server leaves the configuration: the client is balanced again and re-pinned.
  const other = firstName === 'a' ? b : a;
  const reduced = build({ s: { loadBalancer: { servers: [{ url: other.url }], sticky: { cookie: { name: 'lb' } } } } });
  gw.holder.handler = reduced.get('s').handler;
  const moved = await request(gw.url, { headers: { cookie: `lb=${hash}` } });
  assert.notEqual(((await moved.body.json()) as { name: string }).name, firstName);
  assert.equal(String(moved.headers['set-cookie']).split(';')[0], `lb=${createHash('sha256').update(other.url).digest('hex').slice(0, 16)}`);
  reduced.close();
});

test('health check takes a server out and back, with traefik_service_server_up following', async (t) => {
  let healthy = true;
  const a = await startUpstream((req, res) => {
    if (req.url === '/health') { res.writeHead(healthy ? 200 : 503); res.end(); return; }
    res.end(JSON.stringify({ name: 'a' }));
  });
  const b = await echoUpstream('b');
  const metrics = new GatewayMetrics();
  const registry = new HealthRegistry();
  const config = { loadBalancer: { servers: [{ url: a.url }, { url: b.url }], healthCheck: { path: '/health', interval: '50ms', timeout: '1s' } } };
  const svc = build({ s: config }, metrics, registry);
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { svc.close(); await gw.close(); await a.close(); await b.close(); });
  healthy = false;
  await until(() => svc.get('s').status().serverStatus[a.url] === 'DOWN', 'server a DOWN');
  assert.match(await metrics.metricsText(), new RegExp(`traefik_service_server_up\\{service="s",url="${a.url}"\\} 0`));
  assert.deepEqual(new Set(await names(gw.url, 6)), new Set(['b']));

  // A reload of the unchanged service keeps knowing that a is down.
  const reloaded = build({ s: config }, metrics, registry);
  assert.equal(reloaded.get('s').status().serverStatus[a.url], 'DOWN');
  reloaded.close();

  healthy = true;
  await until(() => svc.get('s').status().serverStatus[a.url] === 'UP', 'server a UP');
  assert.match(await metrics.metricsText(), new RegExp(`traefik_service_server_up\\{service="s",url="${a.url}"\\} 1`));
  assert.ok((await names(gw.url, 6)).includes('a'));
});

test('a load balancer with no healthy server answers 503 "no available server"', async (t) => {
  const svc = build({ s: { loadBalancer: { servers: [] } } });
  const gw = await startGateway(svc.get('s').handler);
  t.after(() => gw.close());
  const res = await request(gw.url);
  assert.equal(res.statusCode, 503);
  assert.equal(await res.body.text(), 'no available server');
});

test('failover sends traffic to the fallback while the main service has no healthy server', async (t) => {
  let healthy = true;
  const main = await startUpstream((req, res) => {
    if (req.url === '/health') { res.writeHead(healthy ? 200 : 500); res.end(); return; }
    res.end(JSON.stringify({ name: 'main' }));
  });
  const backup = await echoUpstream('backup');
  const svc = build({
    main: { loadBalancer: { servers: [{ url: main.url }], healthCheck: { path: '/health', interval: '50ms', timeout: '1s' } } },
    backup: { loadBalancer: { servers: [{ url: backup.url }] } },
    fo: { failover: { service: 'main', fallback: 'backup' } },
  });
  const gw = await startGateway(svc.get('fo').handler);
  t.after(async () => { svc.close(); await gw.close(); await main.close(); await backup.close(); });
  assert.deepEqual(await names(gw.url, 2), ['main', 'main']);
  healthy = false;
  await until(() => svc.get('main').status().serverStatus[main.url] === 'DOWN', 'main DOWN');
  assert.deepEqual(await names(gw.url, 2), ['backup', 'backup']);
});

test('weighted splits between services by weight', async (t) => {
  const a = await echoUpstream('a');
  const b = await echoUpstream('b');
  const svc = build({
    sa: { loadBalancer: { servers: [{ url: a.url }] } },
    sb: { loadBalancer: { servers: [{ url: b.url }] } },
    w: { weighted: { services: [{ name: 'sa', weight: 1 }, { name: 'sb', weight: 2 }] } },
  });
  const gw = await startGateway(svc.get('w').handler);
  t.after(async () => { svc.close(); await gw.close(); await a.close(); await b.close(); });
  const seen = await names(gw.url, 30);
  assert.equal(seen.filter((n) => n === 'b').length, 20);
});

test('mirroring copies requests (with body) to mirrors by percent; the client sees only the main answer', async (t) => {
  const main = await echoUpstream('main');
  const mirrored: string[] = [];
  const mirror = await startUpstream((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => { mirrored.push(`${req.method} ${req.url} ${body}`); res.end('ignored'); });
  });
  const svc = build({
    m: { loadBalancer: { servers: [{ url: main.url }] } },
    copy: { loadBalancer: { servers: [{ url: mirror.url }] } },
    mir: { mirroring: { service: 'm', mirrors: [{ name: 'copy', percent: 50 }] } },
    small: { mirroring: { service: 'm', maxBodySize: 4, mirrors: [{ name: 'copy', percent: 100 }] } },
  });
  const gw = await startGateway(svc.get('mir').handler);
  t.after(async () => { svc.close(); await gw.close(); await main.close(); await mirror.close(); });
  for (let i = 0; i < 10; i++) {
    const res = await request(`${gw.url}/p${i}`, { method: 'POST', body: `body${i}` });
    const seen = (await res.body.json()) as { name: string; body: string };
    assert.equal(seen.name, 'main');
    assert.equal(seen.body, `body${i}`);
  }
  await until(() => mirrored.length === 5, '5 mirrored requests');
  assert.ok(mirrored.every((m) => /^POST \/p\d body\d$/.test(m)), mirrored.join('|'));

  gw.holder.handler = svc.get('small').handler;
  const big = await request(`${gw.url}/big`, { method: 'POST', body: 'larger than four' });
  assert.equal(((await big.body.json()) as { body: string }).body, 'larger than four');
  await sleep(200);
  assert.equal(mirrored.length, 5, 'a body over maxBodySize is not mirrored');
});
