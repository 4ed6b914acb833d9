/**
 * Entry point `http.encodedCharacters` as Traefik v3.6.7+ has it (docs/content/migrate/v3.md "v3.6.7" and "v3.6.4",
 * pkg/server/router/deny.go): every allowEncoded* option is true unless set, an option set to false makes a request
 * whose path holds that character percent-encoded answer a bare 400 before routing (an unrouted path too), on that
 * entry point only; the query is not checked. Before this the option was refused as "not supported by meshgate".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { get, startGateway, startUpstream, tempDir } from './helpers.ts';

test('static: entryPoints.<name>.http.encodedCharacters loads; an unknown option in it names its path', () => {
  validateStaticConfig({ entryPoints: { web: { address: ':80', http: { encodedCharacters: { allowEncodedSlash: false, allowEncodedHash: true } } } } }, 'inline');
  assert.throws(
    () => validateStaticConfig({ entryPoints: { web: { address: ':80', http: { encodedCharacters: { allowEncodedSlashes: false } } } } }, 'inline'),
    /entryPoints\.web\.http\.encodedCharacters/,
  );
});

test('an entry point with allowEncodedSlash and allowEncodedHash false refuses those encodings before routing; the others and other entry points pass', async (t) => {
  const upstream = await startUpstream('app');
  t.after(() => upstream.close());
  const dir = await tempDir('mg-ep-encoded-');
  await writeFile(join(dir, 'dynamic.yml'), `http:
  routers:
    app:
      rule: "PathPrefix(\`/a\`)"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
`);
  await writeFile(join(dir, 'gateway.yml'), `entryPoints:
  web:
    address: "127.0.0.1:0"
    http:
      encodedCharacters:
        allowEncodedSlash: false
        allowEncodedHash: false
  open:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
providers:
  file:
    filename: dynamic.yml
`);
  const gw = await startGateway(join(dir, 'gateway.yml'));
  t.after(() => gw.close());
  const open = `http://127.0.0.1:${gw.addresses().open!.port}`;
  assert.equal((await get(`${gw.web}/a/b`)).status, 200);
  for (const refused of ['/a%2Fb', '/a%2fb', '/a%23b', '/unrouted%2F']) {
    const res = await get(`${gw.web}${refused}`);
    assert.equal(res.status, 400, refused);
    assert.equal(res.text, '', refused);
  }
  // Options left out stay allowed (Traefik's default since v3.6.7); the query is not the path.
  for (const allowed of ['/a%3Bb', '/a%25b', '/a%5Cb', '/a%3Fb', '/a/b?x=%2F%23']) assert.equal((await get(`${gw.web}${allowed}`)).status, 200, allowed);
  // The other entry point has no such option: everything passes.
  assert.equal((await get(`${open}/a%2Fb`)).status, 200);
  assert.equal((await get(`${open}/a%23b`)).status, 200);
});
