import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import './index.ts';
import { build, serveHandler, echoHandler } from './testing.ts';
import { loadPlugins, listPlugins } from './plugins.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('loads the example plugin from experimental.localPlugins and serves it as plugin.<name>', async () => {
  const names = await loadPlugins({ experimental: { localPlugins: { demo: { moduleName: './examples/gateway-plugin' } } } }, { baseDir: repoRoot });
  assert.deepEqual(names, ['demo']);
  assert.ok(listPlugins().includes('demo'));
  const mw = build('plugin', { demo: { headers: { 'X-Demo': 'from {{method}} {{path}}', 'X-Static': 'yes' } } });
  const s = await serveHandler(mw(echoHandler));
  try {
    const res = await fetch(`${s.url}/some/path?x=1`);
    assert.equal(res.headers.get('x-plugin'), 'demo');
    const body = (await res.json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-demo'], 'from GET /some/path');
    assert.equal(body.headers['x-static'], 'yes');
  } finally {
    await s.close();
  }
  // The configuration parser's path: `plugin:<name>` is registered too.
  const direct = build('plugin:demo', { headers: { 'X-A': 'b' } });
  assert.equal(typeof direct, 'function');
  // The plugin's own schema is strict: an unknown key is named, under the plugin's name.
  assert.throws(() => build('plugin', { demo: { header: {} } }), (err: Error) => /header/.test(err.message) && /demo/.test(err.message));
});

test('unknown plugin names, bad modules and bad static keys are errors that name them', async () => {
  assert.throws(() => build('plugin', { nope: {} }), /nope.*is not installed/);
  assert.throws(() => build('plugin', {}), /exactly one plugin name/);
  await assert.rejects(loadPlugins({ experimental: { localPlugins: { x: { moduleName: './does-not-exist' } } } }, { baseDir: repoRoot }), /not found/);
  await assert.rejects(loadPlugins({ experimental: { localPlugins: { x: { moduleName: 'a', modulename: 'b' } as never } } }), /modulename/);
  const dir = mkdtempSync(join(tmpdir(), 'plugin-'));
  writeFileSync(join(dir, 'bad.mjs'), 'export default { nothing: true };\n');
  await assert.rejects(loadPlugins({ experimental: { localPlugins: { bad: { moduleName: './bad.mjs' } } } }, { baseDir: dir }), /default export must be/);
});

test('npm plugins resolve as packages from baseDir (node_modules), Traefik layout plugins-local/src works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'plugin-npm-'));
  const pkg = join(dir, 'node_modules', 'meshgate-plugin-hello');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'meshgate-plugin-hello', version: '1.2.3', type: 'module', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), `export default { kind: 'hello', create: (config) => (next) => (req, rw) => { req.headers['x-hello'] = String(config.greeting); return next(req, rw); } };\n`);
  const local = join(dir, 'plugins-local', 'src', 'github.com', 'acme', 'stamp');
  mkdirSync(local, { recursive: true });
  writeFileSync(join(local, 'index.js'), `export default { kind: 'stamp', create: () => (next) => (req, rw) => { req.headers['x-stamp'] = '1'; return next(req, rw); } };\n`);
  const names = await loadPlugins(
    { experimental: { plugins: { hello: { moduleName: 'meshgate-plugin-hello', version: 'v1.2.3' } }, localPlugins: { stamp: { moduleName: 'github.com/acme/stamp' } } } },
    { baseDir: dir },
  );
  assert.deepEqual(names.sort(), ['hello', 'stamp']);
  const s = await serveHandler(build('plugin', { hello: { greeting: 'hi' } })(build('plugin', { stamp: {} })(echoHandler)));
  try {
    const body = (await (await fetch(s.url)).json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-hello'], 'hi');
    assert.equal(body.headers['x-stamp'], '1');
  } finally {
    await s.close();
  }
  await assert.rejects(loadPlugins({ experimental: { plugins: { hello: { moduleName: 'meshgate-plugin-hello', version: 'v2.0.0' } } } }, { baseDir: dir }), /1\.2\.3 is installed/);
});
