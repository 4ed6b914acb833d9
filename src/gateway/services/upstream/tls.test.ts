/**
 * HTTPS upstreams through a serversTransport: the pool verifies the server against `rootCAs` and `serverName`,
 * presents the transport's client certificate (mTLS to the upstream), and `insecureSkipVerify` turns only the
 * server verification off. Real TLS on loopback with certificates made by openssl for the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ServersTransport } from '../transport.ts';
import { serversTransportSchema } from '../schema.ts';
import type { UpstreamPool } from './pool.ts';

function certificates(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshgate-upstream-tls-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=upstream-test-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=upstream.internal', '-addext', 'subjectAltName=DNS:upstream.internal');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-copy_extensions', 'copy');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=gateway.client');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2');
  return dir;
}

function get(pool: UpstreamPool): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    pool.dispatch({ method: 'GET', path: '/who', headers: [], body: null, upgrade: null }, {
      onResponseStart(_c, s) { status = s; },
      onResponseData(_c, chunk) { chunks.push(Buffer.from(chunk)); },
      onResponseEnd() { resolve({ status, body: Buffer.concat(chunks).toString() }); },
      onResponseError(_c, err) { reject(err); },
    });
  });
}

test('HTTPS upstream: rootCAs and serverName verify the server, the client certificate is presented, insecureSkipVerify only skips verification', async () => {
  const dir = certificates();
  const file = (name: string) => join(dir, name);
  const server = createServer({
    key: readFileSync(file('server.key')), cert: readFileSync(file('server.crt')), ca: readFileSync(file('ca.crt')),
    requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    res.end(`client=${peer.subject?.CN ?? 'none'}`);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientCert = [{ certFile: file('client.crt'), keyFile: file('client.key') }];
  const transport = (config: Record<string, unknown>) => new ServersTransport('t', serversTransportSchema.parse(config));
  const transports: ServersTransport[] = [];
  const make = (config: Record<string, unknown>) => {
    const t = transport(config);
    transports.push(t);
    return t.pool(origin);
  };
  try {
    const verified = make({ rootCAs: [file('ca.crt')], serverName: 'upstream.internal', certificates: clientCert });
    assert.deepEqual(await get(verified), { status: 200, body: 'client=gateway.client' });

    // The server's certificate is not for 127.0.0.1: without serverName the name check fails.
    await assert.rejects(get(make({ rootCAs: [file('ca.crt')], certificates: clientCert })), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      return true;
    });
    // An unknown CA is refused.
    await assert.rejects(get(make({ serverName: 'upstream.internal', certificates: clientCert })), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code), /UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
      return true;
    });
    // insecureSkipVerify skips the server's verification but still presents the client certificate.
    assert.deepEqual(await get(make({ insecureSkipVerify: true, certificates: clientCert })), { status: 200, body: 'client=gateway.client' });
    // Without a client certificate the upstream (which requires one) refuses the handshake.
    await assert.rejects(get(make({ insecureSkipVerify: true })));
  } finally {
    await Promise.all(transports.map((t) => t.close(10)));
    server.closeAllConnections();
    server.close();
  }
});
