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
import { startUpstream, tempDir, withTlsGateway, type Upstream } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

let pki = '';
let upstream: Upstream;

before(async () => {
  pki = await tempDir('mg-tls-gaps-');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'site.key', '-out', 'site.crt', '-days', '2', '-subj', '/CN=a.example', '-addext', 'subjectAltName=DNS:a.example');
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
