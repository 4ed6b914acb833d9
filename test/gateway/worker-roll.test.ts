/**
 * Issue 14, item 4: memory returns after a smaller configuration replaces a larger one. In cluster mode the primary
 * replaces a worker left holding a large replaced build (runtime/worker-roll.ts decides, runtime/worker-roller.ts
 * rolls): a new worker first, the old one drained after, one at a time — nginx's reload. These tests drive a real
 * two-worker cluster (this test process is the primary) through one router → 5,000 → one while clients send
 * requests throughout, and check that no request failed, that both workers were replaced, and that the new ones are
 * back near the start's resident set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runGateway } from '../../src/gateway/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { driveRequests as drive } from './helpers.ts';
import { DEFAULT_WORKER_ROLL_GROWTH_ELEMENTS, MIN_SHRINK_ELEMENTS, WorkerRollPolicy, configurationElements, workerRollSettings } from '../../src/gateway/runtime/worker-roll.ts';
import { loadStaticConfig } from '../../src/gateway/config/static.ts';
import { ConfigurationAssembler, sendConfiguration } from '../../src/gateway/runtime/ipc.ts';
import { NEVER_YIELD } from '../../src/lib/slices.ts';
import { emptyDynamicConfig } from '../../src/gateway/config/dynamic.ts';
import type { WorkerMessage } from '../../src/gateway/runtime/ipc.ts';

test('the roll rule: only a shrink to half or less, and only when the worker stays above a fresh one by the threshold', () => {
  const policy = new WorkerRollPolicy({ enabled: true, thresholdMiB: 64, growthElements: 10_000 });
  assert.equal(policy.applied(1, { elements: 2, rssMiB: 120, first: true }), undefined, 'a fresh worker is never rolled');
  assert.equal(policy.applied(1, { elements: 50_000, rssMiB: 330, first: false }), undefined, 'growth is no reason: a new worker would need as much');
  assert.equal(policy.applied(1, { elements: 30_000, rssMiB: 330, first: false }), undefined, 'a shrink to more than half is not rolled');
  assert.deepEqual(policy.applied(1, { elements: 2, rssMiB: 330, first: false }), { peakElements: 50_000, elements: 2, rssMiB: 330, freshMiB: 120 });
  assert.equal(policy.applied(1, { elements: 2, rssMiB: 180, first: false }), undefined, 'within the threshold of a fresh worker');
  // A worker that started with a large configuration: no fresh figure for a small one, a large shrink decides.
  policy.applied(2, { elements: 50_000, rssMiB: 330, first: true });
  assert.ok(policy.applied(2, { elements: 1, rssMiB: 330, first: false }), 'started large, shrunk by 49,999');
  const small = new WorkerRollPolicy({ enabled: true, thresholdMiB: 64, growthElements: 10_000 });
  small.applied(3, { elements: 200, rssMiB: 125, first: true });
  assert.equal(small.applied(3, { elements: 40, rssMiB: 126, first: false }), undefined, `a shrink under ${MIN_SHRINK_ELEMENTS} elements with nothing to compare is kept`);
  // A small configuration halving under traffic: the worker is well above a fresh one's figure (taken before any
  // load), but 4 → 2 elements cannot be what holds that memory, and a replacement would grow back under the same load.
  const loaded = new WorkerRollPolicy({ enabled: true, thresholdMiB: 64, growthElements: 10_000 });
  loaded.applied(5, { elements: 2, rssMiB: 90, first: true });
  loaded.applied(5, { elements: 4, rssMiB: 178, first: false });
  assert.equal(loaded.applied(5, { elements: 2, rssMiB: 178, first: false }), undefined, `a shrink under ${MIN_SHRINK_ELEMENTS} elements is never rolled`);
  assert.ok(loaded.applied(5, { elements: 1_500, rssMiB: 300, first: false }) === undefined && loaded.applied(5, { elements: 2, rssMiB: 300, first: false }),
    'the same worker after a shrink of 1,498 elements is');
  const off = new WorkerRollPolicy({ enabled: false, thresholdMiB: 64, growthElements: 10_000 });
  off.applied(4, { elements: 2, rssMiB: 120, first: true });
  off.applied(4, { elements: 50_000, rssMiB: 330, first: false });
  assert.equal(off.applied(4, { elements: 2, rssMiB: 330, first: false }), undefined, 'workerRoll.enabled: false');
  policy.forget(1);
  assert.equal(policy.applied(1, { elements: 2, rssMiB: 330, first: false }), undefined, 'a forgotten worker has no peak');
});

test('the growth rule: a configuration adding workerRoll.growthElements or more is built in fresh workers; an invalid value is refused naming it', async () => {
  const policy = new WorkerRollPolicy({ enabled: true, thresholdMiB: 64, growthElements: 10_000 });
  assert.equal(policy.grows(3, 10_002), false, 'one element short');
  assert.equal(policy.grows(3, 10_003), true, 'exactly growthElements more');
  assert.equal(policy.grows(40_000, 45_000), false, 'measured against what is served, not from zero');
  assert.equal(policy.grows(50_000, 3), false, 'a shrink is not growth');
  assert.equal(new WorkerRollPolicy({ enabled: false, thresholdMiB: 64, growthElements: 10 }).grows(0, 50_000), false, 'workerRoll.enabled: false');
  assert.equal(workerRollSettings(await loadStaticConfig(undefined, {})).growthElements, DEFAULT_WORKER_ROLL_GROWTH_ELEMENTS);
  const dir = await mkdtemp(join(tmpdir(), 'mg-worker-roll-static-'));
  try {
    for (const bad of ['0', '-5', '1.5', '"many"']) {
      await writeFile(join(dir, 'static.yml'), `workerRoll:\n  growthElements: ${bad}\n`);
      await assert.rejects(loadStaticConfig(join(dir, 'static.yml')), /workerRoll\.growthElements/, `growthElements: ${bad} is refused naming the field`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('configurationElements counts every router, service, middleware and transport of every protocol', () => {
  const config = emptyDynamicConfig();
  config.http.routers = { a: { rule: 'Path(`/`)', service: 's' }, b: { rule: 'Path(`/b`)', service: 's' } } as never;
  config.http.services = { s: { loadBalancer: { servers: [] } } } as never;
  config.tcp = { routers: { t: {} }, services: {} } as never;
  assert.equal(configurationElements(config), 4);
});

test('a worker counts a configuration\'s elements as its parts arrive, not by enumerating it again after the apply', async () => {
  const config = emptyDynamicConfig();
  const routers: Record<string, unknown> = {};
  for (let i = 0; i < 1234; i++) routers[`r${i}`] = { rule: `Path(\`/${i}\`)`, service: 's' };
  config.http.routers = routers as never;
  config.http.services = { s: { loadBalancer: { servers: [] } } } as never;
  config.tcp = { routers: { t: {} }, services: {} } as never;
  const assembler = new ConfigurationAssembler();
  let assembled: ReturnType<ConfigurationAssembler['accept']>;
  await sendConfiguration(config, 7, (message) => (assembled = assembler.accept(message) ?? assembled), NEVER_YIELD);
  assert.ok(assembled !== undefined, 'the configuration was put back together');
  assert.equal(assembler.lastElements, configurationElements(config));
  assert.equal(assembler.lastElements, 1234 + 1 + 1);
});

function dynamicFile(upstream: string, count: number): string {
  const lines = ['http:', '  routers:', '    main:', '      rule: PathPrefix(`/`)', '      service: app'];
  for (let i = 1; i < count; i++) lines.push(`    r${i}:`, `      rule: Host(\`h${i}.test\`) && PathPrefix(\`/p${i % 100}\`)`, '      service: app');
  lines.push('  services:', '    app:', '      loadBalancer:', '        servers:', `          - url: "${upstream}"`);
  return `${lines.join('\n')}\n`;
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

const livePids = () => Object.values(cluster.workers ?? {}).flatMap((w) => (w && !w.isDead() && w.process.pid !== undefined ? [w.process.pid] : []));

test('cluster mode: after 5,000 routers are replaced by one, both workers are replaced and no request fails', { timeout: 170_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mg-worker-roll-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const upstream = http.createServer((_, res) => res.end('ok'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    upstream.close(() => resolve());
    upstream.closeAllConnections();
  }));
  upstream.keepAliveTimeout = 60_000;
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const dynamic = join(dir, 'dynamic.yml');
  const write = async (text: string) => {
    await writeFile(`${dynamic}.tmp`, text);
    await rename(`${dynamic}.tmp`, dynamic);
  };
  await write(dynamicFile(upstreamUrl, 1));
  const configFile = join(dir, 'static.yml');
  // A low threshold: 5,000 routers grow a worker by a few tens of MiB; the default (64 MiB) is for real sizes.
  await writeFile(configFile, [
    'entryPoints:', '  web:', '    address: "127.0.0.1:0"',
    'providers:', '  providersThrottleDuration: 10ms', '  file:', `    filename: "${dynamic}"`, '    watch: true',
    'workerRoll:', '  thresholdMiB: 8', 'log:', '  level: ERROR', '',
  ].join('\n'));
  const applied = new Map<number, number>();
  const flushed = new Set<number>();
  const onMessage = (worker: { process: { pid?: number } }, message: WorkerMessage) => {
    if (message?.type === 'meshgate:applied') applied.set(worker.process.pid!, message.elements);
    if (message?.type === 'meshgate:flush') flushed.add(worker.process.pid!);
  };
  cluster.on('message', onMessage);
  t.after(() => cluster.off('message', onMessage));
  const handle = await runGateway({ configFile, workers: 2, lastGoodFile: false, handleSignals: false, logger: silentLogger() });
  t.after(() => handle.close());
  const port = handle.addresses().web!.port;

  const started = await waitFor(() => {
    const pids = livePids();
    return pids.length === 2 && pids.every((pid) => applied.get(pid) === 2) && pids;
  }, 'both workers serving the one-router configuration', { deadlineMs: 60_000 });
  const keepAlive = drive(port, 3, true);
  const fresh = drive(port, 1, false);
  t.after(() => Promise.all([keepAlive.stop(), fresh.stop()]));
  // Read under traffic, as the replaced workers' figure is: requests commit the young generation and buffers.
  await waitFor(() => keepAlive.answers.length + fresh.answers.length > 200, 'answers before the large configuration');
  const rssStart = Math.max(...started.map(rssMiB));

  await write(dynamicFile(upstreamUrl, 5000));
  await waitFor(() => started.every((pid) => (applied.get(pid) ?? 0) > 5000), 'both workers serving 5,000 routers', { deadlineMs: 120_000, intervalMs: 50 });
  const rssLarge = Math.max(...started.map(rssMiB));
  assert.ok(rssLarge - rssStart >= 8, `the large configuration shows in the workers' resident set (${rssStart.toFixed(0)} → ${rssLarge.toFixed(0)} MiB)`);
  assert.deepEqual(livePids().sort(), [...started].sort(), 'growth rolls no worker');

  const t0 = Date.now();
  await write(dynamicFile(upstreamUrl, 1));
  const replaced = await waitFor(() => {
    const pids = livePids();
    return pids.length === 2 && pids.every((pid) => !started.includes(pid) && applied.get(pid) === 2) && pids;
  }, 'both workers replaced by ones serving the one-router configuration', { deadlineMs: 90_000, intervalMs: 50 });
  t.diagnostic(`both workers replaced ${((Date.now() - t0) / 1000).toFixed(1)} s after the small file was written`);
  const before = keepAlive.answers.length + fresh.answers.length;
  await waitFor(() => keepAlive.answers.length + fresh.answers.length > before + 20, 'answers from the new workers');
  await Promise.all([keepAlive.stop(), fresh.stop()]);

  const rssAfter = replaced.map(rssMiB);
  t.diagnostic(`worker RSS (MiB, largest of the two): start ${rssStart.toFixed(0)} → 5,000 routers ${rssLarge.toFixed(0)} → replaced ${rssAfter.map((x) => x.toFixed(0)).join(', ')}`);
  t.diagnostic(`answers: ${keepAlive.answers.length} keep-alive, ${fresh.answers.length} new-connection`);
  assert.deepEqual([...keepAlive.failures, ...fresh.failures], [], 'no request refused, reset or failed during the roll');
  // node:cluster forgets a connection it handed to a worker until that worker answers; one that exits first strands
  // it (round_robin_handle.js handoff: the reply callback never runs). A rolled-out worker therefore asks the primary
  // for a round trip before exiting (worker.ts flushHandoffs): a CI run once saw a request hang 30 s without it.
  await waitFor(() => started.every((pid) => flushed.has(pid)) || undefined, 'each rolled-out worker flushed its handoffs before exiting');
  // Generous: a fresh worker with one router; the large state was at least 8 MiB above the start.
  for (const rss of rssAfter) assert.ok(rss < rssStart + (rssLarge - rssStart) / 2 + 8, `a new worker is back near the start (${rss.toFixed(0)} MiB; start ${rssStart.toFixed(0)}, large ${rssLarge.toFixed(0)})`);
});
