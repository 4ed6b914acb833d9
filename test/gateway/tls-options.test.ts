/**
 * Traefik TLS options on a real HTTPS entry point: per-router option sets chosen by SNI (minVersion, cipherSuites,
 * clientAuth, sniStrict), the generated default certificate, a reload that changes options under a live listener,
 * and a broken option set that disables only its routers. Certificates are made by openssl for the test; every
 * client is a real node TLS connection on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { eventually, get, startGateway, startUpstream, tempDir, writeAtomic } from './helpers.ts';
import { resolveTlsOptions } from '../../src/gateway/entrypoints/tls-options.ts';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** Two CAs; a server certificate for the listed names and a client certificate from each CA. */
function makePki(dir: string, serverNames: string[]): void {
  for (const ca of ['ca1', 'ca2']) {
    openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${ca}`);
  }
  const san = serverNames.map((n) => `DNS:${n}`).join(',');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${serverNames[0]}`, '-addext', `subjectAltName=${san}`);
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca1.crt', '-CAkey', 'ca1.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-copy_extensions', 'copy');
  for (const ca of ['ca1', 'ca2']) {
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `client-${ca}.key`, '-out', `client-${ca}.csr`, '-subj', `/CN=client-of-${ca}`);
    openssl(dir, 'x509', '-req', '-in', `client-${ca}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `client-${ca}.crt`, '-days', '2');
  }
}

interface Attempt {
  status?: number;
  protocol?: string | null;
  cipher?: string;
  alpn?: string | false | null;
  peerCN?: string;
  error?: string;
}

/** One HTTPS request over a fresh TLS connection; a refused handshake or a connection closed unanswered is `error`. */
function attempt(port: number, { hostHeader, ...options }: tls.ConnectionOptions & { hostHeader?: string }): Promise<Attempt> {
  return new Promise((resolve) => {
    const result: Attempt = {};
    let data = '';
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      result.protocol = socket.getProtocol();
      result.cipher = socket.getCipher().name;
      result.alpn = socket.alpnProtocol;
      result.peerCN = String(socket.getPeerCertificate().subject?.CN);
      socket.write(`GET / HTTP/1.1\r\nHost: ${hostHeader ?? options.servername ?? 'localhost'}\r\nConnection: close\r\n\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => { data += chunk; });
    const done = (err?: Error) => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (status) result.status = Number(status[1]);
      else result.error = err?.message ?? 'closed without a response';
      resolve(result);
    };
    socket.once('error', done);
    socket.once('close', () => done());
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
  });
}

const HOSTS = ['a.example.com', 'modern.example.com', 'ciphers.example.com', 'mtls.example.com', 'ifgiven.example.com', 'bad.example.com', 'badca.example.com'];

function dynamicYaml(dir: string, upstream: string, defaultOptions: string): string {
  const router = (name: string, host: string, options?: string) => `
    ${name}:
      rule: Host(\`${host}\`)
      entryPoints: [websecure]
      service: app
      tls: ${options ? `{ options: ${options} }` : '{}'}`;
  const ca1Inline = JSON.stringify(readFileSync(join(dir, 'ca1.crt'), 'utf8'));
  return `
http:
  routers:${router('plain', 'a.example.com')}${router('nocert', 'nocert.example.com')}${router('modern', 'modern.example.com', 'modern')}${router('ciphers', 'ciphers.example.com', 'ciphers12')}${router('mtls', 'mtls.example.com', 'mtls')}${router('ifgiven', 'ifgiven.example.com', 'ifgiven@file')}${router('strict', 'strict.example.com', 'strict')}${router('bad', 'bad.example.com', 'bad')}${router('badca', 'badca.example.com', 'badca')}${router('missing', 'missing.example.com', 'nosuchoptions')}
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream}"
tls:
  certificates:
    - certFile: "${join(dir, 'server.crt')}"
      keyFile: "${join(dir, 'server.key')}"
  options:
    default: ${defaultOptions}
    modern:
      minVersion: VersionTLS13
    ciphers12:
      maxVersion: VersionTLS12
      cipherSuites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
      curvePreferences: [CurveP256]
    mtls:
      clientAuth:
        caFiles: ["${join(dir, 'ca1.crt')}"]
        clientAuthType: RequireAndVerifyClientCert
    ifgiven:
      clientAuth:
        caFiles: [${ca1Inline}]
        clientAuthType: VerifyClientCertIfGiven
    strict:
      sniStrict: true
    bad:
      cipherSuites: [TLS_NOT_A_SUITE]
    badca:
      clientAuth:
        caFiles: ["${join(dir, 'missing-ca.crt')}"]
`;
}

test('TLS options per router on one entry point, default certificate, reload and broken options', async (t) => {
  const dir = await tempDir('mg-tlsopt-');
  makePki(dir, HOSTS);
  const upstream = await startUpstream('A');
  await writeFile(join(dir, 'dynamic.yml'), dynamicYaml(dir, upstream.url, '{}'));
  // JSON is YAML: the static file, with a TLS entry point beside web and the API's.
  const staticConfig = {
    entryPoints: { web: { address: '127.0.0.1:0' }, websecure: { address: '127.0.0.1:0', http: { tls: {} } }, traefik: { address: '127.0.0.1:0' } },
    providers: { providersThrottleDuration: '20ms', file: { filename: 'dynamic.yml' } },
    api: { insecure: true },
  };
  await writeFile(join(dir, 'gateway.yml'), JSON.stringify(staticConfig, null, 2));
  const gw = await startGateway(join(dir, 'gateway.yml'));
  t.after(async () => {
    await gw.close();
    await upstream.close();
  });
  const port = gw.addresses().websecure!.port;
  const client = (ca: 'ca1' | 'ca2') => ({ cert: readFileSync(join(dir, `client-${ca}.crt`)), key: readFileSync(join(dir, `client-${ca}.key`)) });

  await t.test('minVersion VersionTLS13 refuses a TLS 1.2-only client; the default option set on the same entry point accepts it', async () => {
    const refused = await attempt(port, { servername: 'modern.example.com', maxVersion: 'TLSv1.2' });
    assert.equal(refused.status, undefined, `TLS 1.2 client was served: ${JSON.stringify(refused)}`);
    const modern = await attempt(port, { servername: 'modern.example.com' });
    assert.equal(modern.status, 200);
    assert.equal(modern.protocol, 'TLSv1.3');
    const plain = await attempt(port, { servername: 'a.example.com', maxVersion: 'TLSv1.2' });
    assert.equal(plain.status, 200);
    assert.equal(plain.protocol, 'TLSv1.2');
    assert.equal(plain.alpn, false);
    const alpn = await attempt(port, { servername: 'a.example.com', ALPNProtocols: ['h2', 'http/1.1'] });
    // Traefik's default alpnProtocols (h2, http/1.1, acme-tls/1; pkg/tls DefaultTLSOptions): h2 is chosen.
    assert.equal(alpn.alpn, 'h2');
  });

  await t.test('cipherSuites restricts the negotiated TLS 1.2 cipher to its own router\'s host', async () => {
    const both = 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256';
    const restricted = await attempt(port, { servername: 'ciphers.example.com', maxVersion: 'TLSv1.2', ciphers: both });
    assert.equal(restricted.status, 200);
    assert.equal(restricted.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
    const onlyOther = await attempt(port, { servername: 'ciphers.example.com', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' });
    assert.equal(onlyOther.status, undefined, `a cipher outside cipherSuites was negotiated: ${JSON.stringify(onlyOther)}`);
    const elsewhere = await attempt(port, { servername: 'a.example.com', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' });
    assert.equal(elsewhere.status, 200);
    assert.equal(elsewhere.cipher, 'ECDHE-RSA-AES256-GCM-SHA384');
    const tls13 = await attempt(port, { servername: 'ciphers.example.com' });
    assert.equal(tls13.protocol, 'TLSv1.2', 'maxVersion VersionTLS12 caps the protocol');
  });

  await t.test('RequireAndVerifyClientCert refuses no certificate and another CA\'s, accepts one from caFiles; a Host with other options than the SNI gets 421', async () => {
    assert.equal((await attempt(port, { servername: 'mtls.example.com' })).status, undefined);
    assert.equal((await attempt(port, { servername: 'mtls.example.com', ...client('ca2') })).status, undefined);
    assert.equal((await attempt(port, { servername: 'mtls.example.com', ...client('ca1') })).status, 200);
    // Domain fronting: a handshake as a host without client authentication cannot then ask for the mTLS host
    // (Traefik's SNI check answers 421); hosts sharing the handshake's option set stay reachable.
    const fronted = await attempt(port, { servername: 'a.example.com', hostHeader: 'mtls.example.com' });
    assert.equal(fronted.status, 421, JSON.stringify(fronted));
    assert.equal((await attempt(port, { hostHeader: 'mtls.example.com' })).status, 421, 'no SNI is the default option set too');
    assert.equal((await attempt(port, { servername: 'a.example.com', hostHeader: 'nocert.example.com' })).status, 200);
    assert.equal((await attempt(port, { servername: 'mtls.example.com', hostHeader: 'MTLS.example.com:8443', ...client('ca1') })).status, 200);
    assert.equal((await attempt(port, { servername: 'a.example.com' })).status, 200, 'other hosts ask for no certificate');
  });

  await t.test('VerifyClientCertIfGiven (CA inline) accepts no certificate, refuses an unverified one', async () => {
    assert.equal((await attempt(port, { servername: 'ifgiven.example.com' })).status, 200);
    assert.equal((await attempt(port, { servername: 'ifgiven.example.com', ...client('ca2') })).status, undefined);
    assert.equal((await attempt(port, { servername: 'ifgiven.example.com', ...client('ca1') })).status, 200);
  });

  await t.test('sniStrict refuses a name no certificate covers; without it the generated default certificate is served', async () => {
    const strict = await attempt(port, { servername: 'strict.example.com' });
    assert.equal(strict.status, undefined, `strict SNI served: ${JSON.stringify(strict)}`);
    const lax = await attempt(port, { servername: 'nocert.example.com' });
    assert.equal(lax.status, 200);
    assert.equal(lax.peerCN, 'TRAEFIK DEFAULT CERT');
    const known = await attempt(port, { servername: 'a.example.com' });
    assert.equal(known.peerCN, 'a.example.com');
  });

  await t.test('a broken option set disables only the routers that use it, with the error naming the field', async () => {
    const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string; status: string; error?: string[] }>;
    const byName = new Map(routers.map((r) => [r.name, r]));
    assert.equal(byName.get('bad@file')?.status, 'disabled');
    assert.match(String(byName.get('bad@file')?.error), /tls\.options\.bad@file\.cipherSuites\[0\]: invalid CipherSuite: TLS_NOT_A_SUITE/);
    assert.equal(byName.get('badca@file')?.status, 'disabled');
    assert.match(String(byName.get('badca@file')?.error), /tls\.options\.badca@file\.clientAuth\.caFiles\[0\]: cannot read/);
    assert.equal(byName.get('missing@file')?.status, 'disabled');
    assert.match(String(byName.get('missing@file')?.error), /unknown TLS options: nosuchoptions@file/);
    for (const name of ['plain@file', 'modern@file', 'ciphers@file', 'mtls@file', 'ifgiven@file', 'strict@file']) {
      assert.equal(byName.get(name)?.status, 'enabled', name);
    }
    // The disabled router's host still handshakes (default options) but nothing routes it.
    assert.equal((await attempt(port, { servername: 'bad.example.com' })).status, 404);
  });

  await t.test('a reload that changes options applies to new handshakes without restarting the listener', async () => {
    // A connection opened before the reload keeps being served on the same socket.
    const kept = tls.connect({ host: '127.0.0.1', port, servername: 'a.example.com', rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    await new Promise<void>((resolve, reject) => { kept.once('secureConnect', () => resolve()); kept.once('error', reject); });
    const ask = () => new Promise<string>((resolve, reject) => {
      let data = '';
      const onData = (chunk: Buffer) => {
        data += chunk.toString();
        if (/\r\n\r\n[\s\S]*"upstream"/.test(data)) { kept.off('data', onData); resolve(data); }
      };
      kept.on('data', onData);
      kept.once('error', reject);
      kept.write('GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n');
    });
    assert.match(await ask(), /^HTTP\/1\.1 200/);

    await writeAtomic(join(dir, 'dynamic.yml'), dynamicYaml(dir, upstream.url, '{ minVersion: VersionTLS13, sniStrict: true }'));
    await eventually(async () => {
      const old = await attempt(port, { servername: 'a.example.com', maxVersion: 'TLSv1.2' });
      assert.equal(old.status, undefined, 'TLS 1.2 is refused by the reloaded default options');
    });
    assert.equal(gw.addresses().websecure!.port, port);
    assert.equal((await attempt(port, { servername: 'a.example.com' })).status, 200);
    assert.equal((await attempt(port, { servername: 'nocert.example.com' })).status, undefined, 'default options are now sniStrict');
    assert.equal((await attempt(port, { servername: 'ciphers.example.com', maxVersion: 'TLSv1.2' })).status, 200, 'its own option set is unchanged');
    assert.match(await ask(), /^HTTP\/1\.1 200/, 'the connection from before the reload is still served');
    kept.destroy();
  });
});

test('option sets resolve Go names to OpenSSL ones and name the bad field', () => {
  const ok = resolveTlsOptions('x@file', { minVersion: 'VersionTLS12', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256'], curvePreferences: ['CurveP256', 'X25519'] }, ['http/1.1']);
  assert.equal(ok.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.equal(ok.ecdhCurve, 'P-256:X25519');
  assert.deepEqual(ok.alpnProtocols, ['http/1.1']);
  assert.throws(() => resolveTlsOptions('x@file', { curvePreferences: ['CurveP999'] }, ['http/1.1']), /tls\.options\.x@file\.curvePreferences\[0\]/);
  assert.throws(() => resolveTlsOptions('x@file', { clientAuth: { clientAuthType: 'RequireAndVerifyClientCert' } }, ['http/1.1']), /clientAuth\.clientAuthType: invalid clientAuthType: RequireAndVerifyClientCert, CAFiles is required/);
  assert.throws(() => resolveTlsOptions('x@file', { alpnProtocols: ['h2'] }, ['http/1.1']), /tls\.options\.x@file\.alpnProtocols/);
  assert.throws(() => resolveTlsOptions('x@file', { minVersion: 'VersionTLS13', maxVersion: 'VersionTLS12' }, ['http/1.1']), /maxVersion/);
});
