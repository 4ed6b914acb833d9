import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, StaticSite } from './static-files.ts';

function site(mount = '/ui/'): { site: StaticSite; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mg-static-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><title>x</title></head><body></body></html>');
  writeFileSync(join(dir, 'assets', 'index-abc.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
  writeFileSync(join(dir, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
  return { site: new StaticSite({ dir, mount }), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('index.html carries a <base href> for the mount; client routes fall back to it; hashed assets are immutable', (t) => {
  const s = site('/prefix/dashboard/');
  t.after(s.done);
  const index = s.site.resolve({ method: 'GET', path: '/prefix/dashboard/' })!;
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.match(index.body.toString(), /<head>\s*<base href="\/prefix\/dashboard\/">/);
  assert.ok(index.headers['content-security-policy']?.includes("frame-ancestors 'none'"));
  const deep = s.site.resolve({ method: 'GET', path: '/prefix/dashboard/services/web%2Fapi' })!;
  assert.equal(deep.status, 200);
  assert.deepEqual(deep.body, index.body, 'any client route answers index.html');
  const js = s.site.resolve({ method: 'GET', path: '/prefix/dashboard/assets/index-abc.js' })!;
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.headers['content-length'], String(js.body.length));
  assert.equal(s.site.resolve({ method: 'GET', path: '/prefix/dashboard/favicon.ico' })!.headers['content-type'], 'image/x-icon');
  // A missing asset is a 404, not index.html (a stale page asking for an old hash must fail loudly).
  assert.equal(s.site.resolve({ method: 'GET', path: '/prefix/dashboard/assets/index-old.js' })!.status, 404);
  assert.equal(s.site.resolve({ method: 'GET', path: '/other' }), undefined);
  const bare = s.site.resolve({ method: 'GET', path: '/prefix/dashboard' })!;
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.location, '/prefix/dashboard/');
});

test('gzip when accepted, ETag revalidation, HEAD without a body, writes refused, traversal refused', (t) => {
  const s = site();
  t.after(s.done);
  const plain = s.site.resolve({ method: 'GET', path: '/ui/assets/index-abc.js' })!;
  const gz = s.site.resolve({ method: 'GET', path: '/ui/assets/index-abc.js', acceptEncoding: 'br, gzip;q=0.8' })!;
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gz.body.length < plain.body.length);
  assert.deepEqual(gunzipSync(gz.body), plain.body);
  assert.equal(s.site.resolve({ method: 'GET', path: '/ui/assets/index-abc.js', acceptEncoding: 'gzip;q=0' })!.headers['content-encoding'], undefined);
  const again = s.site.resolve({ method: 'GET', path: '/ui/assets/index-abc.js', ifNoneMatch: plain.headers.etag })!;
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  const head = s.site.resolve({ method: 'HEAD', path: '/ui/' })!;
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.ok(Number(head.headers['content-length']) > 0);
  assert.equal(s.site.resolve({ method: 'POST', path: '/ui/' })!.status, 405);
  assert.equal(s.site.resolve({ method: 'GET', path: '/ui/assets/..%2F..%2Fetc%2Fpasswd' })!.status, 400);
  assert.equal(s.site.resolve({ method: 'GET', path: '/ui/%E0%A4%A' })!.status, 400);
  assert.equal(Object.getPrototypeOf(plain.headers), null, 'header maps are prototype-free');
});

test('without a build every UI path says how to build it', () => {
  const empty = new StaticSite({ dir: join(tmpdir(), 'mg-static-missing-dir'), mount: '/ui/' });
  assert.equal(empty.built, false);
  const answer = empty.resolve({ method: 'GET', path: '/ui/' })!;
  assert.equal(answer.status, 404);
  assert.match(answer.body.toString(), /npm run build:ui/);
});

test('acceptsGzip reads Accept-Encoding with q-values', () => {
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(acceptsGzip('gzip, deflate'), true);
  assert.equal(acceptsGzip('identity'), false);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip('gzip;q=0, br'), false);
});
