/**
 * Dynamic configuration changes: a bad file never replaces the running configuration; a broken router is disabled
 * alone with Traefik's error text; `@provider` qualification; file watch reloads under load without a failed
 * request; the last good configuration is persisted and serves a cold start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, get, startGateway, startUpstream, staticYaml, tempDir, writeAtomic, type Upstream, withUpstreams } from './helpers.ts';

let a: Upstream;
let b: Upstream;
withUpstreams(['A', 'B'], ([first, second]) => ([a, b] = [first!, second!]));

const routeTo = (upstream: Upstream, extra = '') => `
http:
  routers:
    main:
      rule: PathPrefix(\`/\`)
      service: svc
${extra}
  services:
    svc:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
`;

test('a file that breaks the schema is rejected naming the key; the previous configuration keeps serving', async () => {
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, routeTo(a));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    assert.equal((await get(`${gw.web}/`)).json().upstream, 'A');
    const reloads = async () => Number(/^traefik_config_reloads_total (\d+)/m.exec((await get(`${gw.admin}/metrics`)).text)?.[1]);
    const failures = async () => Number(/^traefik_config_reloads_failure_total (\d+)/m.exec((await get(`${gw.admin}/metrics`)).text)?.[1]);
    const before = await reloads();
    assert.equal(await failures(), 0);
    // Unknown key, then unparsable YAML: neither replaces what serves.
    await writeAtomic(dynamic, routeTo(b).replace('service: svc', 'service: svc\n      servce: typo'));
    await writeAtomic(dynamic, 'http: [');
    // Files are read in a worker thread: wait for the rejection to be counted rather than a fixed time.
    await eventually(async () => assert.ok((await failures()) >= 1, 'a rejected file counts as a failed reload'));
    assert.equal((await get(`${gw.web}/`)).json().upstream, 'A');
    assert.equal(await reloads(), before);
    // A good file is picked up.
    await writeAtomic(dynamic, routeTo(b));
    await eventually(async () => assert.equal((await get(`${gw.web}/`)).json().upstream, 'B'));
    assert.equal(await reloads(), before + 1);
  } finally {
    await gw.close();
  }
});

test('a router with a broken rule, a missing service or middleware, or an unknown entry point is disabled alone', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), routeTo(a, `
    bad-rule:
      rule: Path(\`/x\`) &&
      service: svc
    no-service:
      rule: Path(\`/y\`)
      service: missing
    no-middleware:
      rule: Path(\`/z\`)
      service: svc
      middlewares:
        - nope
    bad-entrypoint:
      rule: Path(\`/w\`)
      service: svc
      entryPoints:
        - web
        - unknown-entrypoint
    only-bad-entrypoint:
      rule: Path(\`/v\`)
      service: svc
      entryPoints:
        - unknown-entrypoint
    qualified:
      rule: Path(\`/q\`)
      service: svc@file
    other-provider:
      rule: Path(\`/o\`)
      service: svc@consulcatalog
    on-internal-service:
      rule: PathPrefix(\`/dashboard-api\`)
      service: api@internal
      middlewares:
        - strip
  middlewares:
    strip:
      stripPrefix:
        prefixes:
          - /dashboard-api`));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string; status: string; error?: string[]; using?: string[] }>;
    const byName = new Map(routers.map((r) => [r.name, r]));
    assert.equal(byName.get('main@file')!.status, 'enabled');
    assert.equal(byName.get('bad-rule@file')!.status, 'disabled');
    assert.match(byName.get('bad-rule@file')!.error![0]!, /Path\(`\/x`\) &&/);
    assert.deepEqual(byName.get('no-service@file')!.error, ['the service "missing@file" does not exist']);
    assert.deepEqual(byName.get('no-middleware@file')!.error, ['middleware "nope@file" does not exist']);
    // An unknown entry point among good ones is a warning; the router still serves on the good one.
    assert.equal(byName.get('bad-entrypoint@file')!.status, 'warning');
    assert.deepEqual(byName.get('bad-entrypoint@file')!.error, ['entryPoint "unknown-entrypoint" doesn\'t exist']);
    assert.deepEqual(byName.get('bad-entrypoint@file')!.using, ['web']);
    assert.equal(byName.get('only-bad-entrypoint@file')!.status, 'disabled');
    assert.deepEqual(byName.get('only-bad-entrypoint@file')!.error, ['entryPoint "unknown-entrypoint" doesn\'t exist', 'no valid entryPoint for this router']);
    assert.equal(byName.get('qualified@file')!.status, 'enabled');
    assert.deepEqual(byName.get('other-provider@file')!.error, ['the service "svc@consulcatalog" does not exist']);

    // Everything else keeps serving; disabled routers' paths fall through to the catch-all router.
    assert.equal((await get(`${gw.web}/w`)).json().upstream, 'A');
    assert.equal((await get(`${gw.web}/q`)).json().upstream, 'A');
    assert.equal((await get(`${gw.web}/y`)).json().url, '/y');
    // A user router may reach an internal service, as in Traefik's secure-dashboard recipe.
    const viaRouter = await get(`${gw.web}/dashboard-api/api/version`);
    assert.equal(viaRouter.status, 200);
    assert.ok(viaRouter.json().Version);

    const overview = (await get(`${gw.admin}/api/overview`)).json();
    assert.equal(overview.http.routers.errors, 5);
    assert.equal(overview.http.routers.warnings, 1);
    const filtered = (await get(`${gw.admin}/api/http/routers?status=disabled`)).json() as Array<{ name: string }>;
    assert.equal(filtered.length, 5);
  } finally {
    await gw.close();
  }
});

test('file watch reloads under load without a failed request', async () => {
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, routeTo(a));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  const slow = await startUpstream('slow', { delayMs: 30 });
  try {
    let stop = false;
    const statuses = new Map<number, number>();
    const upstreams = new Set<string>();
    const client = async () => {
      while (!stop) {
        const r = await get(`${gw.web}/load`);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) upstreams.add(r.json().upstream);
      }
    };
    const clients = Array.from({ length: 8 }, client);
    const targets = [b, slow, a, b, slow, a];
    for (const target of targets) {
      await writeAtomic(dynamic, routeTo(target));
      await eventually(async () => assert.equal((await get(`${gw.web}/probe`)).json().upstream, target.name));
    }
    stop = true;
    await Promise.all(clients);
    assert.deepEqual([...statuses.keys()], [200], `every request succeeded: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(200) ?? 0) > 50);
    assert.deepEqual([...upstreams].sort(), ['A', 'B', 'slow']);
  } finally {
    await gw.close();
    await slow.close();
  }
});

test('the last good configuration is persisted beside the static file and serves a cold start', async () => {
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  const staticFile = join(dir, 'gateway.yml');
  await writeFile(dynamic, routeTo(a));
  await writeFile(staticFile, staticYaml('dynamic.yml'));
  const first = await startGateway(staticFile);
  assert.equal((await get(`${first.web}/`)).json().upstream, 'A');
  await first.close();
  const saved = JSON.parse(await readFile(`${staticFile}.last-good.json`, 'utf8'));
  assert.equal(saved.version, 1);
  assert.ok(saved.providers.file.http.routers.main);

  // The source is gone (think: the Consul server is down): the restarted gateway serves its last routes.
  await rm(dynamic);
  const second = await startGateway(staticFile);
  try {
    const r = await get(`${second.web}/after-restart`);
    assert.equal(r.status, 200);
    assert.equal(r.json().upstream, 'A');
    // When the source comes back it takes over.
    await writeAtomic(dynamic, routeTo(b));
    await eventually(async () => assert.equal((await get(`${second.web}/`)).json().upstream, 'B'));
    await eventually(async () => {
      const again = JSON.parse(await readFile(`${staticFile}.last-good.json`, 'utf8'));
      assert.equal(again.providers.file.http.services.svc.loadBalancer.servers[0].url, b.url);
    });
  } finally {
    await second.close();
  }
  // A corrupt last-good file is ignored, never fatal.
  await writeFile(`${staticFile}.last-good.json`, '{"version":1,"providers":{"file":{"http":{"routers":{"x":{"bogus":1}}}}}}');
  const third = await startGateway(staticFile);
  try {
    assert.equal((await get(`${third.web}/`)).json().upstream, 'B');
  } finally {
    await third.close();
  }
});

test('a request in flight finishes on the configuration it started on while new requests use the new one', async () => {
  const slow = await startUpstream('slow', { delayMs: 800 });
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, routeTo(slow));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    const hits = slow.hits;
    const inflight = get(`${gw.web}/long`);
    await eventually(async () => assert.equal(slow.hits, hits + 1));
    // The slow service disappears from the configuration while its request is still running.
    await writeAtomic(dynamic, routeTo(a));
    await eventually(async () => assert.equal((await get(`${gw.web}/`)).json().upstream, 'A'));
    const done = await inflight;
    assert.equal(done.status, 200);
    assert.equal(done.json().upstream, 'slow');
    const svc = (await get(`${gw.admin}/api/http/services/svc@file`)).json();
    assert.deepEqual(svc.serverStatus, { [a.url]: 'UP' });
  } finally {
    await gw.close();
    await slow.close();
  }
});
