/**
 * Traefik v3.7's certificate-resolvers/acme.md (the commit in fixtures/traefik-docs/manifest.json; which pages are
 * v3.7's: docs-replay-tls-install.test.ts) against Debian's pebble on loopback, as acme.test.ts runs it: each
 * example's resolver `myresolver` obtains the certificate of a router naming it, through the page's challenge
 * (HTTP-01 on the entry point called web, or TLS-ALPN-01), and stores it in the page's `acme.json`. The snippets are
 * the page's except for the loopback ports pebble dials instead of :80/:443 and `caServer` (see below).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatOf, parseConfigText } from '../../src/gateway/config/parse.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { freePort } from '../helpers/server.ts';
import { certificateServed, pebbleInstalled, startPebble, type Pebble } from '../helpers/pebble.ts';
import { startUpstream, tempDir, type Upstream } from './helpers.ts';
import { dynamicYaml, gateway } from './docs-replay-tls-install-support.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

// The page's resolver keeps its email and its storage (acme.json, relative: each gateway runs in a directory of its
// own); its `caServer` is pointed at pebble (the page's default is Let's Encrypt's production CA), whose listener CA
// is trusted through `caCertificates`.
const skipAcme = pebbleInstalled() ? false : 'pebble is not installed (scripts/install-test-deps.sh)';

describe('certificate-resolvers/acme.md: certificates from pebble', { skip: skipAcme, timeout: 170_000 }, () => {
  let upstream: Upstream;
  let pebble: Pebble;
  let root: string;
  let httpPort: number;
  let tlsPort: number;
  const cwd = process.cwd();
  before(async () => {
    upstream = await startUpstream('app');
    const dir = await tempDir('mg-docs-acme-');
    [httpPort, tlsPort] = [await freePort(), await freePort()];
    pebble = await startPebble(dir, { httpPort, tlsPort });
    root = await pebble.rootPem();
  });
  after(async () => {
    process.chdir(cwd);
    await pebble?.stop();
    await upstream?.close();
  });

  /** The page's snippet with loopback addresses, pebble as CA server, and the entry points a fragment leaves out. */
  function adapt(file: string): { text: string; ext: 'yaml' | 'toml' } {
    const ext = formatOf(file) === 'toml' ? 'toml' : 'yaml';
    let text = snippet(file).replace('":80"', `"127.0.0.1:${httpPort}"`).replace('":443"', `"127.0.0.1:${tlsPort}"`);
    const ca = ext === 'yaml'
      ? [`caServer: "${pebble.directory}"`, `caCertificates: ["${pebble.listenerCaFile}"]`]
      : [`caServer = "${pebble.directory}"`, `caCertificates = ["${pebble.listenerCaFile}"]`];
    // After the page's storage line, or in place of its `# ...` ("the rest of the resolver").
    const anchor = /^( *)(storage: acme\.json|storage = "acme\.json"|# \.\.\.)$/m.exec(text);
    assert.ok(anchor, `${file}: no place for caServer`);
    const indent = anchor[1]!;
    const keep = anchor[2]!.startsWith('#') ? '' : `${indent}${anchor[2]}\n`;
    text = text.replace(anchor[0], `${keep}${ca.map((l) => `${indent}${l}`).join('\n')}`);
    if (!/entryPoints/.test(text)) {
      // The tlsChallenge fragment shows the resolver only; the page's configuration example gives the entry points.
      text = ext === 'yaml'
        ? `entryPoints:\n  web:\n    address: "127.0.0.1:${httpPort}"\n  websecure:\n    address: "127.0.0.1:${tlsPort}"\n${text}`
        : `[entryPoints]\n  [entryPoints.web]\n    address = "127.0.0.1:${httpPort}"\n  [entryPoints.websecure]\n    address = "127.0.0.1:${tlsPort}"\n${text}`;
    }
    return { text, ext };
  }

  // The TOML tab of each example must configure the very same resolver as its YAML tab (checked here, after the
  // same adaptation); the YAML tab then runs against pebble — an order takes seconds (the page's RSA4096 keys).
  const pairs = [
    ['acme.01.yaml', 'acme.02.toml', 'Configuration Example, httpChallenge on web'],
    ['acme.03.yaml', 'acme.04.toml', 'Configuring the tlsChallenge'],
    ['acme.05.yaml', 'acme.06.toml', 'Using an EntryPoint Called web for the httpChallenge'],
  ] as const;
  pairs.forEach(([yamlFile, tomlFile, what], i) => {
    it(`${yamlFile} and ${tomlFile} (${what}): pebble issues the router's certificate, served by SNI and kept in the page's acme.json`, async () => {
      const loaded = (file: string) => {
        const { text, ext } = adapt(file);
        const { raw: _raw, file: _file, ...config } = validateStaticConfig(parseConfigText(text, ext, file), file);
        return config;
      };
      assert.deepEqual(loaded(tomlFile), loaded(yamlFile));
      const dir = await tempDir('mg-docs-acme-gw-');
      process.chdir(dir);
      const host = `docs${i}.example.test`;
      const { text, ext } = adapt(yamlFile);
      const gw = await gateway(dir, text, dynamicYaml(upstream.url, [host], 'myresolver'), ext);
      try {
        const cert = await certificateServed(tlsPort, host, root);
        assert.match(cert.subjectaltname ?? '', new RegExp(`DNS:${host.replaceAll('.', '\\.')}`));
        // local_store.go: acme.json (relative to where Traefik runs) keyed by resolver name, with the page's email
        // (the fragments, `# ...` for the rest of the resolver, have none).
        const stored = JSON.parse(readFileSync(join(dir, 'acme.json'), 'utf8'));
        assert.equal(stored.myresolver.Account.Email, snippet(yamlFile).includes('your-email@example.com') ? 'your-email@example.com' : '');
        assert.deepEqual(stored.myresolver.Certificates.map((c: { domain: { main: string } }) => c.domain.main), [host]);
      } finally {
        await gw.close();
        process.chdir(cwd);
      }
    });
  });
});
