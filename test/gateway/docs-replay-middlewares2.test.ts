/**
 * The stripPrefixRegex and encodedCharacters pages of Traefik v3.7 (routing-configuration/http/middlewares/, commits in
 * fixtures/traefik-docs/manifest.json; the load check is docs-replay.test.ts's, the page list and what is out of
 * scope in docs-replay-l4-gaps.ts) on a running gateway. Each snippet sits unchanged in a file provider directory
 * beside a file with a router through the page's middleware to an upstream that echoes what it received.
 * What the pages say, and where Traefik does it:
 * - stripPrefixRegex "strips the matching path prefix and stores it in an X-Forwarded-Prefix header"
 *   (pkg/middlewares/stripprefixregex);
 * - encodedCharacters: "by default, potentially dangerous encoded characters are rejected"; the snippet allows the
 *   encoded slash only; the check reads the escaped path, not the query, and refuses with a bare 400
 *   (pkg/middlewares/encodedcharacters encoded_characters.go ServeHTTP, mapDeniedCharacters).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { get, startUpstream, withDirectoryGateway, type Upstream } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('app');
});
after(async () => {
  await upstream?.close();
});

/** A gateway whose file provider directory holds the snippet unchanged and a router through `middleware`. */
function behind(file: string, middleware: string, check: (web: string) => Promise<void>): Promise<void> {
  const replay = `http:
  routers:
    replay:
      rule: "PathPrefix(\`/\`)"
      middlewares: [${middleware}]
      service: replay
  services:
    replay:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
`;
  return withDirectoryGateway({ [file]: readFileSync(join(fixtures, file), 'utf8'), 'replay.yml': replay }, { web: '' }, (gw) => check(gw.web));
}

for (const file of ['stripprefixregex.01.yaml', 'stripprefixregex.02.toml']) {
  test(`docs replay behaviour: ${file} — stripPrefixRegex "strips the matching path prefix and stores it in an X-Forwarded-Prefix header"`, async () => {
    await behind(file, 'test-stripprefixregex', async (web) => {
      const stripped = (await get(`${web}/foo/abc/123/bar?q=1`)).json();
      assert.equal(stripped.url, '/bar?q=1');
      assert.equal(stripped.headers['x-forwarded-prefix'], '/foo/abc/123/');
      // /foo/abc/xyz/ does not match [0-9]+: nothing is stripped and no prefix header is added.
      const kept = (await get(`${web}/foo/abc/xyz/bar`)).json();
      assert.equal(kept.url, '/foo/abc/xyz/bar');
      assert.equal(kept.headers['x-forwarded-prefix'], undefined);
    });
  });
}

for (const file of ['encodedcharacters.01.yaml', 'encodedcharacters.02.toml']) {
  test(`docs replay behaviour: ${file} — encodedCharacters allows the encoded slash and rejects the other encoded characters with 400`, async () => {
    await behind(file, 'test-encodedchars', async (web) => {
      const slash = await get(`${web}/a%2Fb`);
      assert.equal(slash.status, 200);
      assert.equal(slash.json().url, '/a%2Fb');
      assert.equal((await get(`${web}/a%2fb`)).status, 200);
      for (const encoded of ['%5C', '%5c', '%00', '%3B', '%3b', '%25', '%3F', '%3f', '%23']) {
        const refused = await get(`${web}/a${encoded}b`);
        assert.equal(refused.status, 400, encoded);
        assert.equal(refused.text, '', encoded);
      }
      const hits = upstream.hits;
      // Only the path is checked: the same characters in the query pass, and so do unreserved encodings.
      assert.equal((await get(`${web}/a/b?x=%3B%25%23`)).status, 200);
      assert.equal((await get(`${web}/a%41b`)).status, 200);
      assert.equal(upstream.hits, hits + 2);
    });
  });
}
