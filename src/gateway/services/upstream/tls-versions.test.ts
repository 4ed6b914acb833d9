/**
 * Traefik v3.7 serversTransport `minVersion`, `maxVersion` and `cipherSuites` (the Go names of tls.options), checked
 * against real HTTPS upstreams that accept only one protocol version or one TLS 1.2 suite: the handshake succeeds
 * only when the transport offers what the server takes, and the server sees the suite and version it was offered.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket, SecureVersion } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { buildServices, startGateway } from '../testing.ts';
import { TransportRegistry } from '../transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshgate-transport-tls-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=upstream.internal',
  '-addext', 'subjectAltName=DNS:upstream.internal'], { cwd: dir, stdio: 'ignore' });
const key = readFileSync(join(dir, 'key.pem'));
const cert = readFileSync(join(dir, 'cert.pem'));

async function upstream(options: { minVersion?: SecureVersion; maxVersion?: SecureVersion; ciphers?: string }): Promise<{ url: string; server: Server }> {
  const server = createServer({ key, cert, ...options }, (req, res) => {
    const socket = req.socket as TLSSocket;
    res.end(`${socket.getProtocol()} ${socket.getCipher().name}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => { server.closeAllConnections(); server.close(); });
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function through(url: string, transport: Record<string, unknown>): Promise<{ status: number; body: string }> {
  const transports = new TransportRegistry({ t: { insecureSkipVerify: true, disableHTTP2: true, ...transport } });
  const svc = buildServices({ s: { loadBalancer: { servers: [{ url }], serversTransport: 't' } } }, { transports });
  const gw = await startGateway(svc.get('s').handler);
  try {
    const res = await request(gw.url);
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    svc.close();
    await gw.close();
    await transports.close();
  }
}

test('serversTransport cipherSuites: only an offered suite the server accepts completes the handshake', async () => {
  const only = await upstream({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
  const wrong = await through(only.url, { maxVersion: 'VersionTLS12', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'] });
  assert.equal(wrong.status, 502);
  const right = await through(only.url, { maxVersion: 'VersionTLS12', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] });
  assert.equal(right.status, 200);
  assert.equal(right.body, 'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256');
});

test('serversTransport minVersion/maxVersion bound the protocol offered to the server', async () => {
  const tls13 = await upstream({ minVersion: 'TLSv1.3' });
  assert.equal((await through(tls13.url, { maxVersion: 'VersionTLS12' })).status, 502);
  assert.match((await through(tls13.url, { minVersion: 'VersionTLS13' })).body, /^TLSv1\.3 /);
  const tls12 = await upstream({ maxVersion: 'TLSv1.2' });
  assert.equal((await through(tls12.url, { minVersion: 'VersionTLS13' })).status, 502);
  assert.match((await through(tls12.url, { maxVersion: 'VersionTLS12' })).body, /^TLSv1\.2 /);
});

test('serversTransport cipherSuites: a name Go does not know is refused, naming the field', () => {
  assert.throws(() => new TransportRegistry({ bad: { cipherSuites: ['TLS_NOT_A_SUITE'] } }), /http\.serversTransports\.bad\.cipherSuites\[0\]: invalid CipherSuite/);
});
