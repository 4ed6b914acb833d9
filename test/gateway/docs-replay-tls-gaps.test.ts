/**
 * The TLS snippets of Traefik v3.7's reference pages that Meshgate used to refuse (docs-replay.test.ts's former
 * EXPECTED_GAPS), on a running gateway: `tls.options.default.disableSessionTickets` (tls-options.md, "Disable Session
 * Tickets"), `http.serversTransports.<name>.peerCertSANs` (serverstransport.md) and the store's
 * `defaultGeneratedCert` (tls-certificates.md, "ACME Default Certificate"). Each snippet sits unchanged in a file
 * provider directory beside the test's routers; real TLS clients and servers check what the page says.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { formatOf, parseConfigText } from '../../src/gateway/config/parse.ts';
import { validateDynamicConfig } from '../../src/gateway/config/dynamic.ts';
import { fileProviderStaticYaml, get, startGateway, startUpstream, tempDir, withTlsGateway, type Upstream } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

let pki = '';
let upstream: Upstream;

before(async () => {
  pki = await tempDir('mg-tls-gaps-');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'site.key', '-out', 'site.crt', '-days', '2', '-subj', '/CN=a.example', '-addext', 'subjectAltName=DNS:a.example');
  // An upstream certificate from a private CA naming the page's SANs, and not the address it is dialled at.
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=upstream-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'upstream.key', '-out', 'upstream.csr', '-subj', '/CN=upstream', '-addext', 'subjectAltName=DNS:foo.com,URI:spiffe://example.org/peer');
  openssl('x509', '-req', '-in', 'upstream.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'upstream.crt', '-days', '2', '-copy_extensions', 'copy');
  upstream = await startUpstream('app');
});
after(async () => {
  await upstream?.close();
});

/** A gateway on one TLS entry point whose file provider directory holds `files` (name → text) and a router for a.example. */
async function serveTls(files: Record<string, string>, check: (port: number) => Promise<void>): Promise<void> {
  const work = await tempDir('mg-tls-gaps-gw-');
  const dir = join(work, 'dynamic');
  await mkdir(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'router.yml'), `http:
  routers:
    a:
      rule: "Host(\`a.example\`)"
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
tls:
  certificates:
    - certFile: "${join(pki, 'site.crt')}"
      keyFile: "${join(pki, 'site.key')}"
`);
  await withTlsGateway(work, dir, check);
}

interface Visit { session: Buffer | undefined; ticket: boolean; reused: boolean }

/** One HTTPS request on a fresh connection, offering `session` for resumption; what the server gave and did. */
function visit(port: number, version: tls.SecureVersion, session?: Buffer): Promise<Visit> {
  return new Promise((resolve, reject) => {
    let last: Buffer | undefined;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'a.example', rejectUnauthorized: false, minVersion: version, maxVersion: version, ...(session ? { session } : {}) });
    socket.on('session', (s: Buffer) => { last = s; });
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.1\r\nhost: a.example\r\nconnection: close\r\n\r\n'));
    socket.on('data', () => {});
    socket.once('end', () => resolve({ session: last, ticket: socket.getTLSTicket() !== undefined, reused: socket.isSessionReused() }));
    socket.once('error', reject);
    socket.setTimeout(15_000, () => socket.destroy(new Error('timed out')));
  });
}

// Traefik pkg/tls/tlsmanager.go buildTLSConfig: disableSessionTickets sets crypto/tls SessionTicketsDisabled, so a
// client can never resume a session from a ticket. With OpenSSL, TLS 1.2 sends no ticket at all; TLS 1.3 sends a
// stateful one that never resumes (the gateway keeps no session cache).
for (const file of ['tls-options.15.yaml', 'tls-options.16.toml']) {
  test(`docs replay running: ${file} — disableSessionTickets: no ticket in TLS 1.2, no resumed session in TLS 1.2 or 1.3`, async () => {
    await serveTls({ [file]: snippet(file) }, async (port) => {
      const first12 = await visit(port, 'TLSv1.2');
      assert.equal(first12.ticket, false, 'TLS 1.2: no session ticket issued');
      assert.equal((await visit(port, 'TLSv1.2', first12.session)).reused, false, 'TLS 1.2: not resumed');
      const first13 = await visit(port, 'TLSv1.3');
      assert.ok(first13.session !== undefined, 'TLS 1.3: the client got a session to offer');
      assert.equal((await visit(port, 'TLSv1.3', first13.session)).reused, false, 'TLS 1.3: not resumed');
    });
  });
}

test('without disableSessionTickets the same gateway issues tickets and resumes sessions (the check above can fail)', async () => {
  await serveTls({}, async (port) => {
    const first12 = await visit(port, 'TLSv1.2');
    assert.equal(first12.ticket, true, 'TLS 1.2: a session ticket issued');
    assert.equal((await visit(port, 'TLSv1.2', first12.session)).reused, true, 'TLS 1.2: resumed');
    const first13 = await visit(port, 'TLSv1.3');
    assert.equal((await visit(port, 'TLSv1.3', first13.session)).reused, true, 'TLS 1.3: resumed');
  });
});

// The serverstransport page's snippet loads once its `certificates` are written as Traefik's type takes them
// ({certFile, keyFile}; the page's bare paths are a documentation error, see docs-replay.test.ts).
for (const file of ['serverstransport.01.yaml', 'serverstransport.02.toml']) {
  test(`docs replay: ${file} loads, peerCertSANs included, with its certificates as {certFile, keyFile}`, () => {
    const fixed = snippet(file)
      .replace(/certificates:\n\s+- "\/path\/to\/cert1.pem"\n\s+- "\/path\/to\/cert2.pem"/, 'certificates:\n        - certFile: "/path/to/cert1.pem"\n          keyFile: "/path/to/key1.pem"')
      .replace('certificates = ["/path/to/cert1.pem", "/path/to/cert2.pem"]', 'certificates = [{certFile = "/path/to/cert1.pem", keyFile = "/path/to/key1.pem"}]');
    assert.notEqual(fixed, snippet(file), 'the certificates line was rewritten');
    const config = validateDynamicConfig(parseConfigText(fixed, formatOf(file)!, file), file);
    assert.deepEqual((config.http.serversTransports.mytransport as { peerCertSANs?: unknown }).peerCertSANs, [
      { type: 'DNSName', value: 'foo.com' },
      { type: 'URI', value: 'spiffe://example.org/peer' },
    ]);
  });
}

// Traefik pkg/tls certificate.go VerifyPeerCertificate (with the transport's SANs, Traefik v3.7): the chain is verified
// against rootCAs, then the certificate must carry one of peerCertSANs — the dialled address need not be in it.
test('peerCertSANs: an HTTPS upstream whose certificate carries a configured DNSName or URI SAN is served; other SANs, no SAN check or an untrusted chain are refused', async (t) => {
  const pem = (name: string) => readFileSync(join(pki, name), 'utf8');
  const server = createServer({ cert: pem('upstream.crt'), key: pem('upstream.key') }, (_req, res) => res.end('upstream')).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.after(() => { server.closeAllConnections(); server.close(); });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const transports: Record<string, string> = {
    dns: 'rootCAs: ["CA"]\n      peerCertSANs: [{ type: DNSName, value: foo.com }]',
    uri: 'rootCAs: ["CA"]\n      peerCertSANs: [{ type: DNSName, value: bar.com }, { type: URI, value: "spiffe://example.org/peer" }]',
    other: 'rootCAs: ["CA"]\n      peerCertSANs: [{ type: DNSName, value: bar.com }, { type: URI, value: "spiffe://example.org/other" }]',
    hostname: 'rootCAs: ["CA"]',
    untrusted: 'peerCertSANs: [{ type: DNSName, value: foo.com }]',
    skip: 'insecureSkipVerify: true\n      peerCertSANs: [{ type: DNSName, value: foo.com }]',
  };
  const names = Object.keys(transports);
  const work = await tempDir('mg-peer-sans-');
  const dynamic = join(work, 'dynamic.yml');
  await writeFile(dynamic, [
    'http:',
    '  routers:',
    ...names.flatMap((n) => [`    ${n}:`, `      rule: "Host(\`${n}.example\`)"`, `      service: ${n}`]),
    '  services:',
    ...names.flatMap((n) => [`    ${n}:`, '      loadBalancer:', `        serversTransport: ${n}`, '        servers:', `          - url: "${url}"`]),
    '  serversTransports:',
    ...names.flatMap((n) => [`    ${n}:`, `      ${transports[n]!.replaceAll('"CA"', JSON.stringify(join(pki, 'ca.crt')))}`]),
    '',
  ].join('\n'));
  await writeFile(join(work, 'gateway.yml'), fileProviderStaticYaml(dynamic));
  const gw = await startGateway(join(work, 'gateway.yml'));
  t.after(() => gw.close());
  const status = async (name: string) => (await get(`${gw.web}/`, { host: `${name}.example` })).status;
  assert.equal(await status('dns'), 200, 'DNSName foo.com is in the certificate');
  assert.equal(await status('uri'), 200, 'URI spiffe://example.org/peer is in the certificate');
  assert.equal(await status('other'), 502, 'neither bar.com nor spiffe://example.org/other is');
  assert.equal(await status('hostname'), 502, 'without peerCertSANs the dialled 127.0.0.1 must be in the certificate');
  assert.equal(await status('untrusted'), 502, 'the chain is verified: the CA is not trusted without rootCAs');
  assert.equal(await status('skip'), 502, 'insecureSkipVerify does not turn the chain check off when peerCertSANs is set');
});
