/**
 * Traefik v3.7's certificate-resolvers/acme.md, "External Account Binding" (the commit in
 * fixtures/traefik-docs/manifest.json; which pages are v3.7's: docs-replay-tls-install.test.ts), against Debian's
 * pebble on loopback requiring External Account Binding with the page's own key. Apart from acme.md's other
 * examples (docs-replay-tls-install-acme.test.ts) so each file stays short: an order takes seconds with the page's
 * RSA4096 keys.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatOf } from '../../src/gateway/config/parse.ts';
import { freePort } from '../helpers/server.ts';
import { certificateServed, pebbleInstalled, startPebble, type Pebble } from '../helpers/pebble.ts';
import { startUpstream, tempDir, type Upstream } from './helpers.ts';
import { dynamicYaml, gateway } from './docs-replay-tls-install-support.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');
const skipAcme = pebbleInstalled() ? false : 'pebble is not installed (scripts/install-test-deps.sh)';

// acme.md "External Account Binding": `kid` and `hmacEncoded` from the CA. The page's fragment (`# ...` for the rest
// of the resolver, which has no challenge on its own: docs-replay-tls-install-gaps.ts) completes the page's
// configuration example, against a pebble that requires External Account Binding and knows the page's key — so the
// certificate is only issued if the account was bound with exactly that kid and HMAC key.
describe('certificate-resolvers/acme.md External Account Binding: the page\'s kid and hmacEncoded bind the account', { skip: skipAcme, timeout: 120_000 }, () => {
  let upstream: Upstream;
  let pebble: Pebble;
  let root: string;
  let httpPort: number;
  let tlsPort: number;
  const cwd = process.cwd();
  before(async () => {
    upstream = await startUpstream('app');
    [httpPort, tlsPort] = [await freePort(), await freePort()];
    pebble = await startPebble(await tempDir('mg-docs-eab-pebble-'), { httpPort, tlsPort, eabKeys: { 'abc-keyID-xyz': 'abc-hmac-xyz' } });
    root = await pebble.rootPem();
  });
  after(async () => {
    process.chdir(cwd);
    await pebble?.stop();
    await upstream?.close();
  });

  for (const [file, example] of [['acme.07.yaml', 'acme.01.yaml'], ['acme.08.toml', 'acme.02.toml']] as const) {
    it(`${file} with ${example}: pebble (EAB required) issues the certificate`, async () => {
      const dir = await tempDir('mg-docs-eab-');
      const ext = formatOf(file) === 'toml' ? 'toml' : 'yaml';
      // The fragment's EAB lines, put where its `# ...` says the rest of the resolver goes: after the example's.
      const eab = snippet(file).split('\n').filter((l) => /eab|kid|hmacEncoded/.test(l)).join('\n');
      const resolver = ext === 'yaml' ? '      storage: acme.json\n' : '  storage = "acme.json"\n';
      const ca = ext === 'yaml'
        ? `      caServer: "${pebble.directory}"\n      caCertificates: ["${pebble.listenerCaFile}"]\n`
        : `  caServer = "${pebble.directory}"\n  caCertificates = ["${pebble.listenerCaFile}"]\n`;
      let text = snippet(example).replace('":80"', `"127.0.0.1:${httpPort}"`).replace('":443"', `"127.0.0.1:${tlsPort}"`);
      assert.ok(text.includes(resolver));
      // TOML: the eab table goes last, after the httpChallenge table, where the fragment has it after `# ...`.
      text = ext === 'yaml' ? text.replace(resolver, `${resolver}${ca}${eab}\n`) : `${text.replace(resolver, `${resolver}${ca}`)}${eab}\n`;
      process.chdir(dir);
      const host = `eab-${ext}.example.test`;
      const gw = await gateway(dir, text, dynamicYaml(upstream.url, [host], 'myresolver'), ext);
      try {
        const cert = await certificateServed(tlsPort, host, root);
        assert.match(cert.subjectaltname ?? '', new RegExp(`DNS:${host.replaceAll('.', '\\.')}`));
        assert.equal(JSON.parse(readFileSync(join(dir, 'acme.json'), 'utf8')).myresolver.Account.Email, 'your-email@example.com');
      } finally {
        await gw.close();
        process.chdir(cwd);
      }
    });
  }
});
