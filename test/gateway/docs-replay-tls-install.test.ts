/**
 * Traefik v3.7's install-configuration TLS pages (docs/content/reference/install-configuration/tls/…, commits in
 * fixtures/traefik-docs/manifest.json) on running gateways: docs-replay.test.ts loads every snippet (the refusals
 * are in docs-replay-tls-install-gaps.ts); here each page's examples are checked for what the page says. A snippet
 * is used unchanged except where a comment says why (the page's :80/:443 become loopback ports, `caServer` points
 * at Debian's pebble, placeholder paths at files the test makes).
 *
 * Which pages are Traefik v3.7's (looked up with the search tools, December 2026):
 * - A mirror of the v3.7 documentation (front matter `traefik_version: "v3.7"`, `source_url` naming the upstream
 *   blob) holds certificate-resolvers/overview.md (2a2349356c01…), certificate-resolvers/tailscale.md, spiffe.md
 *   (21a4ca1fad46…) and ocsp.md (b78307590625…); the fixtures use those commits. Its spiffe.md has the TOML tab
 *   fixed (`workloadAPIAddr = "localhost"`), older upstream versions wrote YAML syntax there.
 * - certificate-resolvers/acme.md and tls/overview.md: linked from the v3.7 pages (tls-certificates.md "See the
 *   Let's Encrypt page", the resolvers overview lists acme and tailscale); the newest stored upstream versions are
 *   used (acme.md 10676b92…, with the option anchors v3.6+ pages carry; overview.md 46986e04…).
 * - OCSP stapling is older than v3.7 (traefik#12142 "Make the staple updates continuous", merged 2025-10-10, fixes
 *   stapling that already shipped; v3.7.0 was released 2026-05-05, traefik#13107).
 * - Out of scope, newer than v3.7: tls/crl.md (`tls.crlFiles`, `tls.crlReloadInterval`). It exists in one stored
 *   version only (fbb6db10…), is absent from the v3.7 mirror, refers to a per-TLS-options CRL mechanism
 *   (`clientAuth` expiry/CRL) that v3.7's tls-options.md (8eda9635…, the replayed one) does not have, and its code
 *   (pkg/tls/crl-manager.go) uses Go 1.26's `new(expr)`.
 * - Not v3.7 pages: certificate-resolvers/lets-encrypt.md, cert-resolvers.md and certificate-resolvers/spiffe.md
 *   (two stored versions each, linking the pre-reorganisation layout — routing/services/index.md,
 *   content/https/include-*.md — and not among the resolvers the v3.7 overview lists), and
 *   install-configuration/serverstransport.md (one stored version, linked from no v3.7 page found).
 */
import { after, before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { runGateway } from '../../src/gateway/main.ts';
import { formatOf, parseConfigText } from '../../src/gateway/config/parse.ts';
import { applyStaticOverrides, validateStaticConfig } from '../../src/gateway/config/static.ts';
import { createLogger, silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startUpstream, tempDir, type Upstream } from './helpers.ts';
import { dynamicYaml, gateway } from './docs-replay-tls-install-support.ts';
import { readStaple, serialOf, stapled, startOcspPki, type OcspPki } from '../helpers/ocsp-pki.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('app');
});
after(async () => {
  await upstream?.close();
});

// ---------------------------------------------------------------------------------------------------------------
// ocsp.md: "Traefik checks the status of every certificate in the store that provides an OCSP responder URL,
// including the default certificate, and staples the OCSP response to the TLS handshake"; `responderOverrides`
// "defines the OCSP responder URLs to use instead of the one provided by the certificate".
// pkg/tls/ocsp.go Staple: only a Good answer is stapled.

describe('ocsp.md: OCSP stapling', () => {
  let pki: OcspPki;
  before(async () => {
    pki = await startOcspPki();
  });
  after(async () => {
    await pki?.close();
  });

  const certificates = (names: string[]) => `tls:
  certificates:
${names.map((n) => `    - certFile: "${pki.chain(n)}"\n      keyFile: "${pki.key(n)}"\n`).join('')}  stores:
    default:
      defaultCertificate:
        certFile: "${pki.chain('fallback')}"
        keyFile: "${pki.key('fallback')}"
`;
  const entryPoints = (ext: 'yaml' | 'toml') => (ext === 'yaml'
    ? 'entryPoints:\n  websecure:\n    address: "127.0.0.1:0"\n'
    : '[entryPoints]\n  [entryPoints.websecure]\n    address = "127.0.0.1:0"\n');

  for (const [file, ext] of [['ocsp.01.yaml', 'yaml'], ['ocsp.02.toml', 'toml']] as const) {
    it(`${file} (General): a good certificate and the default certificate are stapled with the responder's good answer; a revoked one is not`, async () => {
      const dir = await tempDir('mg-ocsp-gw-');
      // The log says when the revoked certificate's answer has been read (it then is never stapled).
      const lines: string[] = [];
      const logger = createLogger({ name: 'ocsp', level: 'info', destination: { write: (line: string) => lines.push(line) } });
      const gw = await gateway(dir, `${snippet(file)}${entryPoints(ext)}`, dynamicYaml(upstream.url, ['good.example', 'revoked.example'], undefined, certificates(['good', 'revoked'])), ext, logger);
      try {
        const port = gw.addresses().websecure!.port;
        // Fetched when the certificates are loaded; a handshake never waits for the responder.
        const good = await waitFor(() => stapled(port, 'good.example'), 'a stapled OCSP answer for good.example', { deadlineMs: 60_000 });
        assert.deepEqual(readStaple(pki, good, 'good'), { status: 'good', serial: serialOf(pki, 'good') });
        const fallback = await waitFor(() => stapled(port, undefined), 'a stapled OCSP answer for the default certificate', { deadlineMs: 60_000 });
        assert.deepEqual(readStaple(pki, fallback, 'fallback'), { status: 'good', serial: serialOf(pki, 'fallback') });
        await waitFor(() => lines.some((l) => l.includes('certificate not good') && l.includes('"status":"revoked"')), 'the revoked answer to be read');
        assert.equal(await stapled(port, 'revoked.example'), undefined);
      } finally {
        await gw.close();
      }
    });
  }

  it('without the ocsp section nothing is stapled (the control for the two tests above)', async () => {
    const dir = await tempDir('mg-ocsp-gw-');
    const before = pki.requests;
    const gw = await gateway(dir, entryPoints('yaml'), dynamicYaml(upstream.url, ['good.example'], undefined, certificates(['good'])));
    try {
      const port = gw.addresses().websecure!.port;
      assert.equal(await stapled(port, 'good.example'), undefined);
      assert.equal(pki.requests, before);
    } finally {
      await gw.close();
    }
  });

  for (const [file, ext] of [['ocsp.03.yaml', 'yaml'], ['ocsp.04.toml', 'toml']] as const) {
    it(`${file} (Responder Overrides): the overriding URL is asked instead of the one the certificate names`, async () => {
      // The page maps `foo` to `bar`; here the certificate's responder URL is mapped to the test's responder.
      const page = snippet(file);
      const mapped = ext === 'yaml'
        ? page.replace('    foo: bar', `    "${pki.unreachableUrl}": "${pki.responderUrl}"`)
        : page.replace('    foo = "bar"', `    "${pki.unreachableUrl}" = "${pki.responderUrl}"`);
      assert.notEqual(mapped, page);
      const dir = await tempDir('mg-ocsp-gw-');
      const gw = await gateway(dir, `${mapped}${entryPoints(ext)}`, dynamicYaml(upstream.url, ['overridden.example'], undefined, certificates(['overridden'])), ext);
      try {
        const port = gw.addresses().websecure!.port;
        const answer = await waitFor(() => stapled(port, 'overridden.example'), 'a stapled OCSP answer fetched from the overriding responder', { deadlineMs: 60_000 });
        assert.deepEqual(readStaple(pki, answer, 'overridden'), { status: 'good', serial: serialOf(pki, 'overridden') });
      } finally {
        await gw.close();
      }
    });
  }
});

// The OCSP page's CLI tabs (`--ocsp=true`, `--ocsp.responderoverrides.foo=bar`) configure what its File tabs do.
test('ocsp.md CLI tabs: the flags give the same ocsp section as the YAML and TOML tabs', () => {
  const fromFile = (file: string) => validateStaticConfig(parseConfigText(snippet(file), formatOf(file)!, file), file).ocsp;
  const fromFlags = (flags: Record<string, string>) => validateStaticConfig(applyStaticOverrides({}, flags)).ocsp;
  assert.deepEqual(fromFlags({ ocsp: 'true' }), fromFile('ocsp.01.yaml'));
  assert.deepEqual(fromFile('ocsp.02.toml'), fromFile('ocsp.01.yaml'));
  assert.deepEqual(fromFlags({ 'ocsp.responderoverrides.foo': 'bar' }), { responderOverrides: { foo: 'bar' } });
  assert.deepEqual(fromFile('ocsp.03.yaml'), { responderOverrides: { foo: 'bar' } });
  assert.deepEqual(fromFile('ocsp.04.toml'), { responderOverrides: { foo: 'bar' } });
});

// certificate-resolvers/acme.md's challenges against pebble: docs-replay-tls-install-acme.test.ts.

// The dnsChallenge options of acme.md's table: the issue asks for a clear "not supported" answer.
test('acme.md dnsChallenge: a resolver with dnsChallenge is refused as "not supported by meshgate", naming the key', async () => {
  const page = snippet('acme.01.yaml');
  const dns = page.replace('      httpChallenge:\n        # used during the challenge\n        entryPoint: web\n', '      dnsChallenge:\n        provider: cloudflare\n        propagation:\n          delayBeforeChecks: 2s\n');
  assert.notEqual(dns, page);
  assert.throws(() => validateStaticConfig(parseConfigText(dns, 'yaml', 'dns.yml'), 'dns.yml'), /not supported by meshgate: certificatesResolvers\.myresolver\.acme\.dnsChallenge/);
  const dir = await tempDir('mg-docs-dns-');
  writeFileSync(join(dir, 'gateway.yml'), dns.replace('":80"', '"127.0.0.1:0"').replace('":443"', '"127.0.0.1:0"'));
  await assert.rejects(runGateway({ configFile: join(dir, 'gateway.yml'), workers: 1, handleSignals: false, lastGoodFile: false, logger: silentLogger() }),
    /not supported by meshgate: certificatesResolvers\.myresolver\.acme\.dnsChallenge/);
});

// certificate-resolvers/tailscale.md: on running gateways in tailscale-docs.test.ts.

// ---------------------------------------------------------------------------------------------------------------
// tls/overview.md: "For each incoming connection, Traefik is serving the best matching TLS certificate for the
// provided Server Name Indication (SNI)"; "If no TLS certificate can be served, Traefik serves a self-signed
// certificate by default" (pkg/tls/generate: CN "TRAEFIK DEFAULT CERT").
describe('tls/overview.md: user-defined certificates chosen by SNI', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('mg-docs-tls-overview-');
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    for (const [name, cn] of [['domain', 'domain.example'], ['other-domain', 'other.example']] as const) {
      openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.cert`, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`);
    }
  });

  const served = (port: number, servername: string) => new Promise<string>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(String(socket.getPeerCertificate().subject?.CN));
      socket.end();
    });
    socket.once('error', reject);
  });

  for (const file of ['tls-overview.01.yaml', 'tls-overview.02.toml']) {
    it(`${file}: each name gets its certificate, an unknown name the generated default`, async () => {
      const work = await tempDir('mg-docs-tls-overview-gw-');
      const dynamic = join(work, 'dynamic');
      mkdirSync(dynamic);
      // The page's dynamic snippet is a file of the file provider's directory, its placeholder paths pointed at the test's.
      const page = snippet(file).replaceAll('/path/to/', `${dir}/`);
      writeFileSync(join(dynamic, file), page);
      writeFileSync(join(dynamic, 'routers.yml'), dynamicYaml(upstream.url, ['domain.example', 'other.example']));
      writeFileSync(join(work, 'gateway.yml'), `entryPoints:\n  websecure:\n    address: "127.0.0.1:0"\nproviders:\n  file:\n    directory: "${dynamic}"\n`);
      const gw = await runGateway({ configFile: join(work, 'gateway.yml'), workers: 1, handleSignals: false, lastGoodFile: false, logger: silentLogger() });
      try {
        const port = gw.addresses().websecure!.port;
        assert.equal(await served(port, 'domain.example'), 'domain.example');
        assert.equal(await served(port, 'other.example'), 'other.example');
        assert.equal(await served(port, 'unknown.example'), 'TRAEFIK DEFAULT CERT');
      } finally {
        await gw.close();
      }
    });
  }
});
