/**
 * Issue 14, item 4: a large reload must not stall the requests of the old configuration. In cluster mode a
 * configuration that adds `workerRoll.growthElements` elements or more is never built by a worker that serves: the
 * primary forks fresh workers that build it before they accept a connection, and retires the old ones in one swap once
 * every replacement serves (runtime/worker-roll.ts decides, runtime/worker-roller.ts `replaceAll` rolls, main.ts
 * runCluster owns the workers) — nginx's reload, where the master starts new workers with the new configuration and
 * tells the old ones to finish gracefully. Through a roll the cluster's Prometheus counters do not fall: a retired
 * worker's last counters stay in the sum (metrics/metrics.ts ClusterMetrics).
 *
 * Each test drives a real two-worker cluster (this test process is the primary) through the file provider while
 * clients send requests; they count answers and look at which worker (pid) reported which configuration served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runGateway, type GatewayHandle } from '../../src/gateway/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { WorkerMessage } from '../../src/gateway/runtime/ipc.ts';
import { driveRequests as drive } from './helpers.ts';
import { ClusterMetrics, type RegistryJSON } from '../../src/gateway/metrics/metrics.ts';

/** `count` routers; the `/` router adds `X-Config: <tag>` to its answers, so a client sees which configuration answered. */
function dynamicFile(upstream: string, count: number, tag: string): string {
  const lines = ['http:', '  routers:', '    main:', '      rule: PathPrefix(`/`)', '      service: app', '      middlewares: [tag]'];
  for (let i = 1; i < count; i++) lines.push(`    r${i}:`, `      rule: Host(\`h${i}.test\`) && PathPrefix(\`/p${i % 100}\`)`, '      service: app');
  lines.push('  middlewares:', '    tag:', '      headers:', '        customResponseHeaders:', `          X-Config: "${tag}"`);
  lines.push('  services:', '    app:', '      loadBalancer:', '        servers:', `          - url: "${upstream}"`);
  return `${lines.join('\n')}\n`;
}
/** configurationElements of dynamicFile(…, count, …): the routers, one middleware, one service. */
const elementsOf = (count: number) => count + 2;

const livePids = () => Object.values(cluster.workers ?? {}).flatMap((w) => (w && !w.isDead() && w.process.pid !== undefined ? [w.process.pid] : []));

/** The summed samples of `name` whose label set contains `label` (e.g. `entrypoint="web"`). */
function total(text: string, name: string, label: string): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (m[1]!.includes(label)) sum += Number(m[2]);
  return sum;
}

interface Cluster {
  handle: GatewayHandle;
  port: number;
  metricsUrl: string;
  write(count: number, tag: string): Promise<void>;
  /** Every configuration size (elements) each worker pid reported serving, in order. */
  applied: Map<number, number[]>;
  /** Pids of the workers forked so far, in order. */
  forked: number[];
}

async function startCluster(t: { after(fn: () => unknown): void }, workerRoll: string): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'mg-worker-grow-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const upstream = http.createServer((_, res) => res.end('ok'));
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    upstream.close(() => resolve());
    upstream.closeAllConnections();
  }));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const dynamic = join(dir, 'dynamic.yml');
  const write = async (count: number, tag: string) => {
    await writeFile(`${dynamic}.tmp`, dynamicFile(upstreamUrl, count, tag));
    await rename(`${dynamic}.tmp`, dynamic);
  };
  await write(1, 'small');
  const configFile = join(dir, 'static.yml');
  await writeFile(configFile, [
    'entryPoints:', '  web:', '    address: "127.0.0.1:0"', '  traefik:', '    address: "127.0.0.1:0"',
    'providers:', '  providersThrottleDuration: 10ms', '  file:', `    filename: "${dynamic}"`, '    watch: true',
    'metrics:', '  prometheus: {}', workerRoll, 'log:', '  level: ERROR', '',
  ].join('\n'));
  const applied = new Map<number, number[]>();
  const forked: number[] = [];
  const onMessage = (worker: Worker, message: WorkerMessage) => {
    if (message?.type !== 'meshgate:applied') return;
    const list = applied.get(worker.process.pid!) ?? [];
    list.push(message.elements);
    applied.set(worker.process.pid!, list);
  };
  const onFork = (worker: Worker) => forked.push(worker.process.pid!);
  cluster.on('message', onMessage);
  cluster.on('fork', onFork);
  t.after(() => {
    cluster.off('message', onMessage);
    cluster.off('fork', onFork);
  });
  const handle = await runGateway({ configFile, workers: 2, lastGoodFile: false, handleSignals: false, logger: silentLogger() });
  t.after(() => handle.close());
  const addresses = handle.addresses();
  return { handle, port: addresses.web!.port, metricsUrl: `http://127.0.0.1:${addresses.traefik!.port}/metrics`, write, applied, forked };
}

const served = (c: Cluster, pid: number) => c.applied.get(pid)?.at(-1);

/** Waits until both workers serve the one-router configuration; their pids. */
const bothServingSmall = (c: Cluster) => waitFor(() => {
  const pids = livePids();
  return pids.length === 2 && pids.every((pid) => served(c, pid) === elementsOf(1)) && pids;
}, 'both workers serving the one-router configuration', { deadlineMs: 60_000 });

test('cluster mode: a configuration that grows by workerRoll.growthElements is built in fresh workers; the serving ones never build it, no request fails, answers turn new once', { timeout: 240_000 }, async (t) => {
  const c = await startCluster(t, 'workerRoll:\n  growthElements: 2000');
  const started = await bothServingSmall(c);
  // One client on one keep-alive connection (its answers in order), two more keep-alive loops, one opening a new
  // connection per request (it reaches a replacement as soon as that listens: it must never find an empty table).
  const single = drive(c.port, 1, true);
  const keepAlive = drive(c.port, 2, true);
  const fresh = drive(c.port, 1, false);
  t.after(() => Promise.all([single.stop(), keepAlive.stop(), fresh.stop()]));
  await waitFor(() => single.answers.length > 50, 'answers before the large configuration');

  await c.write(3000, 'large');
  const replaced = await waitFor(() => {
    const pids = livePids();
    return pids.length === 2 && pids.every((pid) => !started.includes(pid) && served(c, pid) === elementsOf(3000)) && pids;
  }, () => `two new workers serving 3,000 routers and the old ones gone (live ${livePids().join(',')}; applied ${JSON.stringify([...c.applied])})`, { deadlineMs: 180_000, intervalMs: 50 });
  const before = single.answers.length;
  await waitFor(() => single.answers.length > before + 50, 'answers from the new workers');
  await Promise.all([single.stop(), keepAlive.stop(), fresh.stop()]);

  for (const pid of started) assert.deepEqual(c.applied.get(pid), [elementsOf(1)], `the serving worker ${pid} never built the large configuration`);
  for (const pid of replaced) assert.equal(c.applied.get(pid)?.[0], elementsOf(3000), `the replacement ${pid} served the large configuration first`);
  t.diagnostic(`answers: ${single.answers.length} single keep-alive, ${keepAlive.answers.length} keep-alive, ${fresh.answers.length} new-connection`);
  assert.deepEqual([...single.failures, ...keepAlive.failures, ...fresh.failures], [], 'no request refused, reset or failed across the swap');
  for (const { answers } of [single, keepAlive, fresh]) {
    assert.ok(answers.every((a) => a.tag === 'small' || a.tag === 'large'), 'every answer came from a built configuration (none from an empty table)');
  }
  const tags = single.answers.map((a) => a.tag);
  const firstNew = tags.indexOf('large');
  assert.ok(firstNew > 0, 'the single client saw the old configuration, then the new one');
  assert.equal(tags.lastIndexOf('small'), firstNew - 1, 'on one connection, every answer after the first new one is new');
});

test('cluster mode: a configuration that arrives while a growth roll is under way ends up on every serving worker', { timeout: 240_000 }, async (t) => {
  const c = await startCluster(t, 'workerRoll:\n  growthElements: 2000');
  const started = await bothServingSmall(c);
  await c.write(3000, 'large');
  // A replacement is forked: the roll is under way. The next configuration (one router more) arrives now.
  await waitFor(() => c.forked.length > 2, 'a replacement forked for the large configuration', { deadlineMs: 60_000, intervalMs: 5 });
  const rolling = livePids().filter((pid) => !started.includes(pid));
  await c.write(3001, 'latest');
  const replaced = await waitFor(() => {
    const pids = livePids();
    return pids.length === 2 && pids.every((pid) => !started.includes(pid) && served(c, pid) === elementsOf(3001)) && pids;
  }, () => `two new workers serving the latest configuration (live ${livePids().join(',')}; applied ${JSON.stringify([...c.applied])})`, { deadlineMs: 180_000, intervalMs: 50 });
  assert.ok(rolling.every((pid) => replaced.includes(pid)), 'the replacements forked for the roll are the ones serving');
  for (const pid of started) assert.deepEqual(c.applied.get(pid), [elementsOf(1)], `the old worker ${pid} built neither large configuration`);
  // New connections land on either worker: each answers from the latest configuration.
  for (let i = 0; i < 20; i++) {
    const tag = await new Promise<string | undefined>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: c.port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['x-config'] as string | undefined));
      }).on('error', reject);
    });
    assert.equal(tag, 'latest', `answer ${i} from the latest configuration`);
  }
});

test('cluster mode: Prometheus counters do not fall when workers are rolled out (a retired worker\'s counters stay in the sum, its gauges leave)', { timeout: 240_000 }, async (t) => {
  // A shrink roll (it exists before growth rolls): in place up to 1,500 routers, then back to one; a tiny threshold so
  // that both workers are replaced.
  const c = await startCluster(t, 'workerRoll:\n  thresholdMiB: 0.5');
  const started = await bothServingSmall(c);
  const clients = drive(c.port, 2, true);
  const fresh = drive(c.port, 1, false);
  t.after(() => Promise.all([clients.stop(), fresh.stop()]));
  const scrapes: number[] = [];
  let scraping = true;
  const scraper = (async () => {
    while (scraping) {
      const text = await (await fetch(c.metricsUrl)).text();
      scrapes.push(total(text, 'traefik_entrypoint_requests_total', 'entrypoint="web"'));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  t.after(async () => {
    scraping = false;
    await scraper;
  });
  await waitFor(() => clients.answers.length > 100, 'answers before the reloads');
  await c.write(1500, 'large');
  await waitFor(() => started.every((pid) => served(c, pid) === elementsOf(1500)), 'both workers serving 1,500 routers', { deadlineMs: 120_000, intervalMs: 50 });
  await c.write(1, 'small');
  await waitFor(() => {
    const pids = livePids();
    return pids.length === 2 && pids.every((pid) => !started.includes(pid) && served(c, pid) === elementsOf(1)) && pids;
  }, 'both workers replaced after the shrink', { deadlineMs: 120_000, intervalMs: 50 });
  const before = clients.answers.length;
  await waitFor(() => clients.answers.length > before + 50, 'answers from the new workers');
  await Promise.all([clients.stop(), fresh.stop()]);
  scraping = false;
  await scraper;

  const answered = clients.answers.length + fresh.answers.length;
  const text = await (await fetch(c.metricsUrl)).text();
  const last = total(text, 'traefik_entrypoint_requests_total', 'entrypoint="web"');
  t.diagnostic(`${scrapes.length} scrapes during the run; ${answered} answers; web requests counted at the end: ${last}`);
  assert.deepEqual([...clients.failures, ...fresh.failures], [], 'no request failed');
  const falls = scrapes.flatMap((value, i) => (i > 0 && value < scrapes[i - 1]! ? [`${scrapes[i - 1]} → ${value}`] : []));
  assert.deepEqual(falls, [], 'the cluster sum of traefik_entrypoint_requests_total never fell');
  assert.ok(last >= answered, `every answered request is still counted after both workers were replaced (${last} ≥ ${answered})`);
  const durations = total(text, 'traefik_entrypoint_request_duration_seconds_count', 'entrypoint="web"');
  assert.ok(durations >= answered, `the histogram's count keeps the retired workers' requests (${durations} ≥ ${answered})`);
});

test('ClusterMetrics keeps a retired worker\'s counters and histograms (each by its own aggregator) and drops its gauges', async () => {
  const family = (name: string, type: string, aggregator: string, value: number) => ({ name, help: name, type, aggregator, values: [{ labels: { entrypoint: 'web' }, value }] });
  const histogram = (count: number) => ({
    name: 'd', help: 'd', type: 'histogram', aggregator: 'sum',
    values: [{ labels: { entrypoint: 'web', le: '+Inf' }, value: count, metricName: 'd_bucket' }, { labels: { entrypoint: 'web' }, value: count, metricName: 'd_count' }],
  });
  const worker = (requests: number, reloads: number, open: number, count: number) =>
    [family('requests_total', 'counter', 'sum', requests), family('reloads_total', 'counter', 'max', reloads), family('open', 'gauge', 'sum', open), histogram(count)] as unknown as RegistryJSON;
  const metrics = new ClusterMetrics();
  metrics.retire(worker(10, 3, 4, 10));
  metrics.retire(worker(5, 3, 2, 5));
  const text = await metrics.metricsText([worker(1, 4, 1, 1)]);
  assert.equal(total(text, 'requests_total', 'entrypoint="web"'), 16, 'counters of retired workers are summed with the live ones');
  assert.equal(total(text, 'reloads_total', 'entrypoint="web"'), 4, 'a max-aggregated counter stays a max');
  assert.equal(total(text, 'open', 'entrypoint="web"'), 1, 'gauges are the live workers\' only');
  assert.equal(total(text, 'd_count', 'entrypoint="web"'), 16, 'histogram counts add up');
  assert.equal(total(text, 'd_bucket', 'entrypoint="web"'), 16, 'histogram buckets add up');
});
