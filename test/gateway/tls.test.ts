/**
 * TLS from files and entry point redirections: an entry point with `http.tls` serves HTTPS with the dynamic
 * `tls.certificates`, picks up replaced certificates on reload, and `web` redirects to it as Traefik's
 * `redirections.entryPoint` does. Certificates are made by openssl for the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { makeCertificate as makeTlsCertificate } from '../helpers/tls-fixture.ts';
import { eventually, get, startGateway, startUpstream, tempDir, writeAtomic } from './helpers.ts';

const makeCertificate = (dir: string, name: string, cn: string) => makeTlsCertificate(dir, name, { cn });

function peerCommonName(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.once('error', reject);
  });
}

test('HTTPS on an entry point with http.tls, certificates from files, reload of certificates, redirection from web', async () => {
  const dir = await tempDir();
  const upstream = await startUpstream('A');
  const first = makeCertificate(dir, 'first', 'secure.example.com');
  const second = makeCertificate(dir, 'second', 'secure.example.com');
  const dynamic = (cert: { certFile: string; keyFile: string }) => `
http:
  routers:
    secure:
      rule: Host(\`secure.example.com\`)
      entryPoints: [websecure]
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
tls:
  certificates:
    - certFile: "${cert.certFile}"
      keyFile: "${cert.keyFile}"
`;
  await writeFile(join(dir, 'dynamic.yml'), dynamic(first));
  await writeFile(join(dir, 'gateway.yml'), `
entryPoints:
  web:
    address: "127.0.0.1:0"
    http:
      redirections:
        entryPoint:
          to: websecure
          scheme: https
  websecure:
    address: "127.0.0.1:0"
    http:
      tls: {}
  traefik:
    address: "127.0.0.1:0"
providers:
  providersThrottleDuration: 20ms
  file:
    filename: dynamic.yml
api:
  insecure: true
`);
  const gw = await startGateway(join(dir, 'gateway.yml'));
  const port = gw.addresses().websecure!.port;
  const dispatcher = new Agent({ connect: { ca: await readFile(first.certFile, 'utf8'), servername: 'secure.example.com' } });
  try {
    const res = await request(`https://127.0.0.1:${port}/hello`, { dispatcher, headers: { host: 'secure.example.com' } });
    assert.equal(res.statusCode, 200);
    const body = (await res.body.json()) as { upstream: string; headers: Record<string, string> };
    assert.equal(body.upstream, 'A');
    assert.equal(body.headers['x-forwarded-proto'], 'https');

    const redirect = await get(`${gw.web}/path?q=1`, { host: 'secure.example.com' });
    assert.ok([301, 308].includes(redirect.status), `redirect status ${redirect.status}`);
    assert.match(String(redirect.headers.location), /^https:\/\/secure\.example\.com(:\d+)?\/path\?q=1$/);
    const routers = (await get(`${gw.admin}/api/http/routers`)).json() as Array<{ name: string; status: string }>;
    assert.equal(routers.find((r) => r.name === 'web-to-websecure@internal')?.status, 'enabled');

    // A replaced certificate is served after the reload, without a restart.
    const serial = (file: string) => execFileSync('openssl', ['x509', '-noout', '-serial', '-in', file]).toString().trim();
    assert.notEqual(serial(first.certFile), serial(second.certFile));
    await writeAtomic(join(dir, 'dynamic.yml'), dynamic(second));
    await eventually(async () => {
      const socketSerial = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, servername: 'secure.example.com', rejectUnauthorized: false }, () => {
          const s = socket.getPeerCertificate().serialNumber;
          socket.end();
          resolve(String(s));
        });
        socket.once('error', reject);
      });
      assert.equal(`serial=${socketSerial}`.toUpperCase(), serial(second.certFile).toUpperCase());
    });
    assert.equal(await peerCommonName(port, 'secure.example.com'), 'secure.example.com');
  } finally {
    await dispatcher.close();
    await gw.close();
    await upstream.close();
  }
});

test('an entry point without http.tls serves its TLS routers over HTTPS and its other routers over plain HTTP, on one port', async () => {
  const dir = await tempDir();
  const upstream = await startUpstream('A');
  const cert = makeCertificate(dir, 'mixed', 'secure.example.com');
  // Traefik's usual shape: `tls: {}` on the router, nothing TLS on the entry point.
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    secure:
      rule: Host(\`secure.example.com\`)
      service: app
      tls: {}
    plain:
      rule: Host(\`plain.example.com\`)
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
tls:
  certificates:
    - certFile: "${cert.certFile}"
      keyFile: "${cert.keyFile}"
`);
  await writeFile(join(dir, 'gateway.yml'), `
entryPoints:
  web:
    address: "127.0.0.1:0"
  traefik:
    address: "127.0.0.1:0"
providers:
  file:
    filename: dynamic.yml
`);
  const gw = await startGateway(join(dir, 'gateway.yml'));
  const dispatcher = new Agent({ connect: { ca: await readFile(cert.certFile, 'utf8'), servername: 'secure.example.com' } });
  try {
    const port = new URL(gw.web).port;
    const secure = await request(`https://127.0.0.1:${port}/x`, { dispatcher, headers: { host: 'secure.example.com' } });
    assert.equal(secure.statusCode, 200);
    const seen = (await secure.body.json()) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    // The TLS router is not reachable in clear text, and the plain router not over TLS (Traefik keeps them apart).
    assert.equal((await get(`http://127.0.0.1:${port}/x`, { host: 'secure.example.com' })).status, 404);
    const plain = await get(`http://127.0.0.1:${port}/x`, { host: 'plain.example.com' });
    assert.equal(plain.status, 200);
    assert.equal((plain.json() as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'http');
    const plainOverTls = await request(`https://127.0.0.1:${port}/x`, { dispatcher: new Agent({ connect: { rejectUnauthorized: false, servername: 'plain.example.com' } }), headers: { host: 'plain.example.com' } });
    await plainOverTls.body.dump();
    assert.equal(plainOverTls.statusCode, 404);
  } finally {
    await dispatcher.close();
    await gw.close();
    await upstream.close();
  }
});
