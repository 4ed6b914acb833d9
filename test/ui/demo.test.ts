/**
 * The browser steps of the UI issue against the demo itself (examples/demo/topology.ts): log in with the printed
 * management token; see A, B and C with their health; edit B's configuration in the KV page and see B's answer through
 * the gateway change (the agent re-renders the file B reads); make B fail its check and see it turn critical in the open
 * service page; turn the A→B intention to deny in the intentions editor and see the call through the gateway fail;
 * find the demo's routers on the gateway's page; log out and be refused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startDemo, type RunningDemo } from '../../examples/demo/topology.ts';
import { freeDemoPorts } from '../demo/free-ports.ts';
import { openBrowser, screenshot, step, type Session } from './browser.ts';

let demo: RunningDemo;
let s: Session;
let consul: string;

before(async () => {
  const ports = await freeDemoPorts();
  demo = await startDemo({ ports });
  consul = `http://127.0.0.1:${demo.ports.server}`;
  s = await openBrowser();
});

after(async () => {
  await s?.close();
  await demo?.stop();
});

/** A's answer through the gateway: the chain A → B → C as the hops report it. */
async function throughGateway(): Promise<{ next?: { service?: string; config?: { greeting?: string }; error?: string } }> {
  const res = await fetch(`${demo.gatewayUrl}/a/`);
  return (await res.json()) as { next?: { service?: string; config?: { greeting?: string }; error?: string } };
}

test('the demo in the browser: log in, health, a KV edit changes B, B fails live, a deny intention breaks A→B, the gateway\'s routers, log out', { timeout: 240_000 }, async () => {
  const { page } = s;
  await step(s, 'demo-login', async () => {
    await page.goto(`${consul}/ui/login`);
    await page.getByLabel('Secret ID').fill(demo.managementToken);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/ui\/services$/);
    for (const service of ['a', 'b', 'c', 'inventory']) await page.waitForSelector(`tr[data-service="${service}"][data-health="passing"]`, { timeout: 30_000 });
    await screenshot(page, 'demo-01-services');
  });

  await step(s, 'demo-kv', async () => {
    assert.equal((await throughGateway()).next?.config?.greeting, 'hello from KV');
    await page.goto(`${consul}/ui/kv/config/b/settings`);
    const editor = page.getByLabel('Value');
    await editor.waitFor();
    await editor.fill('{"greeting": "edited in the browser"}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    await waitFor(async () => (await throughGateway()).next?.config?.greeting === 'edited in the browser', 'B answering with the edited configuration', { deadlineMs: 30_000 });
    await screenshot(page, 'demo-02-kv-edited');
  });

  await step(s, 'demo-critical', async () => {
    await page.goto(`${consul}/ui/services`);
    await page.waitForSelector('tr[data-service="b"][data-health="passing"]');
    await fetch(`http://127.0.0.1:${demo.ports.b}/admin/health?status=critical`, { method: 'PUT' });
    // No reload: the open page's blocking query sees the check turn critical.
    await page.waitForSelector('tr[data-service="b"][data-health="critical"]', { timeout: 30_000 });
    await screenshot(page, 'demo-03-b-critical');
    await fetch(`http://127.0.0.1:${demo.ports.b}/admin/health?status=passing`, { method: 'PUT' });
    await page.waitForSelector('tr[data-service="b"][data-health="passing"]', { timeout: 30_000 });
    await waitFor(async () => (await throughGateway()).next?.service === 'b', 'A reaching B again', { deadlineMs: 30_000 });
  });

  await step(s, 'demo-intention', async () => {
    await page.goto(`${consul}/ui/intentions`);
    await page.getByRole('button', { name: 'Edit a to b' }).click();
    await page.getByLabel('Action').selectOption('deny');
    await page.getByRole('button', { name: 'Save' }).click();
    await waitFor(async () => (await throughGateway()).next?.error !== undefined, 'the call A → B through the gateway failing', { deadlineMs: 30_000 });
    assert.match((await throughGateway()).next?.error ?? '', /refused or unreachable/);
    await screenshot(page, 'demo-04-intention-deny');
  });

  await step(s, 'demo-gateway', async () => {
    await page.goto(demo.dashboardUrl);
    for (const router of ['demo-a@consulcatalog', 'demo-limited@consulcatalog', 'demo-secure@consulcatalog', 'legacy@consulcatalog']) {
      await page.locator(`tr[data-router="${router}"]`).waitFor({ timeout: 30_000 });
    }
    await screenshot(page, 'demo-05-gateway');
  });

  await step(s, 'demo-logout', async () => {
    await page.goto(`${consul}/ui/services`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in' }).first().waitFor();
    await page.goto(`${consul}/ui/acl/tokens`);
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /acl:read/, 'after logout the page is refused');
  });
});
