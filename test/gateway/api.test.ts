/** `/ping`, `/metrics` and the dashboard API in Traefik's JSON shapes, served on the internal `traefik` entry point. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { get, startGateway, startUpstream, staticYaml, tempDir, type Upstream } from './helpers.ts';

let a: Upstream;
let gw: Awaited<ReturnType<typeof startGateway>>;
before(async () => {
  a = await startUpstream('A');
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    web-router:
      rule: Host(\`app.example.com\`)
      entryPoints: [web]
      middlewares: [limit, add-header]
      service: app
    tls-router:
      rule: Host(\`secure.example.com\`)
      service: app
      tls:
        certResolver: letsencrypt
  middlewares:
    limit:
      rateLimit:
        average: 1000
        burst: 1000
    add-header:
      headers:
        customResponseHeaders:
          X-Gateway: meshgate
    unused:
      addPrefix:
        prefix: /x
  services:
    app:
      loadBalancer:
        servers:
          - url: "${a.url}"
    unreachable:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:9"
`);
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml').replace('api:\n  insecure: true', 'api:\n  insecure: true\n  debug: true'));
  gw = await startGateway(join(dir, 'gateway.yml'));
});
after(async () => {
  await gw.close();
  await a.close();
});

test('/ping answers OK on the traefik entry point only', async () => {
  const ping = await get(`${gw.admin}/ping`);
  assert.equal(ping.status, 200);
  assert.equal(ping.text, 'OK');
  assert.equal((await get(`${gw.admin}/ping`, { method: 'HEAD' })).status, 200);
  assert.equal((await get(`${gw.web}/ping`)).status, 404);
});

test('/metrics exposes Traefik metric names, including router and service labels and reloads', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await get(`${gw.web}/m`, { host: 'app.example.com' })).status, 200);
  const metrics = await get(`${gw.admin}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(String(metrics.headers['content-type']), /text\/plain/);
  assert.match(metrics.text, /^traefik_config_reloads_total [1-9]/m);
  assert.match(metrics.text, /traefik_entrypoint_requests_total\{[^}]*entrypoint="web"[^}]*\} 3/);
  assert.match(metrics.text, /traefik_router_requests_total\{[^}]*router="web-router@file"[^}]*\} 3/);
  assert.match(metrics.text, /traefik_service_requests_total\{[^}]*service="app@file"[^}]*\} 3/);
});

test('routers: list, one, filters, pagination and Traefik\'s not-found message', async () => {
  const list = await get(`${gw.admin}/api/http/routers`);
  assert.equal(list.status, 200);
  assert.equal(list.headers['content-type'], 'application/json');
  assert.equal(list.headers['x-next-page'], '1');
  const names = (list.json() as Array<{ name: string }>).map((r) => r.name);
  assert.deepEqual(names, [...names].sort());
  assert.ok(names.includes('web-router@file') && names.includes('api@internal') && names.includes('ping@internal'));

  const router = (await get(`${gw.admin}/api/http/routers/web-router@file`)).json();
  assert.deepEqual(router, {
    rule: 'Host(`app.example.com`)',
    entryPoints: ['web'],
    middlewares: ['limit@file', 'add-header@file'],
    service: 'app@file',
    name: 'web-router@file',
    provider: 'file',
    status: 'enabled',
    using: ['web'],
  });
  // Encoded names work too, as Traefik's mux decodes them.
  assert.equal((await get(`${gw.admin}/api/http/routers/web-router%40file`)).json().name, 'web-router@file');

  // A certResolver the static configuration does not define: a warning, the router still serves (Traefik's router
  // manager); TLS options default as in Traefik.
  const tlsRouter = (await get(`${gw.admin}/api/http/routers/tls-router@file`)).json();
  assert.equal(tlsRouter.status, 'warning');
  assert.match(tlsRouter.error[0], /Router uses a nonexistent certificate resolver: letsencrypt/);
  assert.equal(tlsRouter.tls.options, 'default');

  const missing = await get(`${gw.admin}/api/http/routers/nope@file`);
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.json(), { message: 'router not found: nope@file' });

  const page1 = await get(`${gw.admin}/api/http/routers?per_page=2&page=1`);
  assert.equal((page1.json() as unknown[]).length, 2);
  assert.equal(page1.headers['x-next-page'], '2');
  assert.equal((await get(`${gw.admin}/api/http/routers?per_page=2&page=99`)).status, 400);
  const searched = (await get(`${gw.admin}/api/http/routers?search=secure.example`)).json() as Array<{ name: string }>;
  assert.deepEqual(searched.map((r) => r.name), ['tls-router@file']);
  const byMiddleware = (await get(`${gw.admin}/api/http/routers?middlewareName=limit@file`)).json() as Array<{ name: string }>;
  assert.deepEqual(byMiddleware.map((r) => r.name), ['web-router@file']);
});

test('services and middlewares carry type, status, usedBy and serverStatus', async () => {
  const app = (await get(`${gw.admin}/api/http/services/app@file`)).json();
  assert.deepEqual(app, {
    loadBalancer: { servers: [{ url: a.url }] },
    name: 'app@file',
    provider: 'file',
    status: 'enabled',
    usedBy: ['tls-router@file', 'web-router@file'],
    type: 'loadbalancer',
    serverStatus: { [a.url]: 'UP' },
  });
  const services = (await get(`${gw.admin}/api/http/services`)).json() as Array<{ name: string; provider: string }>;
  const names = services.map((s) => s.name);
  assert.ok(names.includes('unreachable@file'));
  assert.ok(names.includes('api@internal'));
  assert.equal(services.find((s) => s.name === 'ping@internal')!.provider, 'internal');

  const limit = (await get(`${gw.admin}/api/http/middlewares/limit@file`)).json();
  assert.deepEqual(limit, { rateLimit: { average: 1000, burst: 1000 }, name: 'limit@file', provider: 'file', status: 'enabled', usedBy: ['web-router@file'], type: 'ratelimit' });
  const unused = (await get(`${gw.admin}/api/http/middlewares/unused@file`)).json();
  assert.deepEqual(unused.usedBy, []);
  assert.equal((await get(`${gw.admin}/api/http/middlewares/x@file`)).json().message, 'middleware not found: x@file');
});

test('overview, rawdata, entrypoints and version', async () => {
  const overview = (await get(`${gw.admin}/api/overview`)).json();
  assert.deepEqual(overview.http.middlewares, { total: 3, warnings: 0, errors: 0 });
  assert.equal(overview.http.routers.warnings, 1);
  assert.deepEqual(overview.features, { tracing: '', metrics: 'Prometheus', accessLog: false });
  assert.deepEqual(overview.providers, ['File']);
  assert.deepEqual(overview.tcp.routers, { total: 0, warnings: 0, errors: 0 });

  const raw = (await get(`${gw.admin}/api/rawdata`)).json();
  assert.equal(raw.routers['web-router@file'].status, 'enabled');
  assert.deepEqual(raw.services['app@file'].serverStatus, { [a.url]: 'UP' });
  assert.equal(raw.middlewares['limit@file'].rateLimit.average, 1000);

  const entryPoints = (await get(`${gw.admin}/api/entrypoints`)).json() as Array<{ name: string; address: string }>;
  assert.deepEqual(entryPoints.map((e) => e.name), ['traefik', 'web']);
  assert.equal((await get(`${gw.admin}/api/entrypoints/web`)).json().address, '127.0.0.1:0');

  const version = (await get(`${gw.admin}/api/version`)).json();
  assert.equal(typeof version.Version, 'string');
  assert.equal(typeof version.startDate, 'string');
  assert.equal((await get(`${gw.admin}/api/nothing`)).status, 404);
  assert.equal((await get(`${gw.admin}/api/overview`, { method: 'POST', body: '' })).status, 405);
  // api.debug: /debug/vars on the API router.
  const vars = await get(`${gw.admin}/debug/vars`);
  assert.equal(vars.status, 200);
  assert.equal(typeof vars.json().memstats.HeapAlloc, 'number');
  // The dashboard root redirects as Traefik's does.
  const root = await get(`${gw.admin}/`);
  assert.equal(root.status, 302);
  assert.equal(root.headers.location, '/dashboard/');
});
