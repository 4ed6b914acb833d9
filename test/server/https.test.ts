/**
 * The HTTPS API (Consul's ports.https with tls.defaults): served beside or instead of plain HTTP, with the server's
 * certificate; with verify_incoming a client must present a certificate signed by ca_file, or the handshake fails
 * (Consul's tlsutil: VerifyIncoming sets tls.RequireAndVerifyClientCert on the HTTPS listener).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { HttpsOptions, RunningServer } from '../../src/server/options.ts';
import { createTestPki, type TestPki } from '../helpers/test-pki.ts';
import { tempDir } from '../helpers/server.ts';

const dir = tempDir('mg-https-');
let pki: TestPki;
const servers: RunningServer[] = [];
before(() => {
  pki = createTestPki(dir.path);
});
after(async () => {
  for (const s of servers) await s.close();
  dir.remove();
});

async function start(https: Omit<HttpsOptions, 'addr' | 'certFile' | 'keyFile'>, httpEnabled: boolean): Promise<RunningServer> {
  const server = await startServer(
    {
      dev: true,
      httpAddr: '127.0.0.1:0',
      nodeName: 'node-1',
      datacenter: 'dc1',
      httpEnabled,
      https: { addr: '127.0.0.1:0', certFile: pki.serverCert, keyFile: pki.serverKey, ...https },
    },
    silentLogger(),
  );
  servers.push(server);
  return server;
}

/** GET over HTTPS trusting the test CA, optionally presenting a client certificate; resolves status or rejects. */
function httpsGet(url: string, client?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      ca: readFileSync(pki.caFile),
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      agent: false,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTP and HTTPS both serve the API; the HTTPS certificate verifies against the CA', async () => {
  const server = await start({ caFile: pki.caFile, verifyIncoming: false }, true);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(server.httpsUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
  const plain = await fetch(`${server.url}/v1/status/leader`);
  assert.equal(plain.status, 200);
  await plain.arrayBuffer();
  const secure = await httpsGet(`${server.httpsUrl}/v1/status/leader`);
  assert.equal(secure.status, 200);
  assert.match(secure.body, /^"127\.0\.0\.1:\d+"$/);
  // A client that does not trust the CA refuses the server's certificate.
  await assert.rejects(fetch(`${server.httpsUrl}/v1/status/leader`), (err: Error) => /fetch failed/.test(err.message));
});

test('verify_incoming: without a client certificate, or with one from another CA, the handshake fails; with one it answers', async () => {
  const server = await start({ caFile: pki.caFile, verifyIncoming: true }, false);
  assert.equal(server.url, server.httpsUrl, 'with HTTP off, url is the HTTPS API');
  await assert.rejects(httpsGet(`${server.httpsUrl}/v1/status/leader`));
  await assert.rejects(httpsGet(`${server.httpsUrl}/v1/status/leader`, { cert: pki.rogueCert, key: pki.rogueKey }));
  const ok = await httpsGet(`${server.httpsUrl}/v1/kv/a`, { cert: pki.clientCert, key: pki.clientKey });
  assert.equal(ok.status, 404);
  const leader = await httpsGet(`${server.httpsUrl}/v1/status/leader`, { cert: pki.clientCert, key: pki.clientKey });
  assert.equal(leader.status, 200);
});

test('bad HTTPS settings fail the start with a configuration error naming the key', async () => {
  await assert.rejects(start({ verifyIncoming: true }, true), /verify_incoming is set for HTTPS but no ca_file/);
  await assert.rejects(
    startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n', datacenter: 'dc1', https: { addr: '127.0.0.1:0', certFile: `${dir.path}/nope.pem`, keyFile: pki.serverKey, verifyIncoming: false } }, silentLogger()),
    /tls: cannot read cert_file .*nope\.pem: ENOENT/,
  );
  await assert.rejects(
    startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n', datacenter: 'dc1', httpEnabled: false }, silentLogger()),
    /no API listener/,
  );
});
