import { test } from 'node:test';
import assert from 'node:assert/strict';
import './index.ts';
import { serveKind, serveHandler, build, echoHandler } from './testing.ts';
import type { Handler } from '../http/types.ts';

async function echo(kind: string, config: unknown, path: string, init?: RequestInit) {
  const s = await serveKind(kind, config);
  try {
    const res = await fetch(s.url + path, init);
    return { status: res.status, json: (await res.json()) as { url: string; headers: Record<string, string> } };
  } finally {
    await s.close();
  }
}

test('stripPrefix removes the first matching prefix and sets X-Forwarded-Prefix', async () => {
  const r = await echo('stripPrefix', { prefixes: ['/foobar', '/fiibar'] }, '/foobar/baz?x=1');
  assert.equal(r.json.url, '/baz?x=1');
  assert.equal(r.json.headers['x-forwarded-prefix'], '/foobar');
  const root = await echo('stripPrefix', { prefixes: ['/foobar'] }, '/foobar');
  assert.equal(root.json.url, '/');
  const none = await echo('stripPrefix', { prefixes: ['/foobar'] }, '/other');
  assert.equal(none.json.url, '/other');
  assert.equal(none.json.headers['x-forwarded-prefix'], undefined);
});

test('stripPrefix rejects unknown keys by name', () => {
  assert.throws(() => build('stripPrefix', { prefixes: ['/a'], prefix: '/b' }), /prefix/);
});

test('stripPrefixRegex strips what the regex matched at the start', async () => {
  const r = await echo('stripPrefixRegex', { regex: ['/foo/[a-z0-9]+/[0-9]+/'] }, '/foo/abc/123/bar');
  assert.equal(r.json.url, '/bar');
  assert.equal(r.json.headers['x-forwarded-prefix'], '/foo/abc/123/');
  const notAtStart = await echo('stripPrefixRegex', { regex: ['/foo/'] }, '/x/foo/bar');
  assert.equal(notAtStart.json.url, '/x/foo/bar');
});

test('addPrefix prepends the prefix', async () => {
  const r = await echo('addPrefix', { prefix: '/foo' }, '/bar?q=2');
  assert.equal(r.json.url, '/foo/bar?q=2');
  assert.throws(() => build('addPrefix', { prefix: '' }), /prefix cannot be empty/);
});

test('replacePath replaces the path and keeps the original in X-Replaced-Path', async () => {
  const r = await echo('replacePath', { path: '/foo' }, '/bar/baz?a=b');
  assert.equal(r.json.url, '/foo?a=b');
  assert.equal(r.json.headers['x-replaced-path'], '/bar/baz');
});

test('replacePathRegex rewrites with Go template groups', async () => {
  const r = await echo('replacePathRegex', { regex: '^/foo/(.*)', replacement: '/bar/$1' }, '/foo/abc/def');
  assert.equal(r.json.url, '/bar/abc/def');
  assert.equal(r.json.headers['x-replaced-path'], '/foo/abc/def');
  const named = await echo('replacePathRegex', { regex: '^/(?P<a>\\w+)/(?P<b>\\w+)', replacement: '/${b}/${a}' }, '/one/two');
  assert.equal(named.json.url, '/two/one');
  const miss = await echo('replacePathRegex', { regex: '^/foo/(.*)', replacement: '/bar/$1' }, '/nope');
  assert.equal(miss.json.url, '/nope');
  assert.equal(miss.json.headers['x-replaced-path'], undefined);
});

test('redirectScheme sends http clients to https and leaves https (X-Forwarded-Proto) alone', async () => {
  const s = await serveKind('redirectScheme', { scheme: 'https', permanent: true });
  try {
    const res = await fetch(`${s.url}/a/b?c=d`, { redirect: 'manual' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.get('location'), 'https://127.0.0.1/a/b?c=d');
    const post = await fetch(`${s.url}/a`, { method: 'POST', redirect: 'manual' });
    assert.equal(post.status, 308);
  } finally {
    await s.close();
  }
  // Already on https (said by X-Forwarded-Proto) at the target port: nothing to do.
  let handler: Handler = echoHandler;
  const same = await serveHandler((req, rw) => handler(req, rw));
  try {
    handler = build('redirectScheme', { scheme: 'https', port: String(same.port) })(echoHandler);
    const res = await fetch(`${same.url}/a`, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(res.status, 200);
    const plain = await fetch(`${same.url}/a`, { redirect: 'manual' });
    assert.equal(plain.status, 302);
    assert.equal(plain.headers.get('location'), `https://127.0.0.1:${same.port}/a`);
  } finally {
    await same.close();
  }
  const p = await serveKind('redirectScheme', { scheme: 'https', port: '8443' });
  try {
    const res = await fetch(`${p.url}/x`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'https://127.0.0.1:8443/x');
  } finally {
    await p.close();
  }
});

test('redirectRegex rewrites the full URL with $1', async () => {
  const s = await serveKind('redirectRegex', { regex: '^http://127.0.0.1:(\\d+)/(.*)', replacement: 'http://mydomain/${2}' });
  try {
    const res = await fetch(`${s.url}/some/path?x=1`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), 'http://mydomain/some/path?x=1');
    assert.equal(await res.text(), 'Found');
  } finally {
    await s.close();
  }
  const miss = await serveKind('redirectRegex', { regex: '^http://localhost/(.*)', replacement: 'http://mydomain/${1}' });
  try {
    const res = await fetch(`${miss.url}/p`, { redirect: 'manual' });
    assert.equal(res.status, 200);
  } finally {
    await miss.close();
  }
});
