/**
 * Traefik v3.7's "ACME Default Certificate" (routing-configuration/http/tls/tls-certificates.md): the snippet
 * tls-certificates.07.yaml, unchanged, in a file provider directory makes the resolver `myresolver` order a
 * certificate for example.org with the SANs foo.example.org and bar.example.org from Debian's pebble on loopback, and
 * that certificate becomes the default store's default certificate — served to a ClientHello whose server name no
 * certificate matches, and to one without a server name — instead of the generated TRAEFIK DEFAULT CERT.
 * Traefik: pkg/provider/acme provider.go (a store's defaultGeneratedCert naming this resolver is resolved like a
 * router's domains) and pkg/tls tlsmanager.go getDefaultCertificate (the store's certificate for those domains, else
 * the generated one).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { createLogger, silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { runGateway, type GatewayHandle } from '../../src/gateway/main.ts';
import { freePort } from '../helpers/server.ts';
import { certificateServed, pebbleInstalled, startPebble, type Pebble } from '../helpers/pebble.ts';
import { startUpstream, tempDir, type Upstream } from './helpers.ts';

const skip = pebbleInstalled() ? false : 'pebble is not installed (scripts/install-test-deps.sh)';
const SNIPPET = 'tls-certificates.07.yaml';
const sansOf = (cert: PeerCertificate) => (cert.subjectaltname ?? '').split(', ').sort();
const EXPECTED_SANS = ['DNS:bar.example.org', 'DNS:example.org', 'DNS:foo.example.org'];

/**
 * The certificate shown for `servername` (none: no SNI), its chain verified against `root`; the name is left to the
 * caller — a default certificate does not carry the name asked for.
 */
function served(port: number, root: string, servername?: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: root, checkServerIdentity: () => undefined, ...(servername ? { servername } : {}) }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}

describe('tls.stores.default.defaultGeneratedCert: the default certificate from an ACME resolver (pebble)', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let pebble: Pebble;
  let root: string;
  let upstream: Upstream;
  let gateway: GatewayHandle;
  let tlsPort: number;

  before(async () => {
    dir = await tempDir('mg-acme-default-');
    const httpPort = await freePort();
    tlsPort = await freePort();
    pebble = await startPebble(dir, { httpPort, tlsPort });
    root = await pebble.rootPem();
    upstream = await startUpstream('app');
    const dynamic = join(dir, 'dynamic');
    await mkdir(dynamic);
    writeFileSync(join(dynamic, SNIPPET), readFileSync(new URL(`./fixtures/traefik-docs/${SNIPPET}`, import.meta.url), 'utf8'));
    // A TLS router whose host has no certificate of its own: it is answered with the store's default certificate.
    writeFileSync(join(dynamic, 'routers.yml'), `http:
  routers:
    app:
      rule: "Host(\`app.example.test\`)"
      entryPoints: [websecure]
      service: app
      tls: {}
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
`);
    const config = join(dir, 'static.yml');
    writeFileSync(config, `entryPoints:
  web:
    address: "127.0.0.1:${httpPort}"
  websecure:
    address: "127.0.0.1:${tlsPort}"
providers:
  providersThrottleDuration: 20ms
  file:
    directory: "${dynamic}"
certificatesResolvers:
  myresolver:
    acme:
      email: ops@example.test
      caServer: "${pebble.directory}"
      caCertificates: ["${pebble.listenerCaFile}"]
      storage: "${join(dir, 'acme.json')}"
      keyType: EC256
      httpChallenge:
        entryPoint: web
`);
    gateway = await runGateway({ configFile: config, workers: 1, handleSignals: false, lastGoodFile: false, logger: process.env.ACME_DEBUG ? createLogger({ name: 'gw', level: 'debug' }) : silentLogger() });
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await pebble?.stop();
  });

  it('orders example.org + foo/bar.example.org and serves it as the default certificate, for an unmatched SNI and for none', async () => {
    // Until issued, the generated TRAEFIK DEFAULT CERT answers (not signed by pebble: refused by this client).
    const unmatched = await waitFor(async () => {
      const cert = await served(tlsPort, root, 'app.example.test').catch(() => undefined);
      return cert !== undefined && sansOf(cert).includes('DNS:example.org') ? cert : undefined;
    }, 'the ACME default certificate for an unmatched server name', { deadlineMs: 60_000, intervalMs: 100 });
    assert.deepEqual(sansOf(unmatched), EXPECTED_SANS);
    assert.deepEqual(sansOf(await served(tlsPort, root)), EXPECTED_SANS, 'no server name');
    // The certificate also serves its own names by SNI, as any certificate of the store.
    assert.deepEqual(sansOf(await certificateServed(tlsPort, 'foo.example.org', root)), EXPECTED_SANS);
    // Stored as Traefik's ACME provider stores it: under the resolver, with the snippet's domain.
    const stored = await waitFor(() => {
      const json = JSON.parse(readFileSync(join(dir, 'acme.json'), 'utf8')) as { myresolver?: { Certificates?: Array<{ domain: unknown }> } };
      return json.myresolver?.Certificates?.length ? json.myresolver.Certificates : undefined;
    }, 'acme.json to hold the certificate');
    assert.deepEqual(stored.map((c) => c.domain), [{ main: 'example.org', sans: ['foo.example.org', 'bar.example.org'] }]);
    assert.equal(pebble.orders(), 1, 'one order');
  });
});
