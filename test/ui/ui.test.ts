/**
 * The web UI in a real browser (Debian's Chromium, headless, through playwright-core) against a started topology
 * (topology.ts, or the demo's through MESHGATE_UI_TOPOLOGY): services with health; a TTL check failing turns an
 * instance critical in the open page (a blocking query, no reload) and takes it out of the gateway's routing; a KV
 * edit, and a CAS conflict shown when someone else changed the key; intentions and "can A reach B?"; the gateway
 * page's routers, served by the gateway itself. axe-core runs on every page (no serious or critical violation);
 * screenshots go to test-artifacts/ui/, with the HTML and console log of a failing step. ACLs: acl.test.ts.
 *
 * Consul behaviour relied on: a TTL check set with /v1/agent/check/fail turns critical (agent/agent_endpoint.go
 * AgentCheckFail); Traefik's consulCatalog provider keeps only passing/warning instances (pkg/provider/consulcatalog,
 * strictChecks default); KV's `?cas=` answers false on an index mismatch (agent/kvs_endpoint.go).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEFAULT_UI_DIR } from '../../src/lib/http/static-files.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { ARTIFACTS, assertAccessible, openBrowser, screenshot, step, type Session } from './browser.ts';
import type { Topology } from './topology.ts';

let topo: Topology;
let s: Session;
const figures: Record<string, unknown> = {};

before(async () => {
  const module = process.env.MESHGATE_UI_TOPOLOGY ?? './topology.ts';
  const { startTopology } = (await import(module)) as { startTopology: () => Promise<Topology> };
  // The browser starts while the topology does: the two are independent and each takes seconds on a loaded host.
  [topo, s] = await Promise.all([startTopology(), openBrowser()]);
  if (topo.token) {
    // The app reads its token from sessionStorage; put it there before any page script runs.
    await s.context.addInitScript(`sessionStorage.setItem('meshgate.token', ${JSON.stringify(JSON.stringify({ secretId: topo.token, fromLogin: false }))})`);
  }
});

after(async () => {
  await s?.close();
  await topo?.close();
  writeFileSync(join(ARTIFACTS, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
});

const expectAccessible = (name: string) => assertAccessible(s.page, name);

function headers(): Record<string, string> {
  return topo.token ? { 'X-Consul-Token': topo.token } : {};
}

async function consulPut(path: string, body = ''): Promise<string> {
  const res = await fetch(`${topo.consul}${path}`, { method: 'PUT', body, headers: headers() });
  const text = await res.text();
  assert.ok(res.ok, `PUT ${path}: ${res.status} ${text}`);
  return text;
}

test('services across environments with their health; first page interactive time and bundle size measured', async () => {
  await step(s, 'services', async () => {
    const { page } = s;
    await page.goto(`${topo.consul}/`);
    assert.equal(new URL(page.url()).pathname, '/ui/', '/ redirects to /ui/');
    const rowShownAt = await (await page.waitForFunction(`document.querySelector('tr[data-service="web"][data-health="passing"]') ? performance.now() : false`, undefined, { timeout: 30_000 })).jsonValue() as number;
    // Page-side code as text: the test's tsconfig has no DOM library.
    const timing = await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const mark = performance.getEntriesByName('meshgate:interactive')[0];
      return { domInteractive: nav.domInteractive, domContentLoaded: nav.domContentLoadedEventEnd, appRendered: mark ? mark.startTime : -1 };
    })()`) as { domInteractive: number; domContentLoaded: number; appRendered: number };
    figures.firstPage = { ...timing, servicesShown: rowShownAt, unit: 'ms from navigation start (performance timing)' };
    const assets = join(DEFAULT_UI_DIR, 'assets');
    const files = readdirSync(assets);
    const size = (ext: string) => files.filter((f) => f.endsWith(ext)).reduce((n, f) => n + readFileSync(join(assets, f)).length, 0);
    const gz = (ext: string) => files.filter((f) => f.endsWith(ext)).reduce((n, f) => n + gzipSync(readFileSync(join(assets, f)), { level: 9 }).length, 0);
    figures.bundle = { js: size('.js'), jsGzip: gz('.js'), css: size('.css'), cssGzip: gz('.css'), unit: 'bytes' };
    console.log(`# UI first page: ${JSON.stringify(figures.firstPage)}; bundle: ${JSON.stringify(figures.bundle)}`);

    for (const name of ['web', 'api', 'postgres', 'billing']) await page.waitForSelector(`tr[data-service="${name}"]`);
    const text = await page.locator('table[aria-label="Services"]').innerText();
    assert.match(text, /kubernetes/, 'the synced service shows its source');
    assert.match(text, /external/, 'the database shows as an external service');
    // Filters: by health and by source.
    await page.getByLabel('Source').selectOption('kubernetes');
    await page.waitForFunction(`document.querySelectorAll('tbody tr[data-service]').length === 1`);
    assert.equal(await page.locator('tbody tr[data-service]').first().getAttribute('data-service'), 'billing');
    await page.getByLabel('Source').selectOption('');
    await page.getByLabel('Search').fill('front');
    await page.waitForSelector('tr[data-service="web"]');
    assert.equal(await page.locator('tbody tr[data-service]').count(), 1, 'search finds services by tag');
    await page.getByLabel('Search').fill('');
    await screenshot(page, '01-services');
    await expectAccessible('the services page');
  });
});

test('a failing TTL check turns the instance critical in the open page and takes it out of the gateway routing', async () => {
  await step(s, 'critical', async () => {
    const { page } = s;
    const [healthy, failing] = topo.routed.instances as [{ id: string; checkId: string }, { id: string; checkId: string }];
    const servers = async () => {
      const res = await fetch(`${topo.gatewayAdmin}/api/http/services/${encodeURIComponent(`${topo.routed.service}@consulcatalog`)}`);
      if (!res.ok) return [];
      return ((await res.json()) as { loadBalancer?: { servers?: unknown[] } }).loadBalancer?.servers ?? [];
    };
    await waitFor(async () => (await servers()).length === 2, 'the gateway routing to both instances', { deadlineMs: 30_000 });
    await page.waitForSelector(`tr[data-service="${topo.routed.service}"][data-health="passing"]`);
    await consulPut(`/v1/agent/check/fail/${encodeURIComponent(failing.checkId)}?note=${encodeURIComponent('disk full (set by the browser test)')}`);
    // No reload: the open page's blocking query sees the change.
    await page.waitForSelector(`tr[data-service="${topo.routed.service}"][data-health="critical"]`, { timeout: 30_000 });
    await screenshot(page, '02-services-critical');
    await waitFor(async () => (await servers()).length === 1, 'the gateway dropping the critical instance', { deadlineMs: 30_000 });
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${topo.gatewayWeb}${topo.routed.path}`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { service: string }).service, healthy.id, 'only the passing instance answers through the gateway');
    }
    await page.getByRole('link', { name: topo.routed.service, exact: true }).click();
    const instance = page.locator(`article[data-instance="${failing.id}"]`);
    await instance.waitFor();
    assert.equal(await instance.getAttribute('data-health'), 'critical');
    assert.match(await instance.innerText(), /disk full/, 'the check output is shown');
    assert.equal(await page.locator(`article[data-instance="${healthy.id}"]`).getAttribute('data-health'), 'passing');
    await screenshot(page, '03-service-critical');
    await expectAccessible('the service page');
    await consulPut(`/v1/agent/check/pass/${encodeURIComponent(failing.checkId)}`);
    await page.waitForSelector(`article[data-instance="${failing.id}"][data-health="passing"]`, { timeout: 30_000 });
  });
});

test('KV: create, edit with highlighting, and a CAS conflict when someone else changed the key', async () => {
  await step(s, 'kv', async () => {
    const { page } = s;
    await page.getByRole('link', { name: 'Key/Value' }).click();
    await page.getByRole('link', { name: 'config/' }).click();
    await page.getByRole('link', { name: 'web/' }).click();
    await page.waitForSelector('ul[aria-label="Keys"] >> text=settings');
    await expectAccessible('a KV folder');
    await page.getByLabel('Key name (end with / for a folder)').fill('limits');
    await page.getByLabel('Value').fill('{"rps": 100}');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/ui\/kv\/config\/web\/limits$/);
    const raw = async (key: string) => (await fetch(`${topo.consul}/v1/kv/${key}?raw`, { headers: headers() })).text();
    assert.equal(await raw('config/web/limits'), '{"rps": 100}');

    await page.goto(`${topo.consul}/ui/kv/config/web/settings`);
    const editor = page.getByLabel('Value');
    await editor.waitFor();
    assert.ok(await page.locator('.code-layer .tok-key').count() > 0, 'the JSON value is highlighted');
    await editor.fill('{\n  "theme": "light",\n  "items": 50\n}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal(await raw('config/web/settings'), '{\n  "theme": "light",\n  "items": 50\n}');
    await screenshot(page, '04-kv-edit');

    // Someone else writes while this user edits: the save must not overwrite them silently.
    await editor.fill('{"theme": "mine"}');
    await consulPut('/v1/kv/config/web/settings', '{"theme": "theirs"}');
    await page.getByRole('button', { name: 'Save' }).click();
    const conflict = page.locator('[data-conflict="true"]');
    await conflict.waitFor();
    assert.match(await conflict.innerText(), /theirs/, 'the conflict shows the other value');
    assert.equal(await raw('config/web/settings'), '{"theme": "theirs"}', 'nothing was overwritten');
    await screenshot(page, '05-kv-conflict');
    await expectAccessible('the KV editor with a conflict');
    await page.getByRole('button', { name: 'Overwrite with mine' }).click();
    await page.getByText('Saved.').waitFor();
    assert.equal(await raw('config/web/settings'), '{"theme": "mine"}');

    await page.goto(`${topo.consul}/ui/kv/config/web/feature.yaml`);
    await page.getByLabel('Value').waitFor();
    assert.equal(await page.getByLabel('Highlight as').inputValue(), 'yaml', 'a YAML value is recognised');
  });
});

test('intentions: the list, "can A reach B?" answered by the server, and the topology of a service', async () => {
  await step(s, 'intentions', async () => {
    const { page } = s;
    await page.getByRole('link', { name: 'Intentions' }).click();
    await page.waitForSelector('tr[data-intention="web→api"]');
    const ask = async (source: string, destination: string) => {
      await page.getByLabel('Source (A)').fill(source);
      await page.getByLabel('Destination (B)').fill(destination);
      await page.getByRole('button', { name: 'Ask the server' }).click();
      return page.locator('[data-allowed]').filter({ hasText: `${source} ` }).getAttribute('data-allowed');
    };
    assert.equal(await ask('web', 'api'), 'true');
    assert.equal(await ask('billing', 'api'), 'false');
    await screenshot(page, '06-intentions');
    await expectAccessible('the intentions page');
    await page.goto(`${topo.consul}/ui/services/api`);
    const svg = page.locator('svg.topology');
    await svg.waitFor();
    await waitFor(async () => /billing to api deny/.test((await svg.getAttribute('aria-label')) ?? ''), 'the topology with the deny decision');
    assert.match((await svg.getAttribute('aria-label')) ?? '', /web to api allow/);
    await screenshot(page, '07-topology');
  });
});

test('nodes, config entries and access control pages render with their states', async () => {
  await step(s, 'pages', async () => {
    const { page } = s;
    await page.goto(`${topo.consul}/ui/nodes`);
    await page.waitForSelector('tr[data-node="db-host"]');
    await expectAccessible('the nodes page');
    await page.goto(`${topo.consul}/ui/config/service-intentions`);
    await page.getByRole('heading', { name: 'api' }).waitFor();
    await expectAccessible('the config entries page');
    await page.goto(`${topo.consul}/ui/acl/tokens`);
    await page.locator('[data-acl="disabled"], table[aria-label="tokens"]').first().waitFor();
    await screenshot(page, '08-acl');
    await expectAccessible('the ACL page');
    // Keyboard: the first Tab lands on the skip link, drawn with a visible focus ring.
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(`(() => {
      const el = document.activeElement;
      const style = el ? getComputedStyle(el) : undefined;
      return { text: el ? el.textContent : '', outline: style ? style.outlineStyle : 'none', width: style ? style.outlineWidth : '0px' };
    })()`) as { text: string; outline: string; width: string };
    assert.equal(focus.text, 'Skip to content');
    assert.notEqual(focus.outline, 'none');
    assert.notEqual(focus.width, '0px');
    // The next Tab is the first navigation link; Enter follows it and focus lands on the new page's heading.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ui\/services$/);
    await page.waitForFunction(`document.activeElement && document.activeElement.tagName === 'H1' && document.activeElement.textContent === 'Services'`);
  });
});

test('the gateway page, served by the gateway at /dashboard/: entry points, routers, services with their servers', async () => {
  await step(s, 'gateway', async () => {
    const { page } = s;
    await page.goto(`${topo.gatewayAdmin}/`);
    assert.equal(new URL(page.url()).pathname, '/dashboard/');
    const router = page.locator(`tr[data-router="${topo.routed.service}@consulcatalog"]`);
    await router.waitFor({ timeout: 30_000 });
    assert.match(await router.innerText(), /PathPrefix/);
    assert.match(await router.innerText(), /enabled/);
    await page.locator('tr[data-router="consul-api@file"]').waitFor();
    await page.locator(`tr[data-gateway-service="${topo.routed.service}@consulcatalog"]`).waitFor();
    await screenshot(page, '09-gateway');
    await expectAccessible('the gateway page');
    // The same app on the gateway's web entry point reads the catalog through the /v1 route.
    await page.goto(`${topo.gatewayWeb}/dashboard/services`);
    await page.waitForSelector('tr[data-service="web"]', { timeout: 30_000 });
    await screenshot(page, '10-gateway-served-services');
  });
});
