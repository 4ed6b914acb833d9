import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import './index.ts';
import { build, serveKind } from './testing.ts';

async function authServer(handler: (headers: IncomingHttpHeaders, method: string) => { status: number; headers?: Record<string, string | string[]>; body?: string }) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const out = handler(req.headers, req.method ?? '');
    res.writeHead(out.status, out.headers);
    res.end(out.body ?? '');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

type Echo = { headers: Record<string, string> };

test('forwardAuth: 2xx passes with auth response headers; non-2xx is returned as is', async () => {
  type Out = { status: number; headers?: Record<string, string | string[]>; body?: string };
  const auth = await authServer((h): Out =>
    h.authorization === 'Bearer good'
      ? { status: 200, headers: { 'x-auth-user': 'alice', 'x-auth-role-admin': 'yes', 'set-cookie': ['session=abc; Path=/', 'tracking=1'] } }
      : { status: 401, headers: { 'www-authenticate': 'Bearer', 'content-type': 'text/plain', location: '/login' }, body: 'denied by auth' },
  );
  const s = await serveKind('forwardAuth', {
    address: `${auth.url}/auth`,
    authResponseHeaders: ['X-Auth-User'],
    authResponseHeadersRegex: '^X-Auth-Role-',
    authRequestHeaders: ['Authorization', 'Accept'],
    addAuthCookiesToResponse: ['session'],
  });
  try {
    const denied = await fetch(`${s.url}/private?x=1`, { method: 'POST', headers: { authorization: 'Bearer bad', cookie: 'c=1' }, redirect: 'manual' });
    assert.equal(denied.status, 401);
    assert.equal(await denied.text(), 'denied by auth');
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer');
    assert.equal(denied.headers.get('location'), `${auth.url}/login`);
    const sent = auth.seen[0]!;
    assert.equal(sent['x-forwarded-method'], 'POST');
    assert.equal(sent['x-forwarded-proto'], 'http');
    assert.equal(sent['x-forwarded-uri'], '/private?x=1');
    assert.equal(sent['x-forwarded-for'], '127.0.0.1');
    assert.match(String(sent['x-forwarded-host']), /^127\.0\.0\.1:\d+$/);
    assert.equal(sent.cookie, undefined, 'only authRequestHeaders are sent');

    const ok = await fetch(`${s.url}/private`, { headers: { authorization: 'Bearer good', 'x-auth-user': 'mallory', 'x-auth-role-x': 'spoof' } });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as Echo;
    assert.equal(body.headers['x-auth-user'], 'alice');
    assert.equal(body.headers['x-auth-role-admin'], 'yes');
    assert.equal(body.headers['x-auth-role-x'], undefined);
    assert.deepEqual(ok.headers.getSetCookie(), ['session=abc; Path=/']);
  } finally {
    await s.close();
    await auth.close();
  }
});

test('forwardAuth: trustForwardHeader keeps incoming X-Forwarded-*; unreachable auth server is a 500', async () => {
  const auth = await authServer(() => ({ status: 204 }));
  const s = await serveKind('forwardAuth', { address: auth.url, trustForwardHeader: true });
  try {
    const res = await fetch(s.url, { headers: { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'example.com' } });
    assert.equal(res.status, 200);
    assert.equal(auth.seen[0]!['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
    assert.equal(auth.seen[0]!['x-forwarded-proto'], 'https');
    assert.equal(auth.seen[0]!['x-forwarded-host'], 'example.com');
  } finally {
    await s.close();
    await auth.close();
  }
  const dead = await serveKind('forwardAuth', { address: auth.url });
  try {
    assert.equal((await fetch(dead.url)).status, 500);
  } finally {
    await dead.close();
  }
  assert.throws(() => build('forwardAuth', { address: 'http://x', trustForwardHeaders: true }), /trustForwardHeaders/);
});

test('jwt: static keys, issuer/audience, forwarded claims, 401 challenges', async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const pem = await exportSPKI(publicKey);
  const sign = (claims: Record<string, unknown>, key = privateKey, exp = '5m') =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://issuer').setAudience('api').setSubject('alice').setIssuedAt().setExpirationTime(exp).sign(key);
  const s = await serveKind('jwt', { keys: [pem], issuer: 'https://issuer', audience: 'api', algorithms: ['RS256'], forwardClaims: { sub: 'X-User', groups: 'X-Groups' } });
  try {
    const none = await fetch(s.url);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    const good = await fetch(s.url, { headers: { authorization: `Bearer ${await sign({ groups: ['a', 'b'] })}`, 'x-groups': 'spoofed' } });
    assert.equal(good.status, 200);
    const body = (await good.json()) as Echo;
    assert.equal(body.headers['x-user'], 'alice');
    assert.equal(body.headers['x-groups'], '["a","b"]');
    const wrongKey = await fetch(s.url, { headers: { authorization: `Bearer ${await sign({}, other.privateKey)}` } });
    assert.equal(wrongKey.status, 401);
    assert.equal(wrongKey.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    const expired = await fetch(s.url, { headers: { authorization: `Bearer ${await sign({}, privateKey, '-1m')}` } });
    assert.equal(expired.status, 401);
    const badAud = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setIssuer('https://issuer').setAudience('other').setExpirationTime('5m').sign(privateKey);
    assert.equal((await fetch(s.url, { headers: { authorization: `Bearer ${badAud}` } })).status, 401);
  } finally {
    await s.close();
  }
});

test('jwt: JWKS URL with kid, custom header without scheme', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  const s = await serveKind('jwt', { jwksUrl: url, headerName: 'X-Token', scheme: '' });
  try {
    const token = await new SignJWT({ scope: 'read' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setExpirationTime('5m').sign(privateKey);
    assert.equal((await fetch(s.url, { headers: { 'x-token': token } })).status, 200);
    assert.equal((await fetch(s.url, { headers: { 'x-token': `${token}x` } })).status, 401);
  } finally {
    await s.close();
    jwks.closeAllConnections();
    jwks.close();
  }
  assert.throws(() => build('jwt', {}), /exactly one of jwksUrl or keys/);
});
