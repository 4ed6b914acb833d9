/**
 * A large reload walks each big section's names without enumerating it again (issue 14, item 4): collecting the
 * names of a 50,000-property object (`for…in`, `Object.keys`) is one step of 10–15 ms that no slice can split. The
 * reader records a section's names as its pieces arrive, the merge and the entry point models record theirs as they
 * build, and the merge, the models, the build's runtime view and the last good copy walk those records. Meshgate's
 * own mechanism (Traefik builds in Go, pkg/server/aggregator.go, with no event loop to keep free).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/logger.ts';
import { NameRecorder, recordedNames, Slicer } from '../../src/lib/slices.ts';
import { emptyDynamicConfig, type RouterConfig } from '../../src/gateway/config/dynamic.ts';
import { mergeConfigurationsSliced } from '../../src/gateway/config/merge.ts';
import { INLINE_BYTES, readConfigFiles } from '../../src/gateway/config/read-off-thread.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { applyEntryPointModels } from '../../src/gateway/runtime/router-manager.ts';
import { LastGoodStore } from '../../src/gateway/runtime/last-good.ts';
import { tempDir } from './helpers.ts';

const limits = { maxFileBytes: 64 * 2 ** 20, maxRouters: 100_000 };

function routersYaml(names: string[]): string {
  const lines = ['http:', '  routers:'];
  for (const name of names) lines.push(`    "${name}":`, `      rule: Host(\`${name}.test\`)`, '      service: svc');
  lines.push('  services:', '    svc:', '      loadBalancer:', '        servers:', '          - url: "http://127.0.0.1:1"');
  return `${lines.join('\n')}\n`;
}

test('the reader records each section\'s names in enumeration order as the pieces arrive; not when for…in would reorder them', async () => {
  const dir = await tempDir();
  const names = Array.from({ length: 3000 }, (_, i) => `r${i}`);
  const file = join(dir, 'large.yml');
  await writeFile(file, routersYaml(names));
  const [read] = await readConfigFiles([file], limits, new Slicer(), { chunkEntries: 100 });
  // Large enough to go through the child process and its pieces.
  assert.ok((await readFile(file)).length > INLINE_BYTES);
  assert.deepEqual(recordedNames(read!.config.http.routers), Object.keys(read!.config.http.routers));
  assert.deepEqual(recordedNames(read!.config.http.services), ['svc']);

  // A name that is an array index is listed first by for…in, whatever the order it arrived in: no record then.
  const numeric = join(dir, 'numeric.yml');
  await writeFile(numeric, routersYaml([...names, '7']));
  const [withIndex] = await readConfigFiles([numeric], limits, new Slicer(), { chunkEntries: 100 });
  assert.equal(recordedNames(withIndex!.config.http.routers), undefined);
  assert.equal(Object.keys(withIndex!.config.http.routers).length, 3001);
});

test('merge, entry point models and the last good copy walk the recorded names: the received section is never enumerated', async () => {
  const dir = await tempDir();
  const plain: Record<string, RouterConfig> = {};
  const recorder = new NameRecorder();
  for (let i = 0; i < 2000; i++) {
    plain[`r${i}`] = { rule: `Host(\`h${i}.test\`)`, service: 'svc' };
    recorder.add(`r${i}`);
  }
  // Counts every enumeration of the section (for…in, Object.keys and Object.entries all ask for its own keys).
  let enumerations = 0;
  const routers = new Proxy(plain, { ownKeys: (target) => (enumerations++, Reflect.ownKeys(target)) });
  recorder.record(routers);
  const config = emptyDynamicConfig();
  config.http.routers = routers;
  config.http.services = { svc: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:1' }] } } };

  const slicer = new Slicer(1);
  const counts = { routers: 0 };
  const merged = await mergeConfigurationsSliced(new Map([['file', config]]), slicer, counts);
  assert.equal(enumerations, 0, 'the merge enumerated the received routers');
  assert.equal(counts.routers, 2000);
  assert.deepEqual(recordedNames(merged.http.routers), Object.keys(merged.http.routers));
  assert.equal(merged.http.routers['r1999@file']?.rule, 'Host(`h1999.test`)');

  const staticConfig = validateStaticConfig({ entryPoints: { web: { address: ':0' } } });
  const modelled = await applyEntryPointModels([merged.http.routers, {}], staticConfig, slicer);
  assert.deepEqual(recordedNames(modelled), Object.keys(modelled));
  assert.equal(Object.keys(modelled).length, 2000);

  const store = new LastGoodStore(join(dir, 'gateway.yml.last-good.json'), silentLogger());
  await store.save({ file: config });
  assert.equal(enumerations, 0, 'the last good copy enumerated the received routers');
  const saved = JSON.parse(await readFile(store.path, 'utf8')) as { providers: { file: { http: { routers: Record<string, RouterConfig> } } } };
  assert.deepEqual(Object.keys(saved.providers.file.http.routers), Object.keys(plain));
  assert.deepEqual(saved.providers.file.http.routers.r5, plain.r5);
});
