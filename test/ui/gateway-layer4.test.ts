/**
 * The gateway page's TCP and UDP part in a real browser (Debian's Chromium through playwright-core), served by the
 * gateway at /dashboard/gateway: TCP routers (rule, entry points, TLS mode), services and middlewares, UDP routers
 * and services, each with the status and errors the API reports — a router on a missing entry point and service
 * shows Traefik's messages (pkg/config/runtime runtime_tcp.go / runtime_udp.go GetTCPRoutersByEntryPoints,
 * pkg/server/service/{tcp,udp} "the service %q does not exist"). axe-core finds no serious violation on the page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_UI_DIR } from '../../src/lib/http/static-files.ts';
import { fileProviderYaml, startGateway, tempDir } from '../gateway/helpers.ts';
import { assertAccessible, openBrowser, screenshot, step, type Session } from './browser.ts';

let gw: Awaited<ReturnType<typeof startGateway>>;
let s: Session;

before(async () => {
  assert.ok(existsSync(join(DEFAULT_UI_DIR, 'index.html')), `the UI is built into ${DEFAULT_UI_DIR} (npm run build:ui)`);
  const dir = await tempDir('mg-ui-l4-');
  await writeFile(join(dir, 'dynamic.yml'), `
tcp:
  routers:
    postgres:
      entryPoints: [db]
      rule: HostSNI(\`*\`)
      service: postgres
      middlewares: [local-only]
    tls-pass:
      entryPoints: [db]
      rule: HostSNI(\`a.example.com\`)
      service: postgres
      tls:
        passthrough: true
    tcp-broken:
      entryPoints: [db, nope]
      rule: HostSNI(\`*\`)
      service: missing
  services:
    postgres:
      loadBalancer:
        servers:
          - address: "127.0.0.1:5432"
  middlewares:
    local-only:
      ipAllowList:
        sourceRange: ["127.0.0.1/32"]
udp:
  routers:
    dns:
      entryPoints: [dns]
      service: dns
    udp-broken:
      entryPoints: [dns]
      service: absent
  services:
    dns:
      weighted:
        services:
          - name: dns-a
            weight: 2
          - name: dns-b
    dns-a:
      loadBalancer:
        servers:
          - address: "127.0.0.1:5353"
    dns-b:
      loadBalancer:
        servers:
          - address: "127.0.0.1:5354"
`);
  await writeFile(join(dir, 'gateway.yml'), `entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
  db:
    address: "127.0.0.1:0"
  dns:
    address: "127.0.0.1:0/udp"
${fileProviderYaml(join(dir, 'dynamic.yml'))}`);
  [gw, s] = await Promise.all([startGateway(join(dir, 'gateway.yml')), openBrowser()]);
});

after(async () => {
  await s?.close();
  await gw?.close();
});

test('the gateway page lists TCP and UDP routers, services and middlewares with their status and errors', async () => {
  await step(s, 'gateway-layer4', async () => {
    const { page } = s;
    await page.goto(`${gw.admin}/dashboard/gateway`);
    const row = (attr: string, key: string) => page.locator(`tr[${attr}="${key}"]`);

    const postgres = row('data-l4-router', 'tcp:postgres@file');
    await postgres.waitFor({ timeout: 30_000 });
    const postgresText = await postgres.innerText();
    assert.match(postgresText, /HostSNI\(`\*`\)/);
    assert.match(postgresText, /enabled/);
    assert.match(postgresText, /\bdb\b/);
    assert.match(await row('data-l4-router', 'tcp:tls-pass@file').innerText(), /passthrough/);

    // The entry point check warns, the missing service disables: both messages, as the API reports them.
    const broken = await row('data-l4-router', 'tcp:tcp-broken@file').innerText();
    assert.match(broken, /disabled/);
    assert.match(broken, /entryPoint "nope" doesn't exist/);
    assert.match(broken, /the service "missing@file" does not exist/);

    const service = await row('data-l4-service', 'tcp:postgres@file').innerText();
    assert.match(service, /loadbalancer/);
    assert.match(service, /127\.0\.0\.1:5432/);
    assert.match(service, /postgres@file, tcp-broken@file|postgres@file, tls-pass@file/);
    assert.match(await row('data-l4-middleware', 'tcp:local-only@file').innerText(), /ipallowlist[\s\S]*postgres@file/);

    const dns = await row('data-l4-router', 'udp:dns@file').innerText();
    assert.match(dns, /enabled/);
    const udpBroken = await row('data-l4-router', 'udp:udp-broken@file').innerText();
    assert.match(udpBroken, /disabled/);
    assert.match(udpBroken, /the UDP service "absent@file" does not exist/);
    const weighted = await row('data-l4-service', 'udp:dns@file').innerText();
    assert.match(weighted, /weighted/);
    assert.match(weighted, /dns-a ×2/);
    assert.match(await row('data-l4-service', 'udp:dns-b@file').innerText(), /127\.0\.0\.1:5354/);

    await screenshot(page, 'gateway-tcp-udp');
    await assertAccessible(page, 'the gateway page with TCP and UDP routers');
  });
});
