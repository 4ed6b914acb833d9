/**
 * The Connect CA through the HTTP API of a real server: roots and configuration in Consul's shapes
 * (agent/connect_ca_endpoint.go, api/connect_ca.go), leaves with the SPIFFE URI SAN of agent/connect/uri_service.go
 * that verify with Node's X509Certificate, `openssl verify` and a real mTLS handshake, renewal before expiry seen by a
 * blocking query (agent/leafcert's soft expiry between 60 % and 90 % of the lifetime), and a root rotation by cross-
 * signing (ConsulProvider.CrossSignCA): both roots listed, old and new leaves both verify, then only the new root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { eventually } from '../helpers/server.ts';

interface Leaf {
  SerialNumber: string; CertPEM: string; PrivateKeyPEM: string; Service: string; ServiceURI: string;
  ValidAfter: string; ValidBefore: string; ModifyIndex: number;
}
interface Root { ID: string; RootCert: string; IntermediateCerts: string[]; Active: boolean; SigningKeyID: string; PrivateKeyType: string }
interface Roots { ActiveRootID: string; TrustDomain: string; Roots: Root[] }

let server: RunningServer;
let url: string;
const work = mkdtempSync(join(tmpdir(), 'meshgate-ca-'));

before(async () => {
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', connectCa: { minLeafCertTtlMs: 1_000 } }, silentLogger());
  url = server.url;
});
after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

async function json<T>(path: string, init?: RequestInit): Promise<{ status: number; index: number; body: T }> {
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  return { status: res.status, index: Number(res.headers.get('x-consul-index')), body: (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
}

function opensslVerify(rootsPem: string[], leafPem: string, intermediates: string[] = []): string {
  const caFile = join(work, `ca-${Math.random()}.pem`);
  const leafFile = join(work, `leaf-${Math.random()}.pem`);
  writeFileSync(caFile, rootsPem.join('\n'));
  writeFileSync(leafFile, leafPem);
  const args = ['verify', '-CAfile', caFile];
  if (intermediates.length > 0) {
    const untrusted = join(work, `int-${Math.random()}.pem`);
    writeFileSync(untrusted, intermediates.join('\n'));
    args.push('-untrusted', untrusted);
  }
  try {
    return execFileSync('openssl', [...args, leafFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return `failed: ${String((err as { stderr?: string }).stderr ?? err)}`;
  }
}

/** A real mutual-TLS handshake between two leaves: the server trusts `serverTrust`, the client `clientTrust`. */
type Holder = { leaf: Leaf; chain?: string[] };
type Handshake = { ok: boolean; peerUri?: string; error?: string };
async function mtls(server: Holder, client: Holder, serverTrust: string[], clientTrust: string[]): Promise<Handshake> {
  const tlsServer = createServer({
    cert: [server.leaf.CertPEM, ...(server.chain ?? [])].join('\n'), key: server.leaf.PrivateKeyPEM, ca: serverTrust, requestCert: true, rejectUnauthorized: true,
  }, (socket) => {
    const peer = socket.getPeerX509Certificate();
    socket.end(peer?.subjectAltName ?? '');
  });
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
  const port = (tlsServer.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const socket: TLSSocket = connect({
        port, host: '127.0.0.1', cert: [client.leaf.CertPEM, ...(client.chain ?? [])].join('\n'), key: client.leaf.PrivateKeyPEM, ca: clientTrust,
        // Connect identities are SPIFFE URIs, not host names: verify the chain, then the URI SAN.
        checkServerIdentity: () => undefined,
      });
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.on('end', () => resolve({ ok: true, peerUri: data }));
      socket.on('error', (err) => resolve({ ok: false, error: err.message }));
    });
  } finally {
    tlsServer.close();
  }
}

test('roots and configuration answer in Consul\'s shapes; no private key leaves the server', async () => {
  const roots = await json<Roots>('/v1/connect/ca/roots');
  assert.equal(roots.status, 200);
  assert.ok(roots.index > 0);
  assert.match(roots.body.TrustDomain, /^[0-9a-f-]{36}\.consul$/);
  assert.equal(roots.body.Roots.length, 1);
  const root = roots.body.Roots[0]!;
  assert.equal(root.ID, roots.body.ActiveRootID);
  assert.equal(root.Active, true);
  assert.equal(root.PrivateKeyType, 'ec');
  assert.match(root.SigningKeyID, /^([0-9a-f]{2}:)+[0-9a-f]{2}$/);
  const cert = new X509Certificate(root.RootCert);
  assert.equal(cert.ca, true);
  assert.equal(cert.subjectAltName, `URI:spiffe://${roots.body.TrustDomain}`);
  const raw = await (await fetch(`${url}/v1/connect/ca/roots`)).text();
  assert.doesNotMatch(raw, /PRIVATE KEY/);
  assert.deepEqual(await json('/v1/agent/connect/ca/roots').then((r) => r.body), roots.body);
  const pem = await fetch(`${url}/v1/connect/ca/roots?pem=true`);
  assert.equal(pem.headers.get('content-type'), 'application/pem-certificate-chain');
  assert.equal((await pem.text()).trim(), root.RootCert.trim());

  const config = await json<{ Provider: string; ClusterID: string; Config: Record<string, unknown> }>('/v1/connect/ca/configuration');
  assert.equal(config.body.Provider, 'consul');
  assert.equal(`${config.body.ClusterID}.consul`, roots.body.TrustDomain);
  assert.deepEqual(config.body.Config, { LeafCertTTL: '72h', RootCertTTL: '87600h', IntermediateCertTTL: '8760h', PrivateKeyType: 'ec', PrivateKeyBits: 256 });
});

test('bad CA configurations are refused with the field named, and nothing changes', async () => {
  const before = await json<Roots>('/v1/connect/ca/roots');
  for (const [body, pattern] of [
    [{ Provider: 'vault' }, /Provider/],
    [{ Config: { PrivateKeyType: 'dsa' } }, /PrivateKeyType/],
    [{ Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 1024 } }, /RSA key length/],
    [{ Config: { LeafCertTTL: '10ms' } }, /leaf cert TTL must be greater/],
    [{ Config: { LeafCertTTL: 'soon' } }, /LeafCertTTL/],
    [{ Config: { LeafCertTTL: '72h', RootCertTTL: '1h' } }, /root cert TTL/],
    ['not an object', /JSON object/],
  ] as const) {
    const res = await fetch(`${url}/v1/connect/ca/configuration`, { method: 'PUT', body: JSON.stringify(body) });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.match(await res.text(), pattern);
  }
  assert.deepEqual((await json<Roots>('/v1/connect/ca/roots')).body, before.body);
});

test('a leaf carries the SPIFFE ID, verifies with X509Certificate, openssl and a real mTLS handshake', async () => {
  const roots = (await json<Roots>('/v1/connect/ca/roots')).body;
  const web = (await json<Leaf>('/v1/agent/connect/ca/leaf/web')).body;
  const api = (await json<Leaf>('/v1/agent/connect/ca/leaf/api')).body;
  const uri = `spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/web`;
  assert.equal(web.ServiceURI, uri);
  assert.equal(web.Service, 'web');
  const cert = new X509Certificate(web.CertPEM);
  assert.match(cert.subjectAltName ?? '', new RegExp(`URI:${uri.replace(/[/.]/g, '\\$&')}`));
  assert.equal(cert.subject, 'CN=web');
  assert.equal(cert.ca, false);
  assert.ok(cert.verify(new X509Certificate(roots.Roots[0]!.RootCert).publicKey));
  assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(web.PrivateKeyPEM)));
  // Valid from a minute before issue (clock drift, as Consul) to the full LeafCertTTL after it.
  const lifetime = Date.parse(web.ValidBefore) - Date.parse(web.ValidAfter);
  assert.equal(lifetime, 72 * 3_600_000 + 60_000);
  assert.match(opensslVerify([roots.Roots[0]!.RootCert], web.CertPEM), /: OK$/);

  const handshake = await mtls({ leaf: web }, { leaf: api }, [roots.Roots[0]!.RootCert], [roots.Roots[0]!.RootCert]);
  assert.equal(handshake.ok, true, handshake.error);
  assert.equal(handshake.peerUri?.split(', ')[0], `URI:spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/api`);

  // The same leaf again (not yet due for renewal), and a foreign CA's leaf is refused by the handshake.
  assert.equal((await json<Leaf>('/v1/agent/connect/ca/leaf/web')).body.SerialNumber, web.SerialNumber);
  const foreign = await mtls({ leaf: web }, { leaf: api }, [roots.Roots[0]!.RootCert], [(await generateForeignRoot())]);
  assert.equal(foreign.ok, false);
});

async function generateForeignRoot(): Promise<string> {
  const { generateSigningKey, createRoot } = await import('../../src/server/connect-ca/crypto.ts');
  return (await createRoot(await generateSigningKey('ec', 256), { trustDomain: 'other.consul', ttlMs: 3_600_000 })).pem;
}

test('a blocking query on a leaf hands out the renewed certificate before the old one expires', async () => {
  const set = await fetch(`${url}/v1/connect/ca/configuration`, { method: 'PUT', body: JSON.stringify({ Config: { LeafCertTTL: '10s' } }) });
  assert.equal(set.status, 200, await set.text());
  // Leaves issued under the old TTL stay until their soft expiry; a new service gets the short one.
  const first = await json<Leaf>('/v1/agent/connect/ca/leaf/renewing');
  const validBefore = Date.parse(first.body.ValidBefore);
  assert.equal(validBefore - Date.parse(first.body.ValidAfter), 10_000 + 60_000);
  const next = await json<Leaf>(`/v1/agent/connect/ca/leaf/renewing?index=${first.index}&wait=30s`);
  assert.notEqual(next.body.SerialNumber, first.body.SerialNumber);
  assert.ok(next.index > first.index);
  // Renewed between 60 % and 90 % of the TTL after issue, so before the old one expired.
  assert.ok(Date.now() < validBefore, 'renewal arrived after the old leaf expired');
  assert.ok(Date.parse(next.body.ValidBefore) > validBefore);
});

test('root rotation cross-signs: both roots listed, old and new leaves verify, then only the new root remains', async () => {
  const longer = await fetch(`${url}/v1/connect/ca/configuration`, { method: 'PUT', body: JSON.stringify({ Config: { LeafCertTTL: '1h' } }) });
  assert.equal(longer.status, 200);
  const before = (await json<Roots>('/v1/connect/ca/roots')).body;
  assert.equal(before.Roots.length, 1, 'a key-preserving change rotated the root');
  const oldRoot = before.Roots.find((r) => r.Active)!;
  const oldLeaf = (await json<Leaf>('/v1/agent/connect/ca/leaf/rotating')).body;
  const leafIndex = (await json<Leaf>('/v1/agent/connect/ca/leaf/rotating')).index;

  const set = await fetch(`${url}/v1/connect/ca/configuration`, { method: 'PUT', body: JSON.stringify({ Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048, LeafCertTTL: '12s' } }) });
  assert.equal(set.status, 200, await set.text());
  const during = (await json<Roots>('/v1/connect/ca/roots')).body;
  assert.equal(during.Roots.length, 2);
  assert.equal(during.TrustDomain, before.TrustDomain);
  const newRoot = during.Roots.find((r) => r.Active)!;
  assert.notEqual(newRoot.ID, oldRoot.ID);
  assert.equal(newRoot.PrivateKeyType, 'rsa');
  assert.equal(during.ActiveRootID, newRoot.ID);
  assert.equal(newRoot.IntermediateCerts.length, 1);
  const crossSigned = new X509Certificate(newRoot.IntermediateCerts[0]!);
  assert.ok(crossSigned.verify(new X509Certificate(oldRoot.RootCert).publicKey), 'cross-signed root not signed by the old root');
  assert.equal(crossSigned.subject, new X509Certificate(newRoot.RootCert).subject);

  // The holder's blocking query wakes with a leaf of the new root.
  const newLeaf = (await json<Leaf>(`/v1/agent/connect/ca/leaf/rotating?index=${leafIndex}&wait=30s`)).body;
  assert.notEqual(newLeaf.SerialNumber, oldLeaf.SerialNumber);
  assert.ok(new X509Certificate(newLeaf.CertPEM).verify(new X509Certificate(newRoot.RootCert).publicKey));
  const allRoots = during.Roots.map((r) => r.RootCert);
  assert.match(opensslVerify(allRoots, oldLeaf.CertPEM), /: OK$/);
  assert.match(opensslVerify(allRoots, newLeaf.CertPEM), /: OK$/);
  // A peer that only knows the old root still accepts the new leaf through the cross-signed intermediate.
  assert.match(opensslVerify([oldRoot.RootCert], newLeaf.CertPEM, newRoot.IntermediateCerts), /: OK$/);
  const oldToNew = await mtls({ leaf: newLeaf, chain: newRoot.IntermediateCerts }, { leaf: oldLeaf }, allRoots, [oldRoot.RootCert]);
  assert.equal(oldToNew.ok, true, oldToNew.error);
  const newToOld = await mtls({ leaf: oldLeaf }, { leaf: newLeaf }, [newRoot.RootCert], allRoots);
  assert.equal(newToOld.ok, true, newToOld.error);

  // Once nothing depends on it, the old root leaves the list and only the new root signs.
  const after = await eventually(async () => {
    const r = (await json<Roots>('/v1/connect/ca/roots')).body;
    return r.Roots.length === 1 ? r : undefined;
  }, 'the old root to be pruned', 30_000, 200);
  assert.equal(after!.Roots[0]!.ID, newRoot.ID);
  const later = (await json<Leaf>('/v1/agent/connect/ca/leaf/another')).body;
  assert.ok(new X509Certificate(later.CertPEM).verify(new X509Certificate(newRoot.RootCert).publicKey));
  assert.ok(!new X509Certificate(later.CertPEM).verify(new X509Certificate(oldRoot.RootCert).publicKey));
});
