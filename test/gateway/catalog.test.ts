/**
 * The gateway follows the Consul catalog end to end: a real `meshgate server` (in-process), upstream instances of
 * one service registered through the agent API with HTTP checks, a gateway from `runGateway` (1 worker,
 * in-process) with `providers.consulCatalog` and a retry middleware declared in tags, and steady client traffic.
 *
 * - stopping an upstream costs clients nothing beyond the retry budget (0 non-2xx), and the instance leaves the
 *   routing once its check goes critical;
 * - a fourth instance takes traffic shortly after its check passes (the delay is printed, only a generous bound is
 *   asserted);
 * - stopping the server leaves routing on the last configuration; restarting the gateway with the server still
 *   down brings the routes back from the persisted last-good file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { createClient, type ConsulClient } from '../../src/api/client.ts';
import { ConsulCatalogProvider } from '../../src/gateway/providers/consulcatalog.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import type { DynamicConfig } from '../../src/gateway/config/dynamic.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import { freePort, startTestServer } from '../helpers/server.ts';
import { catalogStaticYaml, eventually, startGateway, startUpstream, tempDir, type Upstream } from './helpers.ts';

const TAGS = [
  'traefik.enable=true',
  'traefik.http.routers.web.rule=PathPrefix(`/`)',
  'traefik.http.routers.web.entrypoints=web',
  'traefik.http.routers.web.middlewares=retry3',
  'traefik.http.middlewares.retry3.retry.attempts=3',
];

async function register(consul: ConsulClient, id: string, upstream: Upstream): Promise<void> {
  const port = Number(new URL(upstream.url).port);
  await consul.agent.serviceRegister({
    ID: id,
    Name: 'web',
    Address: '127.0.0.1',
    Port: port,
    Tags: TAGS,
    // The server raises intervals below its minimum (Consul's 1s) to the minimum; 200ms is what we ask for.
    Check: { HTTP: `${upstream.url}/health`, Interval: '200ms', Timeout: '500ms' },
  } as Parameters<ConsulClient['agent']['serviceRegister']>[0]);
}

/** Resolves with the time an instance is first seen with the given aggregated state, following a blocking query. */
async function whenInstance(consul: ConsulClient, id: string, want: (statuses: string[] | undefined) => boolean, signal: AbortSignal): Promise<number> {
  for await (const { value } of consul.watch((q) => consul.health.service('web', q), { signal, waitMs: 5_000 })) {
    const entry = value.find((e) => e.Service.ID === id);
    if (want(entry?.Checks.map((c) => c.Status))) return performance.now();
  }
  throw new Error(`watch for ${id} ended`);
}

interface Sample {
  at: number;
  status: number;
  upstream?: string;
  error?: string;
}

/** Steady traffic: `concurrency` loops sending GET / until stopped, every answer recorded with its time. */
function traffic(url: string, concurrency = 4) {
  const samples: Sample[] = [];
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const res = await request(`${url}/`, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
        const text = await res.body.text();
        let upstream: string | undefined;
        try {
          upstream = JSON.parse(text).upstream;
        } catch {
          upstream = undefined;
        }
        samples.push({ at: performance.now(), status: res.statusCode, ...(upstream ? { upstream } : {}) });
      } catch (err) {
        samples.push({ at: performance.now(), status: 0, error: (err as Error).message });
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  });
  return {
    samples,
    since: (t: number) => samples.filter((s) => s.at >= t),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

const failures = (samples: Sample[]) => samples.filter((s) => s.status < 200 || s.status >= 300);

async function servers(admin: string): Promise<string[]> {
  const res = await request(`${admin}/api/http/services/web@consulcatalog`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`dashboard API: ${res.statusCode} ${text}`);
  return (JSON.parse(text).loadBalancer?.servers ?? []).map((s: { url: string }) => s.url).sort();
}

test('catalog-driven routing: instance loss, instance arrival, server loss, cold start from the last good file', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer();
  let serverUp = true;
  const consul = createClient({ address: server.url, env: {} });
  const ups = await Promise.all(['u1', 'u2', 'u3', 'u4'].map((n) => startUpstream(n)));
  const [u1, u2, u3, u4] = ups as [Upstream, Upstream, Upstream, Upstream];
  const watches = new AbortController();
  const dir = await tempDir('mg-catalog-');
  const configFile = join(dir, 'gateway.yml');
  await writeFile(configFile, catalogStaticYaml(server.url));
  let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
  t.after(async () => {
    watches.abort();
    await gw?.close();
    for (const u of ups) await u.close().catch(() => undefined);
    if (serverUp) await server.close();
  });

  for (const [i, u] of [u1, u2, u3].entries()) await register(consul, `web-${i + 1}`, u);
  gw = await startGateway(configFile);
  const web = gw.web;

  // All three instances pass their checks and take traffic.
  await eventually(async () => assert.deepEqual(await servers(gw!.admin), [u1.url, u2.url, u3.url].sort()), 20_000);
  const load = traffic(web);
  await eventually(async () => {
    const seen = new Set(load.samples.map((s) => s.upstream));
    assert.ok(seen.has('u1') && seen.has('u2') && seen.has('u3'), `upstreams seen: ${[...seen].join(',')}`);
  });

  // 1. Stop one upstream: no client error beyond the retry budget; it leaves the routing once its check is critical.
  const critical = whenInstance(consul, 'web-1', (s) => s?.includes('critical') ?? false, watches.signal);
  const stoppedAt = performance.now();
  await u1.close();
  const criticalAt = await critical;
  const removedAt = await eventually(async () => {
    assert.deepEqual(await servers(gw!.admin), [u2.url, u3.url].sort());
    return performance.now();
  }, 20_000);
  // A few more requests after the removal, then look at everything since the stop.
  await new Promise((r) => setTimeout(r, 300));
  const afterStop = load.since(stoppedAt);
  assert.deepEqual(failures(afterStop), [], 'no non-2xx after retry while an instance went away');
  const lastU1 = Math.max(0, ...afterStop.filter((s) => s.upstream === 'u1').map((s) => s.at));
  assert.ok(load.since(removedAt + 100).every((s) => s.upstream !== 'u1'), 'u1 gets nothing once removed');

  // 2. A fourth instance: it takes traffic shortly after its check passes.
  const passing = whenInstance(consul, 'web-4', (s) => s !== undefined && s.every((x) => x === 'passing'), watches.signal);
  const registeredAt = performance.now();
  await register(consul, 'web-4', u4);
  const passingAt = await passing;
  const firstU4 = await eventually(async () => {
    const hit = load.samples.find((s) => s.upstream === 'u4');
    assert.ok(hit, 'u4 took no traffic yet');
    return hit.at;
  }, 20_000);
  const arrivalDelay = firstU4 - passingAt;
  assert.ok(arrivalDelay < 5_000, `u4 took traffic ${arrivalDelay.toFixed(0)}ms after its check passed`);

  // 3. Stop the server: routing goes on with the last configuration.
  await server.close();
  serverUp = false;
  const serverDownAt = performance.now();
  await new Promise((r) => setTimeout(r, 1_500));
  const whileDown = load.since(serverDownAt);
  await load.stop();
  assert.ok(whileDown.length > 20, `traffic kept flowing (${whileDown.length} requests)`);
  assert.deepEqual(failures(whileDown), [], 'no failure while the server is down');
  assert.deepEqual(new Set(whileDown.map((s) => s.upstream)), new Set(['u2', 'u3', 'u4']));
  assert.deepEqual(failures(load.samples), [], 'no non-2xx at any point');

  // 4. Restart the gateway with the server still down: routes come back from the persisted last-good file.
  await gw.close();
  const restartAt = performance.now();
  gw = await startGateway(configFile);
  const coldFirst = await eventually(async () => {
    const res = await request(`${gw!.web}/`);
    const body = await res.body.json() as { upstream: string };
    assert.equal(res.statusCode, 200);
    assert.ok(['u2', 'u3', 'u4'].includes(body.upstream));
    return performance.now();
  }, 10_000);
  assert.deepEqual(await servers(gw.admin), [u2.url, u3.url, u4.url].sort());

  const figures = {
    stopToCheckCriticalMs: Math.round(criticalAt - stoppedAt),
    checkCriticalToRemovedFromRoutingMs: Math.round(removedAt - criticalAt),
    lastRequestServedByStoppedInstanceMs: lastU1 > 0 ? Math.round(lastU1 - stoppedAt) : 0,
    registerToCheckPassingMs: Math.round(passingAt - registeredAt),
    checkPassingToFirstRequestMs: Math.round(arrivalDelay),
    requestsTotal: load.samples.length,
    non2xx: failures(load.samples).length,
    requestsWhileServerDown: whileDown.length,
    coldStartToFirstRoutedRequestMs: Math.round(coldFirst - restartAt),
  };
  // Quoted in reports: measured on this machine, not asserted beyond the generous bounds above.
  console.log(`catalog propagation: ${JSON.stringify(figures)}`);
  t.diagnostic(`catalog propagation: ${JSON.stringify(figures)}`);
});

function catalogProvider(address: string, block: Record<string, unknown> = {}) {
  const config = validateStaticConfig({ providers: { consulCatalog: { endpoint: { address }, ...block } } }).providers.consulCatalog!;
  const provider = new ConsulCatalogProvider({ config, logger: silentLogger(), backoff: { initialMs: 50, maxMs: 200 } });
  const emitted: DynamicConfig[] = [];
  const controller = new AbortController();
  return {
    provider,
    emitted,
    last: () => emitted.at(-1),
    start: () => provider.start((c) => emitted.push(c), controller.signal),
    stop: () => controller.abort(),
  };
}

test('provider: nothing is emitted while the server is unreachable (no empty configuration); it catches up when the server comes', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const p = catalogProvider(`127.0.0.1:${port}`);
  t.after(() => p.stop());
  await p.start(); // returns at once, never waits on the server
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(p.emitted.length, 0, 'no configuration from an unreachable server');
  const server = await startServer({ dev: true, httpAddr: `127.0.0.1:${port}`, nodeName: 'node-1', datacenter: 'dc1' }, silentLogger());
  t.after(() => server.close());
  const consul = createClient({ address: server.url, env: {} });
  await consul.agent.serviceRegister({ ID: 'api-1', Name: 'api', Address: '10.0.0.1', Port: 9000, Tags: ['traefik.http.routers.api.rule=Path(`/api`)'] } as Parameters<ConsulClient['agent']['serviceRegister']>[0]);
  await eventually(async () => {
    assert.deepEqual(p.last()?.http.routers.api, { rule: 'Path(`/api`)', service: 'api' });
    assert.deepEqual(p.last()?.http.services.api?.loadBalancer?.servers, [{ url: 'http://10.0.0.1:9000' }]);
  });
  // The server goes away: the watches retry, and nothing (certainly not an empty configuration) is emitted.
  const count = p.emitted.length;
  await server.close();
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(p.emitted.length, count);
});

test('provider: one health watch per wanted service, started and stopped as services come and go; enable and constraints filter services', { timeout: 60_000 }, async (t) => {
  const server = await startTestServer();
  t.after(() => server.close());
  const consul = createClient({ address: server.url, env: {} });
  const p = catalogProvider(server.url.replace('http://', ''), { exposedByDefault: false, constraints: '!Tag(`internal`)' });
  t.after(() => p.stop());
  await p.start();
  const reg = (ID: string, Name: string, Tags: string[]) =>
    consul.agent.serviceRegister({ ID, Name, Address: '10.0.0.2', Port: 80, Tags } as Parameters<ConsulClient['agent']['serviceRegister']>[0]);
  await reg('a-1', 'alpha', ['traefik.enable=true']);
  await reg('b-1', 'beta', ['traefik.enable=true', 'internal']);
  await reg('c-1', 'gamma', []);
  await eventually(async () => {
    assert.deepEqual(p.provider.watchedServices(), ['alpha']);
    assert.deepEqual(Object.keys(p.last()?.http.routers ?? {}), ['alpha']);
    assert.equal(p.last()?.http.routers.alpha?.rule, 'Host(`alpha`)');
  });
  await reg('a-2', 'alpha', ['traefik.enable=true']); // same address: one server (Traefik dedups by URL)
  await reg('d-1', 'delta', ['traefik.enable=true']);
  await eventually(async () => assert.deepEqual(p.provider.watchedServices(), ['alpha', 'delta']));
  await consul.agent.serviceDeregister('d-1');
  await eventually(async () => {
    assert.deepEqual(p.provider.watchedServices(), ['alpha']);
    assert.deepEqual(Object.keys(p.last()?.http.services ?? {}), ['alpha']);
  });
  // Emitting is change-driven: every emitted configuration differs from the one before it.
  for (let i = 1; i < p.emitted.length; i++) assert.notDeepEqual(p.emitted[i], p.emitted[i - 1]);
});
