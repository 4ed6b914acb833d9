/**
 * Traefik-documentation-shaped dynamic files (YAML and TOML) load unchanged through the file provider and route
 * real requests to real upstreams: rules, priorities, middlewares (basicAuth, headers, stripPrefix), weighted
 * services and health-checked load balancers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, get, startGateway, staticYaml, tempDir, type Upstream, withUpstreams } from './helpers.ts';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
let a: Upstream;
let b: Upstream;
withUpstreams(['A', 'B'], ([first, second]) => ([a, b] = [first!, second!]));

const basic = `Basic ${Buffer.from('test:test').toString('base64')}`;

for (const format of ['yml', 'toml'] as const) {
  test(`Traefik's documented ${format.toUpperCase()} shapes route correctly`, async () => {
    const dir = await tempDir();
    const template = await readFile(join(fixtures, `traefik-dynamic.${format}`), 'utf8');
    await writeFile(join(dir, `dynamic.${format}`), template.replaceAll('UPSTREAM_A', a.url).replaceAll('UPSTREAM_B', b.url));
    await writeFile(join(dir, 'gateway.yml'), staticYaml(`dynamic.${format}`));
    const gw = await startGateway(join(dir, 'gateway.yml'));
    try {
      // router0: Path(`/foo`) behind basicAuth (Traefik's documented test:test htpasswd line) → service-foo (A).
      assert.equal((await get(`${gw.web}/foo`)).status, 401);
      const foo = await get(`${gw.web}/foo`, { headers: { authorization: basic } });
      assert.equal(foo.status, 200);
      assert.equal(foo.json().upstream, 'A');

      // my-router: Host && PathPrefix(`/api`) → headers + stripPrefix → weighted app (appv1=A ×3, appv2=B ×1).
      const seen: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await get(`${gw.web}/api/users?x=1`, { host: 'example.com' });
        assert.equal(r.status, 200);
        assert.equal(r.json().url, '/users?x=1');
        assert.equal(r.json().headers['x-script-name'], 'test');
        assert.equal(r.headers['x-custom-response-header'], 'value');
        seen.push(r.json().upstream);
      }
      assert.equal(seen.filter((u) => u === 'A').length, 6, `weights 3:1 over 8 requests, got ${seen.join('')}`);
      assert.equal(seen.filter((u) => u === 'B').length, 2);

      // blog: Host(`blog.example.com`) → blog-service, passHostHeader false: the upstream sees its own host.
      const blog = await get(`${gw.web}/`, { host: 'blog.example.com' });
      assert.equal(blog.status, 200);
      assert.ok(['A', 'B'].includes(blog.json().upstream));
      assert.notEqual(blog.json().headers.host, 'blog.example.com');

      // No matching router: Traefik's 404.
      const none = await get(`${gw.web}/nothing`, { host: 'unknown.example.com' });
      assert.equal(none.status, 404);
      assert.equal(none.text, '404 page not found\n');

      // The health-checked server is reported in the API.
      const appv1 = await eventually(async () => {
        const r = (await get(`${gw.admin}/api/http/services/appv1@file`)).json();
        assert.deepEqual(r.serverStatus, { [a.url]: 'UP' });
        return r;
      });
      assert.equal(appv1.loadBalancer.healthCheck.path, '/health');
      const app = (await get(`${gw.admin}/api/http/services/app@file`)).json();
      assert.equal(app.type, 'weighted');
      assert.deepEqual(app.usedBy, ['my-router@file']);
    } finally {
      await gw.close();
    }
  });
}

test('the entry point middlewares and default entry points follow Traefik', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    everywhere:
      rule: PathPrefix(\`/\`)
      service: a
  middlewares:
    tag:
      headers:
        customRequestHeaders:
          X-From-Entry-Point: "yes"
  services:
    a:
      loadBalancer:
        servers:
          - url: "${a.url}"
`);
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml').replace('  web:\n    address: "127.0.0.1:0"', '  web:\n    address: "127.0.0.1:0"\n    http:\n      middlewares:\n        - tag@file'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    const r = await get(`${gw.web}/x`);
    assert.equal(r.json().headers['x-from-entry-point'], 'yes');
    const router = (await get(`${gw.admin}/api/http/routers/everywhere@file`)).json();
    // No entryPoints on the router: every entry point but Traefik's internal one.
    assert.deepEqual(router.entryPoints, ['web']);
    assert.deepEqual(router.middlewares, ['tag@file']);
    // The internal entry point does not route user traffic.
    assert.equal((await get(`${gw.admin}/x`)).status, 404);
  } finally {
    await gw.close();
  }
});

test('a local plugin from experimental.localPlugins is used as `plugin: { <name>: … }`', async () => {
  const dir = await tempDir();
  const pluginDir = new URL('../../examples/gateway-plugin', import.meta.url).pathname;
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    r:
      rule: PathPrefix(\`/\`)
      middlewares: [demo]
      service: a
  middlewares:
    demo:
      plugin:
        demo:
          headers:
            X-Demo: "{{method}} {{path}}"
  services:
    a:
      loadBalancer:
        servers:
          - url: "${a.url}"
`);
  await writeFile(join(dir, 'gateway.yml'), `${staticYaml('dynamic.yml')}
experimental:
  localPlugins:
    demo:
      moduleName: "${pluginDir}"
`);
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    const r = await get(`${gw.web}/hello`);
    assert.equal(r.json().headers['x-demo'], 'GET /hello');
    assert.equal(r.headers['x-plugin'], 'demo');
    assert.equal((await get(`${gw.admin}/api/http/middlewares/demo@file`)).json().type, 'demo');
  } finally {
    await gw.close();
  }
});
