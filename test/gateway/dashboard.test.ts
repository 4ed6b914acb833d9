/**
 * `dashboard@internal` serves Meshgate's web app (the dist/ui build `npm run build` makes) at `/dashboard/` on the
 * `traefik` entry point, with Traefik's 302 from `/` (pkg/provider/traefik/internal.go: the dashboard router and its
 * redirect middleware), and through a user router as in Traefik's secure-dashboard recipe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_UI_DIR } from '../../src/lib/http/static-files.ts';
import { get, startGateway, staticYaml, tempDir } from './helpers.ts';

test('the gateway serves the web app at /dashboard/ on its traefik entry point and through a user router', async (t) => {
  assert.ok(existsSync(join(DEFAULT_UI_DIR, 'index.html')), `the UI is built into ${DEFAULT_UI_DIR} (npm run build:ui)`);
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    dash:
      rule: PathPrefix(\`/dashboard\`) || PathPrefix(\`/api\`)
      entryPoints: [web]
      service: api@internal
    dash-ui:
      rule: PathPrefix(\`/dashboard\`)
      priority: 1000
      entryPoints: [web]
      service: dashboard@internal
`);
  await writeFile(join(dir, 'static.yml'), staticYaml(join(dir, 'dynamic.yml')));
  const gw = await startGateway(join(dir, 'static.yml'));
  t.after(() => gw.close());

  const root = await get(`${gw.admin}/`);
  assert.equal(root.status, 302);
  assert.equal(root.headers.location, '/dashboard/');
  const page = await get(`${gw.admin}/dashboard/`);
  assert.equal(page.status, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(page.text, /<base href="\/dashboard\/">/);
  const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page.text);
  assert.ok(script, 'index.html loads the bundle by a relative path');
  const js = await get(`${gw.admin}/dashboard/${script[1]}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['content-encoding'], 'gzip');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  // A client route reloads into the app; the dashboard API is beside it.
  assert.match((await get(`${gw.admin}/dashboard/gateway`)).text, /<div id="root">/);
  assert.equal((await get(`${gw.admin}/api/overview`)).status, 200);

  const viaUserRouter = await get(`${gw.web}/dashboard/gateway`);
  assert.equal(viaUserRouter.status, 200);
  assert.match(viaUserRouter.text, /<base href="\/dashboard\/">/);
});
