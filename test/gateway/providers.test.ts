/**
 * Providers and the runtime between reloads: a directory of files is one configuration; the aggregator throttles
 * bursts and drops identical merges; an unchanged service keeps its built handler and health state across a reload,
 * a changed one is rebuilt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/logger.ts';
import { FileProvider } from '../../src/gateway/providers/file.ts';
import { ProviderAggregator } from '../../src/gateway/providers/aggregator.ts';
import { emptyDynamicConfig, type DynamicConfig } from '../../src/gateway/config/dynamic.ts';
import { eventually, get, startGateway, startUpstream, staticYaml, tempDir, writeAtomic } from './helpers.ts';

test('the file provider reads a directory (recursively) as one configuration and reports a bad file', async () => {
  const dir = await tempDir();
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'routers.yml'), 'http:\n  routers:\n    r:\n      rule: Path(`/`)\n      service: s\n');
  await writeFile(join(dir, 'sub', 'services.toml'), '[http.services.s.loadBalancer]\n  [[http.services.s.loadBalancer.servers]]\n    url = "http://127.0.0.1:1"\n');
  await writeFile(join(dir, 'notes.txt'), 'not configuration');
  // Traefik reads only YAML and TOML from a directory: a last-good JSON file or the static file beside them is skipped.
  await writeFile(join(dir, 'gateway.yml.last-good.json'), '{"version":1}');
  await writeFile(join(dir, 'gateway.yml'), 'entryPoints:\n  web:\n    address: ":80"\n');
  const provider = new FileProvider({ directory: dir, watch: true, logger: silentLogger(), debounceMs: 10, ignore: [join(dir, 'gateway.yml')] });
  const emitted: DynamicConfig[] = [];
  const controller = new AbortController();
  await provider.start((c) => emitted.push(c), controller.signal);
  try {
    assert.equal(emitted.length, 1);
    assert.deepEqual(Object.keys(emitted[0]!.http.routers), ['r']);
    assert.deepEqual(Object.keys(emitted[0]!.http.services), ['s']);
    // A broken file in the directory: nothing is emitted, the last configuration stays.
    await writeAtomic(join(dir, 'sub', 'broken.yml'), 'http:\n  routers:\n    x:\n      rulez: 1\n');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(emitted.length, 1);
    await assert.rejects(provider.read(), /http\.routers\.x\.rulez: unknown key/);
    // Fixing it emits the merged directory again.
    await writeAtomic(join(dir, 'sub', 'broken.yml'), 'http:\n  middlewares:\n    m:\n      addPrefix:\n        prefix: /p\n');
    await eventually(async () => assert.deepEqual(Object.keys(emitted.at(-1)!.http.middlewares), ['m']));
  } finally {
    controller.abort();
  }
});

test('the aggregator throttles bursts to the latest configuration and drops identical merges', async () => {
  const applied: DynamicConfig[] = [];
  const aggregator = new ProviderAggregator({ throttleMs: 150, logger: silentLogger(), onConfiguration: (merged) => applied.push(merged) });
  const config = (n: number) => {
    const c = emptyDynamicConfig();
    c.http.routers[`r${n}`] = { rule: 'Path(`/`)', service: 's' };
    return c;
  };
  aggregator.accept('file', config(1));
  await eventually(async () => assert.equal(applied.length, 1));
  for (let n = 2; n <= 6; n++) aggregator.accept('file', config(n));
  await eventually(async () => assert.equal(applied.length, 2));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(applied.length, 2, 'one rebuild for the burst');
  assert.deepEqual(Object.keys(applied[1]!.http.routers), ['r6@file']);
  aggregator.accept('file', config(6));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(applied.length, 2, 'an identical merge is not applied again');
  aggregator.stop();
});

test('an unchanged service keeps its health state across a reload; a changed one is rebuilt', async () => {
  let healthy = false;
  const sick = await startUpstream('sick', { health: () => (healthy ? 200 : 503) });
  const other = await startUpstream('other');
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  const config = (extraRouter: string, interval = '50ms') => `
http:
  routers:
    main:
      rule: PathPrefix(\`/\`)
      service: checked
${extraRouter}
  services:
    checked:
      loadBalancer:
        healthCheck:
          path: /health
          interval: ${interval}
          timeout: 1s
        servers:
          - url: "${sick.url}"
    other:
      loadBalancer:
        servers:
          - url: "${other.url}"
`;
  await writeFile(dynamic, config(''));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  const status = async () => (await get(`${gw.admin}/api/http/services/checked@file`)).json().serverStatus[sick.url];
  try {
    await eventually(async () => assert.equal(await status(), 'DOWN'));
    assert.equal((await get(`${gw.web}/`)).status, 503);
    // Stop the checks from ever succeeding again quickly: a reload that rebuilt the service would start it UP.
    await writeAtomic(dynamic, config(`    second:\n      rule: Path(\`/other-service\`)\n      service: other`));
    await eventually(async () => assert.equal((await get(`${gw.web}/other-service`)).json().upstream, 'other'));
    assert.equal(await status(), 'DOWN');
    assert.equal((await get(`${gw.web}/`)).status, 503);
    // A changed health check starts afresh; the server is healthy now.
    healthy = true;
    await writeAtomic(dynamic, config('', '60ms'));
    await eventually(async () => assert.equal(await status(), 'UP'));
    assert.equal((await get(`${gw.web}/`)).json().upstream, 'sick');
  } finally {
    await gw.close();
    await sick.close();
    await other.close();
  }
});
