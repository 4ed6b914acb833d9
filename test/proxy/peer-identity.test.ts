/**
 * Who may open a connection to a sidecar's public listener: only a client whose certificate chains to a current
 * Connect CA root, is within its validity, and names one service in the cluster's trust domain (Consul's built-in
 * proxy: connect/tls.go verifyServerCertMatchesURI / the ClientCAs pool; Envoy: the DownstreamTlsContext with
 * require_client_certificate and the SPIFFE validator). The test crafts certificates with @peculiar/x509 — including
 * ones signed with the real root's key, read from the server's SQLite file, so that expiry and trust domain are the
 * only things wrong with them; a valid certificate made the same way connects, which proves the harness itself works.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createRoot, generateSigningKey, importSigningKey, privateKeyPem, signLeaf, type PrivateKeyType, type SigningKey } from '../../src/server/connect-ca/crypto.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningProxy } from '../../src/proxy/proxy.ts';
import { allow, registerSidecar, runProxy, startMesh, startTcpApp, type Mesh } from './helpers.ts';

let mesh: Mesh;
let proxy: RunningProxy;
let trustDomain: string;
let rootPem: string;
let rootKey: SigningKey;

before(async () => {
  mesh = await startMesh();
  const app = await startTcpApp(mesh, 'db');
  const db = await registerSidecar(mesh, { service: 'db', appPort: app });
  await allow(mesh, 'web', 'db');
  proxy = await runProxy(mesh, db.proxyId);
  trustDomain = (await mesh.client.connect.caRoots()).value.TrustDomain;
  // The active root's key, as the server stores it (state.db, table connect-ca).
  const db3 = new DatabaseSync(join(mesh.dataDir, 'state.db'), { readOnly: true });
  type StoredRoot = { Active: boolean; RootCert: string; PrivateKey: string; PrivateKeyType: PrivateKeyType; PrivateKeyBits: number };
  const row = db3.prepare(`SELECT value FROM rows WHERE tbl = 'connect-ca' AND key LIKE 'root/%'`).all()
    .map((r) => JSON.parse(String((r as { value: string }).value)) as StoredRoot)
    .find((r) => r.Active)!;
  db3.close();
  rootPem = row.RootCert;
  rootKey = await importSigningKey(row.PrivateKey, row.PrivateKeyType, row.PrivateKeyBits);
});

after(async () => {
  await mesh?.close();
});

const webUri = (td: string): string => `spiffe://${td}/ns/default/dc/dc1/svc/web`;
const HOUR = 3_600_000;

/** Connects to the public listener with the given client certificate, sends "ping", reports what came back. */
function tryConnect(cert?: { certPem: string; keyPem: string }): Promise<{ data: string; error?: string }> {
  return new Promise((resolve) => {
    let data = '';
    const socket = tlsConnect({
      host: '127.0.0.1', port: proxy.publicAddress.port, ca: [rootPem], checkServerIdentity: () => undefined,
      ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data, error: 'no answer' });
    }, 5000);
    socket.on('secureConnect', () => socket.write('ping'));
    socket.on('data', (d) => {
      data += d.toString();
      clearTimeout(timer);
      socket.destroy();
      resolve({ data });
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      resolve({ data, error: err.message });
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, error: data ? undefined : 'closed' });
    });
  });
}

async function leafFromRealRoot(uri: string, opts: { now?: Date; ttlMs?: number } = {}): Promise<{ certPem: string; keyPem: string }> {
  const leaf = await signLeaf({ certPem: rootPem, key: rootKey }, { commonName: 'web', spiffeUri: uri, ttlMs: opts.ttlMs ?? HOUR, ...(opts.now ? { now: opts.now } : {}) });
  return { certPem: leaf.pem, keyPem: leaf.privateKeyPem };
}

test('control: a valid leaf for web, made the same way as the bad ones below, reaches the app', async () => {
  const r = await waitFor(async () => {
    const x = await tryConnect(await leafFromRealRoot(webUri(trustDomain)));
    return x.data ? x : undefined;
  }, 'a valid leaf to connect');
  assert.equal(r.data, 'db:ping');
});

test('a client without a certificate cannot connect', async () => {
  const r = await tryConnect();
  assert.equal(r.data, '');
  assert.ok(r.error);
});

test('a self-signed certificate naming web in the right trust domain cannot connect', async () => {
  const key = await generateSigningKey('ec', 256);
  const ownCa = await createRoot(key, { trustDomain, ttlMs: HOUR });
  const leaf = await signLeaf({ certPem: ownCa.pem, key }, { commonName: 'web', spiffeUri: webUri(trustDomain), ttlMs: HOUR });
  const selfSigned = { certPem: ownCa.pem, keyPem: privateKeyPem(key) };
  for (const cert of [selfSigned, { certPem: leaf.pem, keyPem: leaf.privateKeyPem }]) {
    const r = await tryConnect(cert);
    assert.equal(r.data, '');
    assert.ok(r.error);
  }
});

test('a certificate of another trust domain cannot connect, even signed by the real root', async () => {
  const foreignKey = await generateSigningKey('ec', 256);
  const foreignCa = await createRoot(foreignKey, { trustDomain: 'evil.consul', ttlMs: HOUR });
  const foreign = await signLeaf({ certPem: foreignCa.pem, key: foreignKey }, { commonName: 'web', spiffeUri: webUri('evil.consul'), ttlMs: HOUR });
  const r1 = await tryConnect({ certPem: foreign.pem, keyPem: foreign.privateKeyPem });
  assert.equal(r1.data, '');
  // The chain verifies here; only the SPIFFE ID's trust domain is wrong, and the proxy refuses it.
  const r2 = await tryConnect(await leafFromRealRoot(webUri('evil.consul')));
  assert.equal(r2.data, '');
  assert.ok(r2.error);
});

test('an expired leaf signed by the real root cannot connect', async () => {
  const r = await tryConnect(await leafFromRealRoot(webUri(trustDomain), { now: new Date(Date.now() - 3 * HOUR), ttlMs: HOUR }));
  assert.equal(r.data, '');
  assert.ok(r.error);
});

test('refused handshakes and identities are counted as TLS failures', async () => {
  const text = await proxy.metrics.registry.getSingleMetricAsString('meshgate_proxy_tls_failures_total');
  const total = [...text.matchAll(/direction="inbound"[^}]*} (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
  assert.ok(total >= 4, text);
});
