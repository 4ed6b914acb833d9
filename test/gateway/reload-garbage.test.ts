/**
 * What a large build keeps and what it may not share (issue 14, item 4: less garbage per router, so a 50,000-router
 * reload does not pause the serving thread). Counted on the V8 heap after full GCs (`gc()`), never timed: the heap
 * a built configuration retains is what every major GC of the serving process marks while it serves.
 *
 * The runtime view of a router is the entry point models' object completed in place (runtime/build.ts initialInfo),
 * so a configuration handed to `apply()` must come out unchanged and two builds must never share a router object —
 * Traefik builds its runtime infos afresh per configuration too (pkg/config/runtime/runtime.go NewConfig wraps each
 * router of the configuration in a new RouterInfo).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { silentLogger } from '../../src/lib/logger.ts';
import { emptyDynamicConfig, type DynamicConfig } from '../../src/gateway/config/dynamic.ts';
import { loadStaticConfig } from '../../src/gateway/config/static.ts';
import { createGateway, type Gateway } from '../../src/gateway/runtime/gateway.ts';
import { tempDir } from './helpers.ts';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function gateway(): Promise<Gateway> {
  const dir = await tempDir();
  const file = join(dir, 'gateway.yml');
  await writeFile(file, 'entryPoints:\n  web:\n    address: "127.0.0.1:0"\napi:\n  insecure: true\nlog:\n  level: ERROR\n');
  return createGateway({ staticConfig: await loadStaticConfig(file), logger: silentLogger(), providers: ['File'], sliceMs: 4, drainTimeoutMs: 100 });
}

/** reload.ts's configuration, merged: `count` routers with a host and a path prefix each, on one service. */
function hostRouters(count: number): DynamicConfig {
  const config = emptyDynamicConfig();
  for (let i = 0; i < count; i++) config.http.routers[`r${i}@file`] = { rule: `Host(\`h${i}.example.com\`) && PathPrefix(\`/p${i % 100}\`)`, service: 'app' };
  config.http.services['app@file'] = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };
  return config;
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('a built router keeps under 1.5 KiB of heap: its runtime view in fast mode, no trie per host, shared entry point lists', async (t) => {
  const count = 20_000;
  const gw = await gateway();
  try {
    const small = hostRouters(1);
    const large = hostRouters(count);
    assert.equal(await gw.apply(small), true);
    // The configurations themselves are the caller's (a provider keeps them): counted in the baseline.
    const before = heapUsed();
    assert.equal(await gw.apply(large), true);
    assert.equal(gw.runtime.current.info.routers.get(`r${count - 1}@file`)?.status, 'enabled');
    const serving = heapUsed();
    assert.equal(await gw.apply(small), true);
    await gw.runtime.drained();
    const after = heapUsed();
    const perRouter = (serving - before) / count;
    t.diagnostic(`heap used: ${(before / 2 ** 20).toFixed(1)} → ${(serving / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB; ${perRouter.toFixed(0)} B per built router`);
    // Before: ~3,000 B per router (3,100 measured) — each runtime view a dictionary-mode object (an `undefined` middlewares added,
    // then deleted), a trie node and a Map per character of every host's single prefix, a Set and arrays per router.
    assert.ok(perRouter < 1536, `${perRouter.toFixed(0)} B retained per built router`);
    // Nothing of the replaced build is kept.
    assert.ok((after - before) / count < 100, `${((after - before) / count).toFixed(0)} B per router left after the revert`);
  } finally {
    await gw.close();
  }
});

test('a configuration applied twice comes out unchanged, and the two builds share no router object', async () => {
  const gw = await gateway();
  try {
    const config = hostRouters(3);
    config.http.routers['withmw@file'] = { rule: 'Host(`mw.test`)', service: 'app', middlewares: ['mark'] };
    config.http.middlewares['mark@file'] = { headers: { customResponseHeaders: { 'X-Mark': '1' } } };
    config.http.routers['parent@file'] = { rule: 'PathPrefix(`/parent`)' };
    config.http.routers['child@file'] = { rule: 'Path(`/parent/child`)', service: 'app', parentRefs: ['parent'] };
    const given = structuredClone(config);
    assert.equal(await gw.apply(config), true);
    const first = gw.runtime.current.info;
    const firstView = structuredClone([...first.routers]);
    assert.deepEqual(config, given, 'the applied configuration is not changed by the build');
    assert.equal(await gw.apply(config), true);
    const second = gw.runtime.current.info;
    assert.deepEqual(config, given, 'nor by a second build of it');
    for (const [name, router] of second.routers) {
      assert.notEqual(router, first.routers.get(name), `${name}: a new runtime view per build`);
      assert.notEqual(router, config.http.routers[name], `${name}: not the configuration's own object`);
    }
    assert.deepEqual(structuredClone([...first.routers]), firstView, 'the first build\'s view is not changed by the second');
    // The runtime view as the API shows it: qualified names, entry points in use, no `middlewares` where none were set.
    const r0 = second.routers.get('r0@file')!;
    assert.equal(r0.service, 'app@file');
    assert.deepEqual(r0.using, ['web']);
    assert.equal(Object.hasOwn(r0, 'middlewares'), false);
    assert.deepEqual(second.routers.get('withmw@file')!.middlewares, ['mark@file']);
    assert.equal(second.routers.get('child@file')!.status, 'enabled');
    assert.equal(second.routers.get('parent@file')!.status, 'enabled');
  } finally {
    await gw.close();
  }
});
