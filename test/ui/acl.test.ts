/**
 * Login and ACLs in the browser, against a server with ACLs on and default deny (Consul's acl { enabled = true,
 * default_policy = "deny" }): an anonymous visitor is refused with the missing permission named (Consul's
 * "Permission denied: token with AccessorID '…' lacks permission 'acl:read'", acl/errors.go), a wrong secret is
 * refused (403 "ACL not found"), a management token logs in — kept in localStorage with "remember me", in
 * sessionStorage without — and lists tokens and policies; a read-only token is told what it lacks; logging out
 * forgets the token and the pages are refused again. Logging in through a jwt auth method (Consul's ACL.Login with
 * a bearer JWT) gives a token the UI destroys again on logout (/v1/acl/logout).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { assertAccessible, openBrowser, screenshot, step, type Session } from './browser.ts';

let s: Session;
let server: RunningServer;

before(async () => {
  [server, s] = await Promise.all([
    startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'acl-node', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny' } }, silentLogger()),
    openBrowser(),
  ]);
});

after(async () => {
  await s?.close();
  await server?.close();
});

const expectAccessible = (name: string) => assertAccessible(s.page, name);

test('ACLs: refused without a token, log in (remembered or not), lists for a manager, the missing permission for a reader, log out; login through a jwt auth method', async () => {
  const api = async <T>(method: string, path: string, token: string | undefined, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { method, headers: token ? { 'X-Consul-Token': token } : {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const manager = (await api<{ SecretID: string }>('PUT', '/v1/acl/bootstrap', undefined)).SecretID;
  await api('PUT', '/v1/acl/policy', manager, { Name: 'reader', Rules: 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }\nkey_prefix "" { policy = "read" }' });
  const reader = (await api<{ SecretID: string }>('PUT', '/v1/acl/token', manager, { Description: 'read-only operator', Policies: [{ Name: 'reader' }] })).SecretID;
  const { page } = s;
  const stored = () => page.evaluate(`({ session: sessionStorage.getItem('meshgate.token'), local: localStorage.getItem('meshgate.token') })`) as Promise<{ session: string | null; local: string | null }>;

  await step(s, 'acl-login', async () => {
    // Anonymous: the tokens page says what is missing instead of showing nothing.
    await page.goto(`${server.url}/ui/acl/tokens`);
    const refused = page.getByRole('alert');
    await refused.waitFor();
    assert.match(await refused.innerText(), /acl:read/);
    await screenshot(page, '11-acl-refused');
    await expectAccessible('a refused page');

    await page.getByRole('link', { name: 'Log in' }).first().click();
    await page.getByLabel('Secret ID').fill('00000000-not-a-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('No token with this secret exists on the server.').waitFor();
    await expectAccessible('the login page with an error');

    await page.getByLabel('Secret ID').fill(manager);
    await page.getByLabel('Remember me on this browser').check();
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/ui\/services$/);
    await page.getByText('Bootstrap Token (Global Management)').waitFor();
    const remembered = await stored();
    assert.equal(remembered.session, null);
    assert.ok(remembered.local?.includes(manager), '"remember me" keeps the token in localStorage');

    await page.getByRole('link', { name: 'Access control' }).click();
    const tokens = page.locator('table[aria-label="tokens"]');
    await tokens.waitFor();
    assert.ok(await tokens.locator('tbody tr').count() >= 3, 'anonymous, bootstrap and reader tokens are listed');
    await page.getByRole('link', { name: 'policies' }).click();
    await page.locator('table[aria-label="policies"] >> text=reader').waitFor();
    await screenshot(page, '12-acl-policies');
    await expectAccessible('the ACL policies page');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in' }).first().waitFor();
    assert.deepEqual(await stored(), { session: null, local: null }, 'logging out forgets the token');
    await page.goto(`${server.url}/ui/acl/tokens`);
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /acl:read/, 'after logout the page is refused again');

    await page.goto(`${server.url}/ui/login`);
    await page.getByLabel('Secret ID').fill(reader);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('read-only operator').waitFor();
    const session = await stored();
    assert.ok(session.session?.includes(reader), 'without "remember me" the token lives in sessionStorage');
    assert.equal(session.local, null);
    await page.goto(`${server.url}/ui/acl/tokens`);
    const denied = page.getByRole('alert');
    await denied.waitFor();
    assert.match(await denied.locator('code').first().innerText(), /^acl:read$/, 'the missing permission is named');
    await screenshot(page, '13-acl-permission-denied');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in' }).first().waitFor();
  });

  await step(s, 'acl-auth-method', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    await api('PUT', '/v1/acl/auth-method', manager, {
      Name: 'sso', Type: 'jwt', DisplayName: 'Corporate SSO',
      Config: { JWTValidationPubKeys: [await exportSPKI(publicKey)], BoundAudiences: ['meshgate'], ClaimMappings: { name: 'user' } },
    });
    await api('PUT', '/v1/acl/binding-rule', manager, { AuthMethod: 'sso', BindType: 'policy', BindName: 'reader' });
    const jwt = await new SignJWT({ name: 'alice' }).setProtectedHeader({ alg: 'RS256' }).setAudience('meshgate').setSubject('alice')
      .setIssuedAt().setExpirationTime('10m').sign(privateKey);
    await page.goto(`${server.url}/ui/login`);
    await page.getByLabel('Auth method').check();
    await page.getByLabel('Auth method', { exact: true }).last().fill('sso');
    await page.getByLabel('Bearer token (JWT)').fill(jwt);
    await expectAccessible('the auth-method login form');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/ui\/services$/);
    await page.getByText('token created via login').waitFor();
    const secret = JSON.parse((await stored()).session ?? '{}') as { secretId?: string; fromLogin?: boolean };
    assert.equal(secret.fromLogin, true);
    const self = await fetch(`${server.url}/v1/acl/token/self`, { headers: { 'X-Consul-Token': secret.secretId! } });
    assert.equal(((await self.json()) as { AuthMethod?: string }).AuthMethod, 'sso', 'the token came from the auth method');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in' }).first().waitFor();
    await waitFor(async () => (await fetch(`${server.url}/v1/acl/token/self`, { headers: { 'X-Consul-Token': secret.secretId! } })).status === 403,
      'the login token destroyed by logout');
  });
});
