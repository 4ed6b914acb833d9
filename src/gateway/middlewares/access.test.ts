import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import './index.ts';
import { build, serveHandler, serveKind, testContext } from './testing.ts';
import type { Handler } from '../http/types.ts';
import { MemoryRateLimitStore } from './rateLimitStore.ts';

const basic = (user: string, pw: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}` });

test('rateLimit: burst passes, then 429 with Retry-After; sources are separate', async () => {
  const s = await serveKind('rateLimit', { average: 1, period: '1m', burst: 2, sourceCriterion: { requestHeaderName: 'X-User' } });
  try {
    const a = () => fetch(s.url, { headers: { 'x-user': 'alice' } });
    assert.equal((await a()).status, 200);
    assert.equal((await a()).status, 200);
    const limited = await a();
    assert.equal(limited.status, 429);
    assert.equal(await limited.text(), 'Too Many Requests');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(s.url, { headers: { 'x-user': 'bob' } })).status, 200);
  } finally {
    await s.close();
  }
});

test('rateLimit: buckets survive a rebuild through the shared state; average 0 is no limit', async () => {
  const state = new Map<string, unknown>();
  const cfg = { average: 1, period: '1h', burst: 1 };
  const first = await serveKind('rateLimit', cfg, { context: testContext({ state }) });
  try {
    assert.equal((await fetch(first.url)).status, 200);
  } finally {
    await first.close();
  }
  const second = await serveKind('rateLimit', cfg, { context: testContext({ state }) });
  try {
    assert.equal((await fetch(second.url)).status, 429);
  } finally {
    await second.close();
  }
  const open = await serveKind('rateLimit', { average: 0 });
  try {
    for (let i = 0; i < 5; i++) assert.equal((await fetch(open.url)).status, 200);
  } finally {
    await open.close();
  }
});

test('MemoryRateLimitStore refills at the configured rate and drops full buckets', () => {
  let now = 0;
  const store = new MemoryRateLimitStore(() => now);
  const limits = { ratePerMs: 1 / 100, burst: 2, maxDelayMs: 0 };
  assert.equal(store.reserve('k', limits), 0);
  assert.equal(store.reserve('k', limits), 0);
  assert.equal(store.reserve('k', limits), 100);
  now = 100;
  assert.equal(store.reserve('k', limits), 0);
  now = 1_000_000;
  store.reserve('other', limits);
  assert.equal(store.size, 1);
});

test('rateLimit schema names unknown keys in sourceCriterion', () => {
  assert.throws(() => build('rateLimit', { average: 1, sourceCriterion: { ipstrategy: {} } }), /ipstrategy/);
});

test('inFlightReq: the request over the amount gets 429 while others are in progress', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: Handler = async (_req, rw) => {
    await gate;
    rw.end('done');
  };
  const s = await serveHandler(build('inFlightReq', { amount: 1 })(slow));
  try {
    const first = fetch(s.url);
    // wait until the first one is in flight
    let second: Response | undefined;
    for (let i = 0; i < 100; i++) {
      second = await fetch(s.url);
      if (second.status === 429) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(second?.status, 429);
    release();
    assert.equal((await first).status, 200);
    assert.equal((await fetch(s.url)).status, 200);
  } finally {
    await s.close();
  }
});

test('ipAllowList: ranges, ipStrategy depth and rejectStatusCode', async () => {
  const ok = await serveKind('ipAllowList', { sourceRange: ['127.0.0.1/32', '192.168.1.7'] });
  try {
    assert.equal((await fetch(ok.url)).status, 200);
  } finally {
    await ok.close();
  }
  const no = await serveKind('ipAllowList', { sourceRange: ['192.168.1.7'] });
  try {
    const res = await fetch(no.url);
    assert.equal(res.status, 403);
    assert.equal(await res.text(), 'Forbidden');
  } finally {
    await no.close();
  }
  const depth = await serveKind('ipAllowList', { sourceRange: ['10.0.0.0/8'], ipStrategy: { depth: 2 }, rejectStatusCode: 404 });
  try {
    assert.equal((await fetch(depth.url, { headers: { 'x-forwarded-for': '1.1.1.1, 10.1.2.3, 127.0.0.1' } })).status, 200);
    assert.equal((await fetch(depth.url, { headers: { 'x-forwarded-for': '10.1.2.3, 1.1.1.1, 127.0.0.1' } })).status, 404);
    assert.equal((await fetch(depth.url)).status, 404);
  } finally {
    await depth.close();
  }
  const excluded = await serveKind('ipAllowList', { sourceRange: ['10.0.0.0/8'], ipStrategy: { excludedIPs: ['127.0.0.1', '172.16.0.0/12'] } });
  try {
    assert.equal((await fetch(excluded.url, { headers: { 'x-forwarded-for': '10.9.9.9, 172.16.3.4, 127.0.0.1' } })).status, 200);
  } finally {
    await excluded.close();
  }
  assert.throws(() => build('ipAllowList', { sourceRange: [] }), /sourceRange is empty/);
  assert.throws(() => build('ipAllowList', { sourceRange: ['nope'] }), /nope/);
  assert.equal(typeof build('ipWhiteList', { sourceRange: ['127.0.0.1'] }), 'function');
});

test('basicAuth: apr1, SHA and bcrypt users; challenge; headerField and removeHeader', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'basicauth-'));
  const file = join(dir, 'users');
  const bcryptHash = bcrypt.hashSync('secret', 4).replace(/^\$2[ab]\$/, '$2y$');
  writeFileSync(file, `# comment\n\ncarol:${bcryptHash}\n`);
  const s = await serveKind('basicAuth', {
    users: ['test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/', 'test2:$apr1$d9hr9HBB$4HxwgUir3HP4EsggP/QNo0', 'sha:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M='],
    usersFile: file,
    realm: 'MyRealm',
    headerField: 'X-WebAuth-User',
    removeHeader: true,
  });
  try {
    const none = await fetch(s.url);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Basic realm="MyRealm"');
    assert.equal(await none.text(), '401 Unauthorized\n');
    assert.equal((await fetch(s.url, { headers: basic('test', 'wrong') })).status, 401);
    assert.equal((await fetch(s.url, { headers: basic('nobody', 'test') })).status, 401);
    for (const [user, pw] of [['test', 'test'], ['test2', 'test2'], ['sha', 'test'], ['carol', 'secret'], ['carol', 'secret']] as const) {
      const res = await fetch(s.url, { headers: basic(user, pw) });
      assert.equal(res.status, 200, `${user} should pass`);
      const body = (await res.json()) as { headers: Record<string, string>; data: Record<string, string> };
      assert.equal(body.headers['x-webauth-user'], user);
      assert.equal(body.headers.authorization, undefined);
      assert.equal(body.data.ClientUsername, user);
    }
    assert.equal((await fetch(s.url, { headers: basic('carol', 'not-secret') })).status, 401);
  } finally {
    await s.close();
  }
  assert.throws(() => build('basicAuth', { users: ['plain:password'] }), /unsupported password hash/);
  assert.throws(() => build('basicAuth', { users: ['a:{SHA}x'], user: [] }), /user/);
});

test('digestAuth: challenge, correct response, replay of a nonce count refused', async () => {
  const { createHash } = await import('node:crypto');
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');
  const ha1 = md5('test:traefik:test');
  const s = await serveKind('digestAuth', { users: [`test:traefik:${ha1}`], headerField: 'X-User', removeHeader: true });
  try {
    const first = await fetch(`${s.url}/secret`);
    assert.equal(first.status, 401);
    const challenge = first.headers.get('www-authenticate')!;
    assert.match(challenge, /^Digest realm="traefik", nonce="[0-9a-f]+", opaque="[0-9a-f]+", algorithm="MD5", qop="auth"$/);
    const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
    const opaque = /opaque="([^"]+)"/.exec(challenge)![1]!;
    const auth = (nc: string, password = 'test') => {
      const h1 = md5(`test:traefik:${password}`);
      const response = md5(`${h1}:${nonce}:${nc}:abc:auth:${md5('GET:/secret')}`);
      return `Digest username="test", realm="traefik", nonce="${nonce}", uri="/secret", qop=auth, nc=${nc}, cnonce="abc", response="${response}", opaque="${opaque}"`;
    };
    const ok = await fetch(`${s.url}/secret`, { headers: { authorization: auth('00000001') } });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { headers: Record<string, string> };
    assert.equal(body.headers['x-user'], 'test');
    assert.equal(body.headers.authorization, undefined);
    assert.equal((await fetch(`${s.url}/secret`, { headers: { authorization: auth('00000001') } })).status, 401, 'replayed nonce count');
    assert.equal((await fetch(`${s.url}/secret`, { headers: { authorization: auth('00000002') } })).status, 200);
    assert.equal((await fetch(`${s.url}/secret`, { headers: { authorization: auth('00000003', 'wrong') } })).status, 401);
  } finally {
    await s.close();
  }
  assert.throws(() => build('digestAuth', { users: ['test:traefik:nothex'] }), /user:realm:md5hex/);
});

test('inFlightReq groups by request host by default; grpcWeb builds and names a wrong key', () => {
  assert.equal(typeof build('inFlightReq', { amount: 2 }), 'function');
  assert.throws(() => build('inFlightReq', { amount: 1, sourceCriterion: { requestHost: true, requestHeaderName: 'X' } }), /mutually exclusive/);
  assert.equal(typeof build('grpcWeb', { allowOrigins: ['*'] }), 'function');
  assert.throws(() => build('grpcWeb', { allowOrigin: ['*'] }), /allowOrigin/);
});
