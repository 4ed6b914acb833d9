/**
 * Auth methods, binding rules, /v1/acl/login and /v1/acl/logout on a real server with ACLs on (default deny),
 * against a JWKS server on loopback whose key pair comes from jose. Behaviour from Consul: agent/consul/
 * acl_endpoint.go (AuthMethodSet, BindingRuleSet, Login, Logout — "Permission denied" when nothing binds or the
 * token was not made by a login, "ACL not found" for an unknown secret, a method's tokens and rules deleted with it),
 * agent/consul/auth/login.go (Description "token created via login: <meta JSON>", Local unless TokenLocality is
 * global, ExpirationTTL = MaxTokenTTL), agent/consul/auth/binder.go (selectors over the value and list fields, BindName
 * interpolation) and internal/go-sso/oidcauth (issuer, audience and time checks, "exactly one of" key sources).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type KeyObject } from 'jose';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { startEtcd } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { tempDir } from '../helpers/server.ts';
import { createTestPki } from '../helpers/test-pki.ts';

endLingeringProcessAfterSuite();

type Key = CryptoKey | KeyObject;
const ROOT = randomUUID();
const ISSUER = 'https://issuer.test';
let server: RunningServer;
let jwks: Server;
let jwksUrl: string;
let signingKey: Key;
let otherKey: Key;
let esKeys: { privateKey: Key; publicKey: Key };

before(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  esKeys = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  server = await startServer(
    { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: ROOT } } },
    silentLogger(),
  );
});
after(async () => {
  await server?.close();
  await new Promise<void>((r) => (jwks ? jwks.close(() => r()) : r()));
});

interface Reply { status: number; body: any; text: string }
async function call(method: string, path: string, body?: unknown, token?: string): Promise<Reply> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: token ? { 'X-Consul-Token': token } : {},
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

interface JwtOptions { key?: Key; alg?: string; kid?: string; iss?: string; aud?: string | string[]; expSeconds?: number }
async function jwt(claims: Record<string, unknown>, opts: JwtOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let builder = new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: opts.kid ?? 'test-key-1' })
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expSeconds ?? 300))
    .setIssuer(opts.iss ?? ISSUER);
  if (opts.aud !== undefined) builder = builder.setAudience(opts.aud);
  return builder.sign(opts.key ?? signingKey);
}

const METHOD = {
  Name: 'test-jwt',
  Type: 'jwt',
  Description: 'a JWKS-backed method',
  MaxTokenTTL: '10m',
  Config: {
    JWKSURL: '',
    BoundIssuer: ISSUER,
    BoundAudiences: ['meshgate'],
    ClaimMappings: { service_name: 'service', '/team/name': 'team' },
    ListClaimMappings: { groups: 'groups' },
  },
};

test('login with a JWT signed by the JWKS server returns a token with the bound service identity; logout deletes it', async () => {
  const method = await call('PUT', '/v1/acl/auth-method', { ...METHOD, Config: { ...METHOD.Config, JWKSURL: jwksUrl } }, ROOT);
  assert.equal(method.status, 200, method.text);
  assert.equal(method.body.Name, 'test-jwt');
  assert.equal(method.body.MaxTokenTTL, '10m0s');
  const rule = await call('PUT', '/v1/acl/binding-rule', {
    AuthMethod: 'test-jwt', Description: 'payments services', BindType: 'service', BindName: '${value.service}', Selector: 'value.team == "payments"',
  }, ROOT);
  assert.equal(rule.status, 200, rule.text);
  assert.match(rule.body.ID, /^[0-9a-f-]{36}$/);

  const bearer = await jwt({ service_name: 'billing', team: { name: 'payments' }, groups: ['dev'] }, { aud: 'meshgate' });
  const login = await call('POST', '/v1/acl/login', { AuthMethod: 'test-jwt', BearerToken: bearer, Meta: { pod: 'billing-1' } });
  assert.equal(login.status, 200, login.text);
  assert.deepEqual(login.body.ServiceIdentities, [{ ServiceName: 'billing' }]);
  assert.equal(login.body.AuthMethod, 'test-jwt');
  assert.equal(login.body.Local, true);
  assert.equal(login.body.Description, 'token created via login: {"pod":"billing-1"}');
  assert.match(login.body.SecretID, /^[0-9a-f-]{36}$/);
  // ExpirationTTL = the method's MaxTokenTTL: the token expires about ten minutes from now.
  const expiresIn = Date.parse(login.body.ExpirationTime) - Date.now();
  assert.ok(expiresIn > 8 * 60_000 && expiresIn <= 10 * 60_000, String(expiresIn));

  // The token resolves: it reads itself, and is listed among the method's tokens.
  const self = await call('GET', '/v1/acl/token/self', undefined, login.body.SecretID);
  assert.equal(self.status, 200, self.text);
  assert.equal(self.body.AccessorID, login.body.AccessorID);
  const listed = await call('GET', '/v1/acl/tokens?authmethod=test-jwt', undefined, ROOT);
  assert.deepEqual(listed.body.map((t: { AccessorID: string }) => t.AccessorID), [login.body.AccessorID]);

  // Only a login token can log out, and only itself (the request's own token).
  const notLogin = await call('POST', '/v1/acl/logout', undefined, ROOT);
  assert.equal(notLogin.status, 403);
  assert.equal(notLogin.text, 'Permission denied');
  const out = await call('POST', '/v1/acl/logout', undefined, login.body.SecretID);
  assert.equal(out.status, 200, out.text);
  const gone = await call('GET', '/v1/acl/token/self', undefined, login.body.SecretID);
  assert.equal(gone.status, 403);
  assert.equal(gone.text, 'ACL not found');
  const again = await call('POST', '/v1/acl/logout', undefined, login.body.SecretID);
  assert.equal(again.status, 403);
  assert.equal(again.text, 'ACL not found');
});

test('selectors over list claims, role and policy bindings, and nothing bound means Permission denied', async () => {
  const policy = await call('PUT', '/v1/acl/policy', { Name: 'kv-reader', Rules: 'key_prefix "" { policy = "read" }' }, ROOT);
  assert.equal(policy.status, 200, policy.text);
  const role = await call('PUT', '/v1/acl/role', { Name: 'ops', Policies: [{ Name: 'kv-reader' }] }, ROOT);
  assert.equal(role.status, 200, role.text);
  for (const body of [
    { AuthMethod: 'test-jwt', BindType: 'role', BindName: 'ops', Selector: '"admins" in list.groups' },
    { AuthMethod: 'test-jwt', BindType: 'policy', BindName: 'kv-reader', Selector: '"readers" in list.groups' },
    { AuthMethod: 'test-jwt', BindType: 'node', BindName: 'node-${value.service}', Selector: 'value.team == "infra"' },
  ]) {
    const r = await call('PUT', '/v1/acl/binding-rule', body, ROOT);
    assert.equal(r.status, 200, r.text);
  }
  const admin = await call('POST', '/v1/acl/login', { AuthMethod: 'test-jwt', BearerToken: await jwt({ service_name: 'x', groups: ['admins', 'readers'] }, { aud: ['other', 'meshgate'] }) });
  assert.equal(admin.status, 200, admin.text);
  assert.deepEqual(admin.body.Roles, [{ ID: role.body.ID, Name: 'ops' }]);
  assert.deepEqual(admin.body.Policies, [{ ID: policy.body.ID, Name: 'kv-reader' }]);
  assert.equal(admin.body.ServiceIdentities, undefined);
  const node = await call('POST', '/v1/acl/login', { AuthMethod: 'test-jwt', BearerToken: await jwt({ service_name: 'db', team: { name: 'infra' } }, { aud: 'meshgate' }) });
  assert.deepEqual(node.body.NodeIdentities, [{ NodeName: 'node-db', Datacenter: 'dc1' }]);
  // A verified JWT that no rule binds gets no token.
  const nobody = await call('POST', '/v1/acl/login', { AuthMethod: 'test-jwt', BearerToken: await jwt({ service_name: 'x', groups: ['guests'] }, { aud: 'meshgate' }) });
  assert.equal(nobody.status, 403);
  assert.equal(nobody.text, 'Permission denied');
});

test('JWTs the method must refuse: other signer, wrong issuer, wrong or missing audience, expired, unknown method', async () => {
  const claims = { service_name: 'billing', team: { name: 'payments' } };
  const cases: Array<[string, string, RegExp]> = [
    ['other key', await jwt(claims, { key: otherKey, aud: 'meshgate' }), /^Permission denied: error verifying token: /],
    ['wrong issuer', await jwt(claims, { iss: 'https://evil.test', aud: 'meshgate' }), /invalid issuer claim \(iss\)/],
    ['wrong audience', await jwt(claims, { aud: 'someone-else' }), /aud claim does not match any bound audience/],
    ['expired', await jwt(claims, { aud: 'meshgate', expSeconds: -3600 }), /token is expired \(exp\)/],
    ['not a JWT', 'not-a-jwt', /^Permission denied: error verifying token: /],
  ];
  for (const [what, bearer, expected] of cases) {
    const r = await call('POST', '/v1/acl/login', { AuthMethod: 'test-jwt', BearerToken: bearer });
    assert.equal(r.status, 403, `${what}: ${r.text}`);
    assert.match(r.text, expected, what);
  }
  const unknown = await call('POST', '/v1/acl/login', { AuthMethod: 'nope', BearerToken: cases[0]![1] });
  assert.equal(unknown.status, 403);
  assert.equal(unknown.text, 'ACL not found');
  const withToken = await call('POST', '/v1/acl/login', { AuthMethod: 'test-jwt', BearerToken: cases[0]![1] }, ROOT);
  assert.equal(withToken.status, 400);
});

test('static public keys (ES256), and a method with no audience bound refuses tokens that carry one', async () => {
  const pem = await exportSPKI(esKeys.publicKey);
  const m = await call('PUT', '/v1/acl/auth-method/static-es', { Type: 'jwt', Config: { JWTValidationPubKeys: [pem], JWTSupportedAlgs: ['ES256'], ClaimMappings: { sub: 'sub' } } }, ROOT);
  assert.equal(m.status, 200, m.text);
  assert.equal((await call('PUT', '/v1/acl/binding-rule', { AuthMethod: 'static-es', BindType: 'service', BindName: 'svc-${value.sub}' }, ROOT)).status, 200);
  const ok = await call('POST', '/v1/acl/login', { AuthMethod: 'static-es', BearerToken: await jwt({ sub: 'api' }, { key: esKeys.privateKey, alg: 'ES256' }) });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body.ServiceIdentities, [{ ServiceName: 'svc-api' }]);
  const withAud = await call('POST', '/v1/acl/login', { AuthMethod: 'static-es', BearerToken: await jwt({ sub: 'api' }, { key: esKeys.privateKey, alg: 'ES256', aud: 'x' }) });
  assert.equal(withAud.status, 403);
  assert.match(withAud.text, /audience claim found in JWT but no audiences bound/);
  // RS256 is not in this method's JWTSupportedAlgs.
  const rs = await call('POST', '/v1/acl/login', { AuthMethod: 'static-es', BearerToken: await jwt({ sub: 'api' }) });
  assert.equal(rs.status, 403);
  // An uppercase claim value would be silently lowercased: Consul refuses the bind name instead.
  const upper = await call('POST', '/v1/acl/login', { AuthMethod: 'static-es', BearerToken: await jwt({ sub: 'API' }, { key: esKeys.privateKey, alg: 'ES256' }) });
  assert.equal(upper.status, 403);
  assert.match(upper.text, /uppercase characters/);
});

test('auth method and binding rule validation, CRUD, ACL checks, and deleting a method takes its rules and tokens', async () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ Name: 'x', Type: 'jwt', Config: {} }, /exactly one of 'JWTValidationPubKeys', 'JWKSURL', or 'OIDCDiscoveryURL' must be set/],
    [{ Name: 'x', Type: 'kerberos', Config: {} }, /Invalid Auth Method: Type should be one of: \[jwt kubernetes\]/],
    [{ Name: 'bad name!', Type: 'jwt' }, /invalid Name/],
    [{ Name: 'x', Type: 'jwt', Config: { JWKSURL: 'http://127.0.0.1:1/jwks' } }, /error checking JWKSURL/],
    [{ Name: 'x', Type: 'jwt', Config: { JWTValidationPubKeys: ['not a key'] } }, /error parsing public key/],
    [{ Name: 'x', Type: 'jwt', Config: { JWKSURL: jwksUrl, OIDCDiscoveryURL: 'https://x' } }, /'OIDCDiscoveryURL' is not supported by meshgate/],
    [{ Name: 'x', Type: 'jwt', Config: { JWKSURL: jwksUrl, Surprise: 1 } }, /invalid config key\(s\): Surprise/],
    [{ Name: 'x', Type: 'jwt', MaxTokenTTL: '1s', Config: { JWKSURL: jwksUrl } }, /MaxTokenTTL 1s cannot be less than 1m0s/],
  ];
  for (const [body, expected] of bad) {
    const r = await call('PUT', '/v1/acl/auth-method', body, ROOT);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.text, expected);
  }
  assert.equal((await call('GET', '/v1/acl/auth-method/x', undefined, ROOT)).status, 404, 'nothing was written');

  const badRules: Array<[unknown, RegExp]> = [
    [{ AuthMethod: 'missing', BindType: 'service', BindName: 'a' }, /cannot find auth method with name "missing"/],
    [{ AuthMethod: 'test-jwt', BindType: 'service', BindName: 'Upper' }, /Invalid Binding Rule: invalid BindName/],
    [{ AuthMethod: 'test-jwt', BindType: 'service', BindName: '${value.nope}' }, /unknown variable accessed: value.nope/],
    [{ AuthMethod: 'test-jwt', BindType: 'templated-policy', BindName: 'a' }, /unknown BindType/],
    [{ AuthMethod: 'test-jwt', BindType: 'service', BindName: 'a', Selector: 'value.team ==' }, /Selector is invalid/],
    [{ AuthMethod: 'test-jwt', BindType: 'service' }, /no BindName is set/],
  ];
  for (const [body, expected] of badRules) {
    const r = await call('PUT', '/v1/acl/binding-rule', body, ROOT);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.text, expected);
  }

  // Without acl:read / acl:write: the anonymous token under default deny.
  assert.equal((await call('GET', '/v1/acl/auth-methods')).status, 403);
  assert.equal((await call('PUT', '/v1/acl/auth-method', { ...METHOD, Name: 'anon' })).status, 403);

  const list = await call('GET', '/v1/acl/auth-methods', undefined, ROOT);
  const stub = list.body.find((m: { Name: string }) => m.Name === 'test-jwt');
  assert.equal(stub.Config, undefined, 'the list shows stubs without Config');
  const update = await call('PUT', '/v1/acl/auth-method/test-jwt', { Description: 'updated', Config: { ...METHOD.Config, JWKSURL: jwksUrl } }, ROOT);
  assert.equal(update.status, 200, update.text);
  assert.equal(update.body.Type, 'jwt');
  assert.equal(update.body.MaxTokenTTL, undefined, 'an update replaces the method: MaxTokenTTL not given is cleared');
  const typeChange = await call('PUT', '/v1/acl/auth-method/test-jwt', { Type: 'other', Config: {} }, ROOT);
  assert.equal(typeChange.status, 400);

  const rules = await call('GET', '/v1/acl/binding-rules?authmethod=test-jwt', undefined, ROOT);
  assert.ok(rules.body.length >= 4);
  const first = rules.body[0];
  const edited = await call('PUT', `/v1/acl/binding-rule/${first.ID}`, { ...first, Description: 'edited' }, ROOT);
  assert.equal(edited.status, 200, edited.text);
  assert.equal((await call('GET', `/v1/acl/binding-rule/${first.ID}`, undefined, ROOT)).body.Description, 'edited');

  const login = await call('POST', '/v1/acl/login', { AuthMethod: 'test-jwt', BearerToken: await jwt({ service_name: 'billing', team: { name: 'payments' } }, { aud: 'meshgate' }) });
  assert.equal(login.status, 200, login.text);
  assert.equal((await call('DELETE', '/v1/acl/auth-method/test-jwt', undefined, ROOT)).status, 200);
  assert.deepEqual((await call('GET', '/v1/acl/binding-rules?authmethod=test-jwt', undefined, ROOT)).body, []);
  assert.equal((await call('GET', '/v1/acl/token/self', undefined, login.body.SecretID)).status, 403, 'the method\'s tokens went with it');
  assert.equal((await call('GET', `/v1/acl/binding-rule/${first.ID}`, undefined, ROOT)).status, 404);
});

test('on etcd: a method made on one replica logs in on another, with the JWKS served over HTTPS and trusted through JWKSCACert', async (t) => {
  // One cleanup, in order: replicas before etcd (a replica closing against a stopped etcd would wait on it).
  const cleanups: Array<() => Promise<void> | void> = [];
  t.after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  const etcd = await startEtcd();
  cleanups.push(() => etcd.stop());
  const dir = tempDir('mg-acl-login-etcd-');
  cleanups.push(() => dir.remove());
  const pki = createTestPki(dir.path);
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'es-1', alg: 'ES256' };
  const tlsJwks = createHttpsServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => tlsJwks.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => tlsJwks.close(() => r())));
  const url = `https://127.0.0.1:${(tlsJwks.address() as AddressInfo).port}/jwks`;
  const store = { backend: 'etcd' as const, endpoints: [etcd.url], prefix: `/mg-login-${randomUUID()}` };
  const acl = { enabled: true, defaultPolicy: 'deny' as const, tokens: { initialManagement: ROOT } };
  const replicas: RunningServer[] = [];
  for (const name of ['a', 'b']) {
    replicas.push(await startServer({ dev: false, dataDir: `${dir.path}/${name}`, store, httpAddr: '127.0.0.1:0', nodeName: name, datacenter: 'dc1', acl }, silentLogger()));
  }
  cleanups.push(async () => {
    for (const r of replicas) await r.close();
  });
  const [a, b] = replicas as [RunningServer, RunningServer];
  const put = (base: string, path: string, body: unknown): Promise<Response> => fetch(`${base}${path}`, { method: 'PUT', headers: { 'X-Consul-Token': ROOT }, body: JSON.stringify(body) });
  // Without the CA the JWKS cannot be fetched, so the method is refused.
  const untrusted = await put(a.url, '/v1/acl/auth-method', { Name: 'tls', Type: 'jwt', Config: { JWKSURL: url, JWTSupportedAlgs: ['ES256'], ClaimMappings: { sub: 'sub' } } });
  assert.equal(untrusted.status, 400);
  assert.match(await untrusted.text(), /error checking JWKSURL/);
  const made = await put(a.url, '/v1/acl/auth-method', { Name: 'tls', Type: 'jwt', Config: { JWKSURL: url, JWKSCACert: readFileSync(pki.caFile, 'utf8'), JWTSupportedAlgs: ['ES256'], ClaimMappings: { sub: 'sub' } } });
  assert.equal(made.status, 200, await made.text());
  assert.equal((await put(a.url, '/v1/acl/binding-rule', { AuthMethod: 'tls', BindType: 'service', BindName: '${value.sub}' })).status, 200);
  const now = Math.floor(Date.now() / 1000);
  const bearer = await new SignJWT({ sub: 'orders' }).setProtectedHeader({ alg: 'ES256', kid: 'es-1' }).setIssuedAt(now).setExpirationTime(now + 120).sign(pair.privateKey);
  // Replica b sees the method through etcd once its watch has applied the writes.
  let login: Response | undefined;
  for (let i = 0; i < 200; i++) {
    login = await fetch(`${b.url}/v1/acl/login`, { method: 'POST', body: JSON.stringify({ AuthMethod: 'tls', BearerToken: bearer }) });
    if (login.status === 200) break;
    await login.arrayBuffer();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(login!.status, 200, await login!.clone().text());
  const token = (await login!.json()) as { SecretID: string; ServiceIdentities: unknown };
  assert.deepEqual(token.ServiceIdentities, [{ ServiceName: 'orders' }]);
  let self: Response | undefined;
  for (let i = 0; i < 200; i++) {
    self = await fetch(`${a.url}/v1/acl/token/self`, { headers: { 'X-Consul-Token': token.SecretID } });
    if (self.status === 200) break;
    await self.arrayBuffer();
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(self!.status, 200, 'the login token resolves on the other replica');
});
