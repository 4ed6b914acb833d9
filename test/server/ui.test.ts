/**
 * The server serves the web UI as Consul does: `/` answers 301 to the content path `/ui/` (agent/http.go, Index:
 * http.Redirect(…, UIConfig.ContentPath, StatusMovedPermanently)), the app's files below it, client routes answered
 * with index.html; the API beside it is untouched (an unknown path is still Consul's empty 404).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import { tempDir } from '../helpers/server.ts';

test('/ redirects to /ui/, the app is served with its routes and caching, the API is unchanged', async (t) => {
  const dir = tempDir('mg-ui-');
  t.after(() => dir.remove());
  mkdirSync(join(dir.path, 'assets'));
  writeFileSync(join(dir.path, 'index.html'), '<!doctype html><html><head><title>Meshgate</title></head><body><div id="root"></div></body></html>');
  writeFileSync(join(dir.path, 'assets', 'index-1a2b.js'), 'export {};\n'.repeat(200));
  const server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n1', datacenter: 'dc1', ui: { dir: dir.path } }, silentLogger());
  t.after(() => server.close());
  const get = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, { redirect: 'manual', ...init });

  const root = await get('/');
  assert.equal(root.status, 301);
  assert.equal(root.headers.get('location'), '/ui/');
  const bare = await get('/ui');
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get('location'), '/ui/');

  const index = await get('/ui/');
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(await index.text(), /<base href="\/ui\/">/);
  const route = await get('/ui/services/web');
  assert.equal(route.status, 200);
  assert.match(await route.text(), /<div id="root">/);

  const js = await get('/ui/assets/index-1a2b.js', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  assert.equal(await js.text(), 'export {};\n'.repeat(200), 'fetch decodes the gzip body back to the file');
  const revalidated = await get('/ui/assets/index-1a2b.js', { headers: { 'if-none-match': js.headers.get('etag')! } });
  assert.equal(revalidated.status, 304);
  assert.equal((await get('/ui/assets/gone.js')).status, 404);
  const head = await get('/ui/', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');

  // The API beside it: Consul's empty 404 for an unknown path, and the ordinary endpoints.
  const unknown = await get('/v2/nothing');
  assert.equal(unknown.status, 404);
  assert.equal(await unknown.text(), '');
  assert.equal((await get('/v1/status/leader')).status, 200);
});

test('ui.enabled = false: no /ui/ and no redirect', async (t) => {
  const server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n1', datacenter: 'dc1', ui: { enabled: false } }, silentLogger());
  t.after(() => server.close());
  assert.equal((await fetch(`${server.url}/`, { redirect: 'manual' })).status, 404);
  assert.equal((await fetch(`${server.url}/ui/`, { redirect: 'manual' })).status, 404);
});
