/**
 * Large configurations (issue 14, item 4): a reload of 20,000 routers is read, parsed, validated and built beside
 * live traffic — requests on the old configuration keep being answered all along, the new one takes effect in one
 * swap — and the configuration limits (`providers.file.maxFileBytes`, `providers.maxRouters`) reject a larger one
 * with an error naming the limit while the old one keeps serving. Traefik has no such limits (they are Meshgate's
 * own, documented in docs/gateway.md); its reload behaviour — build the new handler, then swap — is
 * pkg/server/routerfactory.go and pkg/server/server_entrypoint_tcp.go's `switcher`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { silentLogger } from '../../src/lib/logger.ts';
import { FileProvider, ProviderAggregator } from '../../src/gateway/providers/index.ts';
import { emptyDynamicConfig, type RouterConfig } from '../../src/gateway/config/dynamic.ts';
import { loadStaticConfig } from '../../src/gateway/config/static.ts';
import { createGateway } from '../../src/gateway/runtime/gateway.ts';
import { eventually, get, startGateway, staticYaml, tempDir, writeAtomic, type Upstream, withUpstreams } from './helpers.ts';

let a: Upstream;
let b: Upstream;
withUpstreams(['A', 'B'], ([first, second]) => ([a, b] = [first!, second!]));

const small = (upstream: Upstream) => `http:
  routers:
    main:
      rule: PathPrefix(\`/\`)
      service: svc
  services:
    svc:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
`;

/** `count` host routers on `upstream`, plus `main` moved to it: the swap shows on `/` and on any of the hosts. */
function large(upstream: Upstream, count: number): string {
  const lines = ['http:', '  routers:', '    main:', '      rule: PathPrefix(`/`)', '      service: svc'];
  for (let i = 0; i < count; i++) lines.push(`    r${i}:`, `      rule: Host(\`h${i}.test\`) && PathPrefix(\`/p${i % 50}\`)`, '      service: svc');
  lines.push('  services:', '    svc:', '      loadBalancer:', '        servers:', `          - url: "${upstream.url}"`);
  return `${lines.join('\n')}\n`;
}

test('a reload of 20,000 routers: requests on the old configuration are answered throughout, then the new one serves', async (t) => {
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, small(a));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  const agent = new Agent({ connections: 4 });
  let stop = false;
  let clients: Array<Promise<void>> = [];
  try {
    assert.equal((await get(`${gw.web}/`)).json().upstream, 'A');
    // Four clients, each one request at a time; every answer is stamped with the upstream that gave it.
    const answers: Array<{ at: number; upstream: string }> = [];
    const client = async () => {
      while (!stop) {
        const res = await request(`${gw.web}/x`, { dispatcher: agent });
        const body = (await res.body.json()) as { upstream: string };
        answers.push({ at: performance.now(), upstream: body.upstream });
      }
    };
    clients = Array.from({ length: 4 }, client);
    await eventually(async () => assert.ok(answers.length > 20));
    const written = performance.now();
    await writeAtomic(dynamic, large(b, 20_000));
    // The new configuration took effect: `/` and one of the 20,000 host routers answer from B.
    await eventually(async () => assert.equal(answers.at(-1)?.upstream, 'B'), 120_000);
    const swapped = answers.find((x) => x.upstream === 'B')!.at;
    stop = true;
    await Promise.all(clients);
    const hostRouter = await get(`${gw.web}/p17/y`, { host: 'h12317.test' });
    assert.equal(hostRouter.json().upstream, 'B');

    // Once B answered, A never did again: one atomic swap, not a mixture.
    const firstB = answers.findIndex((x) => x.upstream === 'B');
    assert.ok(answers.slice(firstB).every((x) => x.upstream === 'B'), 'no answer from the old configuration after the swap');
    // While the new configuration was read and built, the old one kept answering: many answers from A after the
    // write, and no silence covering most of the switch (built in one step, the gap would be nearly all of it).
    const during = answers.filter((x) => x.at > written && x.at < swapped);
    let longestGap = 0;
    let last = written;
    for (const x of answers) {
      if (x.at <= written || x.at > swapped) continue;
      longestGap = Math.max(longestGap, x.at - last);
      last = x.at;
    }
    longestGap = Math.max(longestGap, swapped - last);
    const switchMs = swapped - written;
    t.diagnostic(`switch ${switchMs.toFixed(0)} ms, ${during.length} answers from A meanwhile, longest gap ${longestGap.toFixed(0)} ms`);
    assert.ok(during.length >= 50, `answers on the old configuration during the switch: ${during.length}`);
    assert.ok(longestGap < switchMs / 2, `longest gap ${longestGap.toFixed(0)} ms of a ${switchMs.toFixed(0)} ms switch`);
  } finally {
    stop = true;
    await Promise.allSettled(clients);
    await agent.close();
    await gw.close();
  }
});

test('a file over providers.file.maxFileBytes is rejected with an error naming the limit', async () => {
  const dir = await tempDir();
  const file = join(dir, 'dynamic.yml');
  await writeFile(file, large(a, 100));
  const provider = new FileProvider({ filename: file, watch: false, logger: silentLogger(), limits: { maxFileBytes: 1000 } });
  await assert.rejects(provider.read(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MG_GATEWAY_CONFIG_LIMIT');
    assert.match(err.message, /providers\.file\.maxFileBytes \(1000\)/);
    return true;
  });
  const within = new FileProvider({ filename: file, watch: false, logger: silentLogger(), limits: { maxFileBytes: 1_000_000, maxRouters: 101 } });
  assert.equal(Object.keys((await within.read()).http.routers).length, 101);
});

test('a merged configuration over providers.maxRouters is rejected naming the limit; the applied one stays', async () => {
  const applied: number[] = [];
  const rejected: Error[] = [];
  const aggregator = new ProviderAggregator({
    throttleMs: 0,
    logger: silentLogger(),
    maxRouters: 10,
    onConfiguration: (merged) => applied.push(Object.keys(merged.http.routers).length),
    onRejected: (err) => rejected.push(err),
  });
  const withRouters = (n: number) => {
    const config = emptyDynamicConfig();
    for (let i = 0; i < n; i++) config.http.routers[`r${i}`] = { rule: 'Path(`/`)', service: 's' };
    return config;
  };
  await aggregator.seed({ file: withRouters(10) });
  aggregator.accept('file', withRouters(11));
  await eventually(async () => assert.equal(rejected.length, 1));
  assert.deepEqual(applied, [10]);
  assert.equal((rejected[0] as Error & { code?: string }).code, 'MG_GATEWAY_CONFIG_LIMIT');
  assert.match(rejected[0]!.message, /11 routers exceeds providers\.maxRouters \(10\)/);
  aggregator.stop();
});

test('end to end: over providers.maxRouters the gateway keeps serving the old configuration and counts a failed reload', async () => {
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, small(a));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml').replace('providersThrottleDuration: 20ms', 'providersThrottleDuration: 20ms\n  maxRouters: 50'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    const failures = async () => Number(/^traefik_config_reloads_failure_total (\d+)/m.exec((await get(`${gw.admin}/metrics`)).text)?.[1]);
    assert.equal(await failures(), 0);
    await writeAtomic(dynamic, large(b, 60));
    await eventually(async () => assert.equal(await failures(), 1));
    assert.equal((await get(`${gw.web}/`)).json().upstream, 'A');
    // Within the limit it is taken.
    await writeAtomic(dynamic, large(b, 40));
    await eventually(async () => assert.equal((await get(`${gw.web}/`)).json().upstream, 'B'));
  } finally {
    await gw.close();
  }
});

test('memory comes back: after 10,000 routers are replaced by one, twice, the heap is back near the first one-router state', async (t) => {
  // In a child with --expose-gc (fixtures/reload-memory.ts): the file provider, aggregator and runtime of a real
  // gateway. A service kept from build to build once held the manager that built it, and through it that build's
  // whole configuration and the previous build's services, so every large configuration stayed.
  const fixture = join(import.meta.dirname, 'fixtures', 'reload-memory.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', fixture, '10000', '2'], { timeout: 150_000 });
  const { heapMiB } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { heapMiB: number[] };
  t.diagnostic(`heap used (MiB), one router → 10,000 → one → 10,000 → one: ${heapMiB.join(' → ')}`);
  const [first, large] = heapMiB as [number, number];
  assert.ok(large - first >= 12, `the large configuration is visible in the heap (${first} → ${large} MiB)`);
  for (const [i, small] of heapMiB.entries()) {
    if (i === 0 || i % 2 === 1) continue;
    assert.ok(small - first <= (large - first) / 4, `after cycle ${i / 2}: ${small} MiB against ${first} MiB before any large configuration (large: ${large})`);
  }
});

test('a build reads the providers\' 20,000 routers and 20,000 middlewares a slice at a time, never all in one turn of the event loop', async (t) => {
  // The build once spread them into one object with the internal routers first: one step of ~80 ms at 50,000,
  // the longest silence of a reload. Every read of a router is counted per turn (a self-renewing setImmediate
  // marks the turns; with sliceMs 1 a slice reads a few thousand at most).
  const count = 20_000;
  const routers: Record<string, RouterConfig> = {};
  for (let i = 0; i < count; i++) routers[`r${i}@file`] = { rule: `Host(\`h${i}.test\`)`, service: 'svc@file' };
  let turn = 0;
  const readsPerTurn = new Map<number, number>();
  const watched = new Proxy(routers, {
    get(target, name, receiver) {
      readsPerTurn.set(turn, (readsPerTurn.get(turn) ?? 0) + 1);
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  // The middlewares were copied in one step (a spread with the internal ones) until this session.
  const middlewares: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < count; i++) middlewares[`m${i}@file`] = { headers: { customResponseHeaders: { 'X-M': String(i) } } };
  const middlewareReadsPerTurn = new Map<number, number>();
  const watchedMiddlewares = new Proxy(middlewares, {
    get(target, name, receiver) {
      middlewareReadsPerTurn.set(turn, (middlewareReadsPerTurn.get(turn) ?? 0) + 1);
      return Reflect.get(target, name, receiver) as unknown;
    },
  });
  let counting = true;
  const nextTurn = () => {
    turn++;
    if (counting) setImmediate(nextTurn);
  };
  setImmediate(nextTurn);
  const staticConfig = await loadStaticConfig(undefined, { 'entryPoints.web.address': '127.0.0.1:0' });
  const gw = createGateway({ staticConfig, logger: silentLogger(), providers: ['File'], sliceMs: 1, drainTimeoutMs: 100 });
  try {
    const config = emptyDynamicConfig();
    config.http.routers = watched;
    config.http.middlewares = watchedMiddlewares;
    config.http.services['svc@file'] = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };
    assert.equal(await gw.apply(config), true);
    assert.equal(gw.runtime.current.info.routers.get('r19999@file')?.status, 'enabled');
  } finally {
    counting = false;
    await gw.close();
  }
  const most = Math.max(...readsPerTurn.values());
  t.diagnostic(`reads of the routers: ${[...readsPerTurn.values()].reduce((a, b) => a + b, 0)} over ${readsPerTurn.size} turns, at most ${most} in one`);
  assert.ok(most < count / 2, `at most ${most} of ${count} routers read in one turn`);
  const mostMiddlewares = Math.max(...middlewareReadsPerTurn.values());
  t.diagnostic(`reads of the middlewares: ${[...middlewareReadsPerTurn.values()].reduce((a, b) => a + b, 0)} over ${middlewareReadsPerTurn.size} turns, at most ${mostMiddlewares} in one`);
  assert.ok(mostMiddlewares < count / 2, `at most ${mostMiddlewares} of ${count} middlewares read in one turn`);
});

test('a directory of files is merged name by name: routers named like Object.prototype members are kept, duplicates are not', async () => {
  // The directory merge is sliced now (it copied each file's sections in one step); its duplicate check once asked
  // `name in target`, which is true for `toString` or `constructor` on a plain object, so those routers were dropped.
  const dir = await tempDir();
  // `small` with one more router named `name` (both files define `main` and `svc` too).
  const router = (name: string, upstream: Upstream) => small(upstream).replace('    main:\n', `    ${name}:\n      rule: Host(\`${name}.test\`)\n      service: svc\n    main:\n`);
  await writeFile(join(dir, 'a.yml'), router('toString', a));
  await writeFile(join(dir, 'b.yml'), router('constructor', b));
  const provider = new FileProvider({ directory: dir, watch: false, logger: silentLogger() });
  const config = await provider.read();
  assert.deepEqual(Object.keys(config.http.routers).sort(), ['constructor', 'main', 'toString']);
  // Traefik keeps the first definition (a.yml's) of a name defined in two files.
  assert.match(JSON.stringify(config.http.services.svc), new RegExp(a.url.replace(/[.]/g, '\\.')));
});
