/**
 * Go regexps through a real gateway, as Traefik runs them: `HostRegexp` (pkg/muxer/http/matcher.go, `MatchString`
 * of a `regexp.Compile`d pattern on the host) must not stall a worker on a catastrophic pattern, and the middleware
 * regexes use Go's syntax and `ReplaceAllString`/`Expand` templates — `replacePathRegex`
 * (pkg/middlewares/replacepathregex: `MatchString` on the path, then `ReplaceAllString`), `redirectRegex`
 * (pkg/middlewares/redirect/redirect_regex.go: the same on the full URL) — and refuse what Go's regexp refuses.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, get, startGateway, startUpstream, staticYaml, tempDir, type Upstream } from './helpers.ts';

let a: Upstream;
before(async () => {
  a = await startUpstream('A');
});
after(async () => {
  await a.close();
});

function dynamicYaml(upstream: string): string {
  return `http:
  routers:
    hostile:
      rule: "HostRegexp(\`(a+)+$\`)"
      service: a
    plain:
      rule: "Host(\`plain.test\`)"
      service: a
    rewrite:
      rule: "Host(\`rewrite.test\`)"
      middlewares: [exact, named, longest]
      service: a
    moved:
      rule: "Host(\`moved.test\`)"
      middlewares: [moved]
      service: a
    backref:
      rule: "Host(\`backref.test\`)"
      middlewares: [backref]
      service: a
  middlewares:
    exact:
      replacePathRegex:
        regex: '^/exact\\z'
        replacement: /replaced
    named:
      replacePathRegex:
        regex: '^/users/(?P<id>[0-9]+)/(?<tab>[a-z]+)$'
        replacement: '/u/\${tab}/\${id}/$$'
    longest:
      replacePathRegex:
        regex: '^/long/([a-z]+)$'
        replacement: '/l/$1x/\${1}x'
    moved:
      redirectRegex:
        regex: '^http://moved\\.test(:[0-9]+)?/old/(.*)'
        replacement: 'http://new.test/\${2}'
    backref:
      redirectRegex:
        regex: '(a)\\1'
        replacement: /x
  services:
    a:
      loadBalancer:
        servers:
          - url: "${upstream}"
`;
}

test('HostRegexp(`(a+)+$`) against a 30-character Host answers at once; other routes keep answering', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'dynamic.yml'), dynamicYaml(a.url));
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  try {
    await eventually(async () => assert.equal((await get(`${gw.web}/`, { host: 'plain.test' })).status, 200));
    const started = performance.now();
    const [hostile, plain] = await Promise.all([
      get(`${gw.web}/`, { host: `${'a'.repeat(30)}!` }).then((r) => ({ r, at: performance.now() - started })),
      get(`${gw.web}/`, { host: 'plain.test' }).then((r) => ({ r, at: performance.now() - started })),
    ]);
    assert.equal(hostile.r.status, 404);
    assert.equal(plain.r.status, 200);
    // Generous bounds that only prove nothing backtracked: the old backtracking RegExp took ~10 s on this Host.
    assert.ok(hostile.at < 2000, `hostile host answered after ${hostile.at} ms`);
    assert.ok(plain.at < 2000, `plain host answered after ${plain.at} ms`);
    assert.equal((await get(`${gw.web}/`, { host: 'aaaa' })).status, 200);

    // replacePathRegex: \z is the end of the path (not a literal z), named groups both ways, $$, longest names.
    const exact = await get(`${gw.web}/exact`, { host: 'rewrite.test' });
    assert.equal(exact.json().url, '/replaced');
    assert.equal(exact.json().headers['x-replaced-path'], '/exact');
    assert.equal((await get(`${gw.web}/exactz`, { host: 'rewrite.test' })).json().url, '/exactz');
    assert.equal((await get(`${gw.web}/users/42/posts`, { host: 'rewrite.test' })).json().url, '/u/posts/42/$');
    // Go's Expand reads `$1x` as the (absent) group "1x": empty; `${1}x` is group 1 then x.
    assert.equal((await get(`${gw.web}/long/abc`, { host: 'rewrite.test' })).json().url, '/l//abcx');

    // redirectRegex: ReplaceAllString over the full URL with ${2}.
    const moved = await get(`${gw.web}/old/a/b?q=1`, { host: 'moved.test' });
    assert.equal(moved.status, 302);
    assert.equal(moved.headers.location, 'http://new.test/a/b?q=1');

    // A backreference is not Go syntax: the middleware is in error with Go's text and its router is disabled.
    const mw = (await get(`${gw.admin}/api/http/middlewares/backref@file`)).json();
    assert.match(String(mw.error), /error parsing regexp: invalid escape sequence: `\\1`/);
    assert.equal((await get(`${gw.web}/aa`, { host: 'backref.test' })).status, 404);
  } finally {
    await gw.close();
  }
});
