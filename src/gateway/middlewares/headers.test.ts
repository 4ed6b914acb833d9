import { test } from 'node:test';
import assert from 'node:assert/strict';
import './index.ts';
import { serveKind, serveHandler, build } from './testing.ts';
import type { Handler } from '../http/types.ts';

const upstream: Handler = async (req, rw) => {
  rw.writeHead(200, { 'content-type': 'text/plain', 'x-powered-by': 'php', 'x-echo-req': String(req.headers['x-script-name'] ?? '') });
  rw.end('ok');
};

test('custom request and response headers; empty value removes', async () => {
  const s = await serveKind(
    'headers',
    { customRequestHeaders: { 'X-Script-Name': 'test', 'X-Custom-Request-Header': '' }, customResponseHeaders: { 'X-Custom-Response-Header': 'value', 'X-Powered-By': '' } },
    { terminal: upstream },
  );
  try {
    const res = await fetch(s.url, { headers: { 'x-custom-request-header': 'drop-me' } });
    assert.equal(res.headers.get('x-echo-req'), 'test');
    assert.equal(res.headers.get('x-custom-response-header'), 'value');
    assert.equal(res.headers.get('x-powered-by'), null);
  } finally {
    await s.close();
  }
  const e = await serveKind('headers', { customRequestHeaders: { 'X-Custom-Request-Header': '' } });
  try {
    const body = (await (await fetch(e.url, { headers: { 'x-custom-request-header': 'drop-me' } })).json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-custom-request-header'], undefined);
  } finally {
    await e.close();
  }
});

test('CORS preflight is answered without reaching the service; simple requests get allow-origin', async () => {
  let reached = 0;
  const handler: Handler = async (_req, rw) => {
    reached++;
    rw.writeHead(200, { vary: 'Accept-Encoding' });
    rw.end('hi');
  };
  const cfg = {
    accessControlAllowMethods: ['GET', 'OPTIONS', 'PUT'],
    accessControlAllowHeaders: ['*'],
    accessControlAllowOriginList: ['https://foo.bar.org', 'https://example.org'],
    accessControlAllowOriginListRegex: ['^https://([a-z]+)\\.example\\.com$'],
    accessControlMaxAge: 100,
    addVaryHeader: true,
  };
  const s = await serveHandler(build('headers', cfg)(handler));
  try {
    const pre = await fetch(s.url, { method: 'OPTIONS', headers: { origin: 'https://example.org', 'access-control-request-method': 'PUT' } });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-methods'), 'GET,OPTIONS,PUT');
    assert.equal(pre.headers.get('access-control-allow-headers'), '*');
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://example.org');
    assert.equal(pre.headers.get('access-control-max-age'), '100');
    assert.equal(reached, 0);
    const simple = await fetch(s.url, { headers: { origin: 'https://api.example.com' } });
    assert.equal(simple.headers.get('access-control-allow-origin'), 'https://api.example.com');
    assert.equal(simple.headers.get('vary'), 'Accept-Encoding,Origin');
    const denied = await fetch(s.url, { headers: { origin: 'https://evil.org' } });
    assert.equal(denied.headers.get('access-control-allow-origin'), null);
    assert.equal(reached, 2);
  } finally {
    await s.close();
  }
});

test('security headers; STS only over TLS unless forced', async () => {
  const base = { frameDeny: true, contentTypeNosniff: true, browserXssFilter: true, contentSecurityPolicy: "default-src 'self'", referrerPolicy: 'no-referrer', permissionsPolicy: 'camera=()', stsSeconds: 31536000, stsIncludeSubdomains: true, stsPreload: true };
  const s = await serveKind('headers', base, { terminal: upstream });
  try {
    const res = await fetch(s.url);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-xss-protection'), '1; mode=block');
    assert.equal(res.headers.get('content-security-policy'), "default-src 'self'");
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(res.headers.get('permissions-policy'), 'camera=()');
    assert.equal(res.headers.get('strict-transport-security'), null);
  } finally {
    await s.close();
  }
  const f = await serveKind('headers', { ...base, forceSTSHeader: true, customFrameOptionsValue: 'SAMEORIGIN' }, { terminal: upstream });
  try {
    const res = await fetch(f.url);
    assert.equal(res.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains; preload');
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
  } finally {
    await f.close();
  }
});

test('allowedHosts rejects other hosts unless isDevelopment', async () => {
  const s = await serveKind('headers', { allowedHosts: ['example.com'] });
  try {
    assert.equal((await fetch(s.url)).status, 500);
  } finally {
    await s.close();
  }
  const d = await serveKind('headers', { allowedHosts: ['example.com'], isDevelopment: true });
  try {
    assert.equal((await fetch(d.url)).status, 200);
  } finally {
    await d.close();
  }
});

test('headers schema names unknown keys', () => {
  assert.throws(() => build('headers', { sslRedirect: true }), /sslRedirect/);
});
