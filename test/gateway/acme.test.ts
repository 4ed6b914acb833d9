/**
 * ACME certificates from Debian's pebble on loopback (test/helpers/pebble.ts), as Traefik's ACME provider gets them
 * (pkg/provider/acme provider.go, challenge_http.go, challenge_tls.go, local_store.go): an HTTP-01 resolver whose
 * challenge entry point is pebble's `httpPort`, a TLS-ALPN-01 resolver answered on pebble's `tlsPort`, both stored in
 * acme.json (Traefik's format, 0600); then Meshgate's shared KV storage: two gateway replicas on one account and one
 * certificate, one order, and a renewal seen by both. Each certificate is checked by a real TLS client that trusts
 * only pebble's root (`/roots/0`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createLogger, silentLogger } from '../../src/lib/logger.ts';
import { runGateway, type GatewayHandle } from '../../src/gateway/main.ts';
import { startTestServer, freePort } from '../helpers/server.ts';
import { certificateServed, pebbleInstalled, startPebble, type Pebble } from '../helpers/pebble.ts';
import { startUpstream, tempDir, writeAtomic, type Upstream } from './helpers.ts';
import type { RunningServer } from '../../src/server/options.ts';

const skip = pebbleInstalled() ? false : 'pebble is not installed (scripts/install-test-deps.sh)';

function httpsGet(port: number, host: string, root: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: host, headers: { host }, path: '/', ca: root }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function httpGet(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return fetch(`http://127.0.0.1:${port}${path}`, { headers: { host } }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

function staticYaml(opts: { web: string; websecure: string; dynamic: string; pebble: Pebble; storageDir: string; kv?: string; only?: 'kv' }): string {
  const resolver = (challenge: string, storage: string) => `
    acme:
      email: ops@example.test
      caServer: "${opts.pebble.directory}"
      caCertificates: ["${opts.pebble.listenerCaFile}"]
      storage: "${storage}"
      keyType: EC256
${challenge}`;
  const http = '      httpChallenge:\n        entryPoint: web';
  const resolvers = [
    ...(opts.only === 'kv' ? [] : [`  le:${resolver(http, join(opts.storageDir, 'acme.json'))}`, `  alpn:${resolver('      tlsChallenge: {}', join(opts.storageDir, 'acme.json'))}`]),
    ...(opts.kv ? [`  shared:${resolver(http, opts.kv)}`] : []),
  ];
  return `entryPoints:
  web:
    address: "${opts.web}"
  websecure:
    address: "${opts.websecure}"
providers:
  providersThrottleDuration: 20ms
  file:
    filename: "${opts.dynamic}"
certificatesResolvers:
${resolvers.join('\n')}
`;
}

function dynamicYaml(upstream: string, routers: Record<string, string>): string {
  return `http:
  routers:
    catchall:
      rule: "PathPrefix(\`/\`)"
      entryPoints: [web]
      service: app
${Object.entries(routers).map(([name, body]) => `    ${name}:\n      entryPoints: [websecure]\n      service: app\n${body}`).join('\n')}
  services:
    app:
      loadBalancer:
        servers:
          - url: "${upstream}"
`;
}

describe('ACME certificate resolvers against pebble', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let pebble: Pebble;
  let root: string;
  let upstream: Upstream;
  let server: RunningServer;
  let gateway: GatewayHandle;
  let replica: GatewayHandle | undefined;
  let tlsPort: number;
  let httpPort: number;
  let dynamic: string;
  let kv: string;
  let clockOffset = 0;
  const routers: Record<string, string> = {
    web: '      rule: "Host(`app.example.test`)"\n      tls:\n        certResolver: le',
    alpn: '      rule: "Host(`alpn.example.test`)"\n      tls:\n        certResolver: alpn\n        domains:\n          - main: alpn.example.test\n            sans: [www.alpn.example.test]',
  };

  before(async () => {
    dir = await tempDir('mg-acme-');
    [httpPort, tlsPort] = [await freePort(), await freePort()];
    // One hour: Traefik's renewal table gives such a certificate a 20-minute renew period (renewal.ts).
    pebble = await startPebble(dir, { httpPort, tlsPort, validitySeconds: 3600 });
    root = await pebble.rootPem();
    upstream = await startUpstream('app');
    server = await startTestServer();
    kv = `consul-kv://127.0.0.1:${server.port}/meshgate/acme`;
    dynamic = join(dir, 'dynamic.yml');
    writeFileSync(dynamic, dynamicYaml(upstream.url, routers));
    const config = join(dir, 'static.yml');
    writeFileSync(config, staticYaml({ web: `127.0.0.1:${httpPort}`, websecure: `127.0.0.1:${tlsPort}`, dynamic, pebble, storageDir: dir, kv }));
    gateway = await runGateway({ configFile: config, workers: 1, handleSignals: false, lastGoodFile: false, logger: process.env.ACME_DEBUG ? createLogger({ name: 'A', level: 'info' }) : silentLogger(), acmeClock: () => Date.now() + clockOffset });
  });

  after(async () => {
    await replica?.close();
    await gateway?.close();
    await server?.close();
    await upstream?.close();
    await pebble?.stop();
  });

  it('issues a certificate through http-01 and serves it by SNI at once, stored in acme.json as Traefik stores it', async () => {
    const cert = await certificateServed(tlsPort, 'app.example.test', root);
    assert.match(cert.subjectaltname ?? '', /DNS:app\.example\.test/);
    const res = await httpsGet(tlsPort, 'app.example.test', root);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).upstream, 'app');
    // local_store.go: one object keyed by resolver, written 0600.
    const file = join(dir, 'acme.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(stored.le.Account.Email, 'ops@example.test');
    assert.match(stored.le.Account.Registration.uri, /^https:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(stored.le.Account.KeyType, 'P256');
    assert.deepEqual(stored.le.Certificates.map((c: { domain: unknown }) => c.domain), [{ main: 'app.example.test' }]);
    assert.equal(stored.le.Certificates[0].Store, 'default');
    assert.match(Buffer.from(stored.le.Certificates[0].certificate, 'base64').toString(), /^-----BEGIN CERTIFICATE-----/);
  });

  it('answers /.well-known/acme-challenge/ before routing: an unknown token is a 404, not the catch-all router', async () => {
    assert.equal((await httpGet(httpPort, 'app.example.test', '/anything')).status, 200);
    const res = await httpGet(httpPort, 'app.example.test', '/.well-known/acme-challenge/not-a-token');
    assert.equal(res.status, 404);
  });

  it('issues a certificate through tls-alpn-01 for tls.domains (main and SANs)', async () => {
    const cert = await certificateServed(tlsPort, 'www.alpn.example.test', root);
    assert.match(cert.subjectaltname ?? '', /DNS:alpn\.example\.test/);
    assert.match(cert.subjectaltname ?? '', /DNS:www\.alpn\.example\.test/);
    const stored = JSON.parse(readFileSync(join(dir, 'acme.json'), 'utf8'));
    assert.deepEqual(stored.alpn.Certificates.map((c: { domain: unknown }) => c.domain), [{ main: 'alpn.example.test', sans: ['www.alpn.example.test'] }]);
    // Both resolvers share one file, each under its own name.
    assert.ok(stored.le.Certificates.length === 1);
  });

  it('two replicas on the KV storage order one certificate between them and serve the same one; a renewal reaches both', async () => {
    await certificateServed(tlsPort, 'app.example.test', root);
    await certificateServed(tlsPort, 'alpn.example.test', root);
    const before = pebble.orders();
    const replicaDynamic = join(dir, 'replica.yml');
    const shared = '      rule: "Host(`shared.example.test`)"\n      tls:\n        certResolver: shared';
    writeFileSync(replicaDynamic, dynamicYaml(upstream.url, { shared }));
    const replicaConfig = join(dir, 'replica-static.yml');
    // The replica's entry points are not the ones pebble dials: the CA reaches whichever replica it reaches.
    writeFileSync(replicaConfig, staticYaml({ web: '127.0.0.1:0', websecure: '127.0.0.1:0', dynamic: replicaDynamic, pebble, storageDir: dir, kv, only: 'kv' }));
    // Both ask at the same moment: the KV lock lets one order; the other adopts its certificate.
    const [started] = await Promise.all([
      runGateway({ configFile: replicaConfig, workers: 1, handleSignals: false, lastGoodFile: false, logger: process.env.ACME_DEBUG ? createLogger({ name: 'B', level: 'info' }) : silentLogger() }),
      writeAtomic(dynamic, dynamicYaml(upstream.url, { ...routers, shared })),
    ]);
    replica = started;
    const replicaPort = replica.addresses().websecure!.port;
    const first = await certificateServed(tlsPort, 'shared.example.test', root);
    const second = await certificateServed(replicaPort, 'shared.example.test', root);
    assert.equal(second.fingerprint256, first.fingerprint256);
    assert.equal(pebble.orders() - before, 1, 'one order for the name, not one per replica');
    const resolvers = [gateway.acme!.resolvers.get('shared')!, replica.acme!.resolvers.get('shared')!];
    assert.equal(resolvers[0]!.orders + resolvers[1]!.orders, 1);

    // Not due yet (an hour left, a 20-minute renew period): a check orders nothing.
    await resolvers[0]!.checkRenewals();
    assert.equal(pebble.orders() - before, 1);
    // 45 minutes later by the scheduler's clock: 15 minutes left, inside the renew period.
    clockOffset = 45 * 60_000;
    await resolvers[0]!.checkRenewals();
    assert.equal(pebble.orders() - before, 2);
    const renewed = await certificateServed(tlsPort, 'shared.example.test', root, (c) => c.fingerprint256 !== first.fingerprint256);
    assert.notEqual(renewed.serialNumber, first.serialNumber);
    // The other replica gets it from its blocking query on the prefix, without an order of its own.
    const seen = await certificateServed(replicaPort, 'shared.example.test', root, (c) => c.fingerprint256 === renewed.fingerprint256);
    assert.equal(seen.fingerprint256, renewed.fingerprint256);
    assert.equal(pebble.orders() - before, 2);
  });
});
