/**
 * The mesh benchmark's nginx sidecar pair (peers/nginx-pair.ts) does the transport job it stands in for: run with
 * `node --test bench/mesh/nginx-pair.test.ts`. Leaves come from our Connect CA's own code (SPIFFE URI SAN, CN the
 * service), a node:http app counts what reaches it, and every client speaks through real sockets on 127.0.0.1.
 *
 * What the refusals rest on, in nginx: ngx_ssl_client_certificate / ngx_ssl_verify_callback set up by
 * `ssl_verify_client on` (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT), OpenSSL's chain and validity check
 * against `ssl_client_certificate` — nginx checks nothing in the URI SAN, which the last test pins down.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createRoot, generateSigningKey, privateKeyPem, signLeaf, type SigningKey } from '../../src/server/connect-ca/crypto.ts';
import { startNginxPair, verifyName, type Leaf, type NginxPair } from './peers/nginx-pair.ts';
import { freeListenPort } from './ports.ts';

const HOUR = 3_600_000;
const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul';
const uri = (service: string, trustDomain = TRUST_DOMAIN): string => `spiffe://${trustDomain}/ns/default/dc/dc1/svc/${service}`;

let dir: string;
let app: http.Server;
let appRequests = 0;
let pair: NginxPair;
let ports: { l4: number; l7: number; l4Mesh: number; l7Mesh: number };
let root: { certPem: string; key: SigningKey };

/** A leaf as our CA issues a service's: CN the service, the SPIFFE URI SAN and the `<svc>.svc.default.<td8>.consul` DNS SAN. */
async function leaf(service: string, opts: { trustDomain?: string; now?: Date; issuer?: { certPem: string; key: SigningKey } } = {}): Promise<Leaf> {
  const td = opts.trustDomain ?? TRUST_DOMAIN;
  const l = await signLeaf(opts.issuer ?? root, {
    commonName: service, spiffeUri: uri(service, td), dnsNames: [`${service}.svc.default.${td.slice(0, 8)}.consul`], ttlMs: HOUR,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { certPem: l.pem, keyPem: l.privateKeyPem };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meshgate-nginx-pair-'));
  app = http.createServer((_req, res) => {
    appRequests++;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 6 }).end('hello\n');
  });
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  const key = await generateSigningKey('ec', 256);
  root = { certPem: (await createRoot(key, { trustDomain: TRUST_DOMAIN, ttlMs: HOUR })).pem, key };
  ports = { l4: await freeListenPort(), l7: await freeListenPort(), l4Mesh: await freeListenPort(), l7Mesh: await freeListenPort() };
  const appLeaf = await leaf('app');
  pair = await startNginxPair({
    dir, appPort: (app.address() as AddressInfo).port, ports, caPem: root.certPem,
    client: await leaf('web'), server: { ...appLeaf, name: verifyName(appLeaf.certPem) },
  });
});

after(() => {
  pair?.stop();
  app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const GET = 'GET / HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n';

/** Sends one GET over plain TCP and returns what came back before the close. */
function plainGet(port: number): Promise<string> {
  return new Promise((done, reject) => {
    let data = '';
    const s = netConnect(port, '127.0.0.1', () => s.write(GET));
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.once('error', reject);
    s.once('close', () => done(data));
  });
}

/**
 * Speaks TLS 1.3 to one of the inbound side's mTLS ports, with or without a client certificate, sends one GET and
 * returns what came back and the error, if any. In TLS 1.3 the server judges the client certificate after the
 * client's handshake is done, so a refusal shows as an alert or a close after `secureConnect`, not before it.
 */
function mtlsGet(port: number, cert?: Leaf): Promise<{ data: string; error?: string }> {
  return new Promise((done) => {
    let data = '';
    let error: string | undefined;
    const s = tlsConnect({
      port, host: '127.0.0.1', ca: [root.certPem], servername: 'app', minVersion: 'TLSv1.3',
      ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}), checkServerIdentity: () => undefined,
    }, () => s.write(GET));
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.once('error', (e: Error) => (error = `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`));
    s.once('close', () => done({ data, ...(error ? { error } : {}) }));
  });
}

/**
 * How the inbound side said no: on the L4 port (ngx_stream_ssl_module) the connection ends with nothing relayed; on
 * the L7 port (ngx_http_ssl_module) nginx answers 400 itself (ngx_http_process_request's "No required SSL
 * certificate was sent" / "The SSL certificate error" pages). The app-side counters say nothing got through.
 */
function refusal(port: number, r: { data: string; error?: string }): string {
  if (port === ports.l4Mesh) return r.data === '' ? 'refused' : 'relayed';
  return /^HTTP\/1\.1 400 /.test(r.data) ? 'refused' : 'relayed';
}

test('through the pair, the L4 and the L7 rows reach the app', async () => {
  const before = appRequests;
  for (const port of [pair.l4Port, pair.l7Port]) {
    const answer = await plainGet(port);
    assert.match(answer, /^HTTP\/1\.1 200 /, `port ${port}: ${answer}`);
    assert.match(answer, /hello\n$/);
  }
  assert.equal(appRequests, before + 2);
});

test('control: a valid leaf of the CA, made like the refused ones below, is let through by the inbound side', async () => {
  for (const port of [ports.l4Mesh, ports.l7Mesh]) {
    const r = await mtlsGet(port, await leaf('web'));
    assert.match(r.data, /^HTTP\/1\.1 200 /, `port ${port}: ${JSON.stringify(r)}`);
  }
});

test('the inbound side refuses a client without a certificate, on both rows, before anything reaches the app', async () => {
  const before = appRequests;
  for (const port of [ports.l4Mesh, ports.l7Mesh]) {
    const r = await mtlsGet(port);
    // L4: the stream is closed with nothing relayed; L7: nginx answers 400 "No required SSL certificate was sent".
    assert.equal(refusal(port, r), 'refused', `port ${port}: ${JSON.stringify(r)}`);
  }
  assert.equal(appRequests, before);
});

test('the inbound side refuses a leaf of another CA and an expired leaf of the right CA', async () => {
  const otherKey = await generateSigningKey('ec', 256);
  const other = { certPem: (await createRoot(otherKey, { trustDomain: TRUST_DOMAIN, ttlMs: HOUR })).pem, key: otherKey };
  const refused: Array<[string, Leaf]> = [
    ['leaf of another CA', await leaf('web', { issuer: other })],
    ['that CA itself', { certPem: other.certPem, keyPem: privateKeyPem(otherKey) }],
    ['expired leaf', await leaf('web', { now: new Date(Date.now() - 3 * HOUR) })],
  ];
  const before = appRequests;
  for (const [what, cert] of refused) {
    for (const port of [ports.l4Mesh, ports.l7Mesh]) {
      const r = await mtlsGet(port, cert);
      assert.equal(refusal(port, r), 'refused', `${what}, port ${port}: ${JSON.stringify(r)}`);
    }
  }
  assert.equal(appRequests, before);
});

test('what nginx does not do: a leaf of the right CA naming another trust domain is let through (our sidecar refuses it: test/proxy/peer-identity.test.ts)', async () => {
  const r = await mtlsGet(ports.l7Mesh, await leaf('web', { trustDomain: 'evil.consul' }));
  assert.match(r.data, /^HTTP\/1\.1 200 /, JSON.stringify(r));
});
