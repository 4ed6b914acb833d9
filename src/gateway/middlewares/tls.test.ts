import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import './index.ts';
import { build, echoHandler } from './testing.ts';
import { NodeResponseWriter, createRequestAdapter } from '../http/response-writer.ts';
import { IpSet } from '../../lib/ip/checker.ts';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

test('passTLSClientCert forwards the client certificate and its info over a real mTLS connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mtls-'));
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/C=FR/O=Meshgate CA/CN=test-ca');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/C=FR/ST=Occitanie/L=Toulouse/O=Acme/OU=Dev/CN=client.example', '-addext', 'subjectAltName=DNS:client.example,email:dev@example.com');
  openssl(dir, 'x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2', '-copy_extensions', 'copy');
  const read = (f: string) => readFileSync(join(dir, f));

  const handler = build('passTLSClientCert', { pem: true, info: { notAfter: true, sans: true, subject: { commonName: true, organization: true, country: true }, issuer: { commonName: true } } })(echoHandler);
  const adapt = createRequestAdapter({ entryPoint: 'websecure', tls: true, trustedIPs: new IpSet([]), insecure: false, serverName: 'test' });
  const server = createServer({ key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    void handler(adapt(req), new NodeResponseWriter(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const dispatcher = new Agent({ connect: { ca: read('ca.crt'), cert: read('client.crt'), key: read('client.key'), rejectUnauthorized: false } });
  try {
    const res = await request(url, { dispatcher, headers: { 'x-forwarded-tls-client-cert': 'spoofed' } });
    const body = (await res.body.json()) as { headers: Record<string, string> };
    const der = Buffer.from(decodeURIComponent(body.headers['x-forwarded-tls-client-cert']!).split(',')[0]!, 'base64');
    const clientPem = read('client.crt').toString();
    const expectedDer = Buffer.from(clientPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    assert.ok(der.equals(expectedDer), 'the leaf certificate is forwarded as base64 DER');
    const info = decodeURIComponent(body.headers['x-forwarded-tls-client-cert-info']!);
    assert.match(info, /^Subject="C=FR,O=Acme,CN=client\.example";Issuer="CN=test-ca";NA="\d+";SAN="client\.example,dev@example\.com"/);

    const anonymous = new Agent({ connect: { ca: read('ca.crt'), rejectUnauthorized: false } });
    const none = await request(url, { dispatcher: anonymous, headers: { 'x-forwarded-tls-client-cert': 'spoofed' } });
    const noneBody = (await none.body.json()) as { headers: Record<string, string> };
    assert.equal(noneBody.headers['x-forwarded-tls-client-cert'], undefined, 'spoofed header removed');
    await anonymous.close();
  } finally {
    await dispatcher.close();
    server.closeAllConnections();
    server.close();
  }
});
