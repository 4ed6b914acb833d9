/**
 * Traefik v3.7's TLS reference pages (routing-configuration/http/tls/tls-options.md and tls-certificates.md, commits
 * in fixtures/traefik-docs/manifest.json) on a running gateway: each snippet, unchanged but for the page's placeholder
 * file paths (pointed at certificates openssl makes for the test), sits in a file provider directory beside the
 * test's routers, and real TLS clients check what the page says: versions, cipher suites, curves, strict SNI, ALPN,
 * client authentication, the certificate chosen by SNI and the store's default certificate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import { startUpstream, tempDir, withTlsGateway, type Upstream } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

let pki = '';
let upstream: Upstream;

/** CAs ca1…ca3, a client certificate from each; server certificates "domain" (a., b., domain.example),
 * "other-domain" (other.example) and "fallback" (the store's default certificate), all RSA for the ECDHE_RSA suites. */
before(async () => {
  pki = await tempDir('mg-docs-tls-');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
  const leaf = (name: string, ca: string, cn: string, sans: string[]) => {
    const ext = sans.length > 0 ? ['-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`] : [];
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`, ...ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-copy_extensions', 'copy');
  };
  for (const ca of ['ca1', 'ca2', 'ca3']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
    leaf(`client-${ca}`, ca, `client-of-${ca}`, []);
  }
  leaf('domain', 'ca1', 'domain.example', ['domain.example', 'a.example', 'b.example']);
  leaf('other-domain', 'ca1', 'other.example', ['other.example']);
  leaf('fallback', 'ca1', 'fallback.example', ['fallback.example']);
  upstream = await startUpstream('app');
});
after(async () => {
  await upstream?.close();
});

/** The snippet with the page's placeholder paths pointed at the test's files. */
function withPaths(file: string): string {
  const p = (name: string) => join(pki, name);
  return snippet(file)
    .replaceAll('/path/to/domain.cert', p('domain.crt')).replaceAll('/path/to/domain.key', p('domain.key'))
    .replaceAll('/path/to/other-domain.cert', p('other-domain.crt')).replaceAll('/path/to/other-domain.key', p('other-domain.key'))
    .replaceAll('path/to/cert.crt', p('fallback.crt')).replaceAll('path/to/cert.key', p('fallback.key'))
    .replaceAll('tests/clientca1.crt', p('ca1.crt')).replaceAll('tests/clientca2.crt', p('ca2.crt'));
}

/**
 * A gateway with a TLS entry point whose file provider directory holds the snippet and the test's routers:
 * `a.example` on the default options, `b.example` on `options` when given. `certificates` adds the domain
 * certificate (the TLS options pages define none).
 */
async function serveTls(file: string, check: (port: number) => Promise<void>, { options, certificates = true }: { options?: string; certificates?: boolean } = {}) {
  const work = await tempDir('mg-docs-tls-gw-');
  const dir = join(work, 'dynamic');
  await mkdir(dir);
  await writeFile(join(dir, file), withPaths(file));
  const cert = certificates ? `tls:\n  certificates:\n    - certFile: "${join(pki, 'domain.crt')}"\n      keyFile: "${join(pki, 'domain.key')}"\n` : '';
  await writeFile(join(dir, 'replay.yml'), `http:
  routers:
    a:
      rule: "Host(\`a.example\`) || Host(\`other.example\`) || Host(\`unknown.example\`)"
      service: app
      tls: {}
    b:
      rule: "Host(\`b.example\`)"
      service: app
      tls: ${options ? `{ options: ${options} }` : '{}'}
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
${cert}`);
  await withTlsGateway(work, dir, check);
}

interface Served { status?: number; protocol?: string | null; cipher?: string; cn?: string; refused?: string }

/** One HTTPS GET on a fresh connection with the given client TLS settings: what was negotiated, or why it failed. */
function httpsGet(port: number, servername: string, options: tls.ConnectionOptions = {}): Promise<Served> {
  return new Promise((resolve) => {
    const served: Served = {};
    const req = request({ host: '127.0.0.1', port, path: '/', servername, headers: { host: servername }, rejectUnauthorized: false, agent: false, ...options }, (res) => {
      served.status = res.statusCode;
      res.resume();
      res.on('end', () => resolve(served));
    });
    req.on('socket', (socket) => socket.once('secureConnect', () => {
      const s = socket as tls.TLSSocket;
      served.protocol = s.getProtocol();
      served.cipher = s.getCipher().name;
      served.cn = String(s.getPeerCertificate().subject?.CN);
    }));
    req.on('error', (err) => resolve({ ...served, refused: err.message }));
    req.setTimeout(15_000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

const ok = (s: Served) => assert.equal(s.status, 200, JSON.stringify(s));
const refused = (s: Served) => assert.equal(s.status, undefined, `served: ${JSON.stringify(s)}`);

// Traefik pkg/tls/tlsmanager.go buildTLSConfig: minVersion/maxVersion map to crypto/tls MinVersion/MaxVersion.
for (const file of ['tls-options.01.yaml', 'tls-options.02.toml']) {
  test(`docs replay running: ${file} — minVersion: default accepts TLS 1.2, mintls13 refuses it and speaks TLS 1.3`, async () => {
    await serveTls(file, async (port) => {
      const twelve = await httpsGet(port, 'a.example', { maxVersion: 'TLSv1.2' });
      ok(twelve);
      assert.equal(twelve.protocol, 'TLSv1.2');
      refused(await httpsGet(port, 'b.example', { maxVersion: 'TLSv1.2' }));
      const thirteen = await httpsGet(port, 'b.example');
      ok(thirteen);
      assert.equal(thirteen.protocol, 'TLSv1.3');
    }, { options: 'mintls13' });
  });
}

for (const file of ['tls-options.03.yaml', 'tls-options.04.toml']) {
  test(`docs replay running: ${file} — maxVersion: default allows TLS 1.3, maxtls12 caps the handshake at TLS 1.2`, async () => {
    await serveTls(file, async (port) => {
      assert.equal((await httpsGet(port, 'a.example')).protocol, 'TLSv1.3');
      const capped = await httpsGet(port, 'b.example');
      ok(capped);
      assert.equal(capped.protocol, 'TLSv1.2');
    }, { options: 'maxtls12' });
  });
}

// crypto/tls CipherSuites applies to TLS 1.2 and below only; TLS 1.3 suites are not configurable (Go's docs).
for (const file of ['tls-options.05.yaml', 'tls-options.06.toml']) {
  test(`docs replay running: ${file} — cipherSuites: a TLS 1.2 client gets TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 and nothing else`, async () => {
    await serveTls(file, async (port) => {
      const both = await httpsGet(port, 'a.example', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' });
      ok(both);
      assert.equal(both.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
      refused(await httpsGet(port, 'a.example', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }));
    });
  });
}

for (const file of ['tls-options.07.yaml', 'tls-options.08.toml']) {
  test(`docs replay running: ${file} — curvePreferences CurveP521, CurveP384: a client offering only X25519 is refused, P-384 is served`, async () => {
    await serveTls(file, async (port) => {
      refused(await httpsGet(port, 'a.example', { ecdhCurve: 'X25519' }));
      ok(await httpsGet(port, 'a.example', { ecdhCurve: 'P-384' }));
      ok(await httpsGet(port, 'a.example', { ecdhCurve: 'P-521', maxVersion: 'TLSv1.2' }));
    });
  });
}

// Traefik pkg/tls/tlsmanager.go: with sniStrict, a ClientHello whose server name no certificate matches is refused
// (no fallback to the default certificate).
for (const file of ['tls-options.09.yaml', 'tls-options.10.toml']) {
  test(`docs replay running: ${file} — sniStrict: a name no certificate covers is refused instead of getting the default certificate`, async () => {
    await serveTls(file, async (port) => {
      const known = await httpsGet(port, 'a.example');
      ok(known);
      assert.equal(known.cn, 'domain.example');
      refused(await httpsGet(port, 'unknown.example'));
    });
  });
}

// crypto/tls negotiateALPN picks by the server's order: http/1.1 first here, though the client prefers h2.
for (const file of ['tls-options.11.yaml', 'tls-options.12.toml']) {
  test(`docs replay running: ${file} — alpnProtocols [http/1.1, h2]: the server's order decides, http/1.1 for a client preferring h2`, async () => {
    await serveTls(file, async (port) => {
      const alpn = await new Promise<string | false | null>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'a.example', rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
          resolve(socket.alpnProtocol);
          socket.destroy();
        });
        socket.once('error', reject);
      });
      assert.equal(alpn, 'http/1.1');
    });
  });
}

for (const file of ['tls-options.13.yaml', 'tls-options.14.toml']) {
  test(`docs replay running: ${file} — clientAuth RequireAndVerifyClientCert with two caFiles: a certificate from either CA is accepted, none or another CA's is refused`, async () => {
    await serveTls(file, async (port) => {
      const client = (ca: string) => ({ cert: readFileSync(join(pki, `client-${ca}.crt`)), key: readFileSync(join(pki, `client-${ca}.key`)) });
      refused(await httpsGet(port, 'a.example'));
      ok(await httpsGet(port, 'a.example', client('ca1')));
      ok(await httpsGet(port, 'a.example', client('ca2')));
      refused(await httpsGet(port, 'a.example', client('ca3')));
    });
  });
}

// Traefik pkg/tls/certificate_store.go GetBestCertificate: the certificate whose names match the server name;
// tls.certificates without `stores` go to the default store.
for (const file of ['tls-certificates.01.yaml', 'tls-certificates.02.toml', 'tls-certificates.03.yaml', 'tls-certificates.04.toml']) {
  test(`docs replay running: ${file} — user defined certificates: each server name gets its own certificate`, async () => {
    await serveTls(file, async (port) => {
      const a = await httpsGet(port, 'a.example');
      ok(a);
      assert.equal(a.cn, 'domain.example');
      const other = await httpsGet(port, 'other.example');
      ok(other);
      assert.equal(other.cn, 'other.example');
      assert.equal((await httpsGet(port, 'unknown.example')).cn, 'TRAEFIK DEFAULT CERT', 'no default certificate configured: the generated one');
    }, { certificates: false });
  });
}

for (const file of ['tls-certificates.05.yaml', 'tls-certificates.06.toml']) {
  test(`docs replay running: ${file} — the default store's defaultCertificate is served when no certificate matches the server name`, async () => {
    await serveTls(file, async (port) => {
      const unknown = await httpsGet(port, 'unknown.example');
      ok(unknown);
      assert.equal(unknown.cn, 'fallback.example');
      assert.equal((await httpsGet(port, 'a.example')).cn, 'domain.example');
    });
  });
}
