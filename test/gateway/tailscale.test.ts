/**
 * `certificatesResolvers.<name>.tailscale` on a running gateway, against the LocalAPI stand-in in tailscale-localapi.ts
 * (tailscaled cannot be installed here: not in Debian, not on npm — the same exception the Kubernetes API server
 * gets). What is asserted comes from Traefik's pkg/provider/tailscale/provider.go: findDomains (routers whose
 * `tls.certResolver` names the resolver; `tls.domains` mains, else the rule's Host / HostSNI names, HTTP and TCP),
 * sanitizeDomains/isTailscaleDomain (only `<machine>.<tailnet>.ts.net`), fetchCerts (tscert.CertPair per domain) and
 * renewCertificates/isValidCert (a certificate not valid 14 days from now is fetched again); and from tscert.go
 * (CertPair's request and answer, DefaultTailscaledSocket's path).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { runGateway, type GatewayHandle } from '../../src/gateway/main.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { DEFAULT_TAILSCALED_SOCKET } from '../../src/gateway/tailscale/schema.ts';
import { isTailscaleDomain } from '../../src/gateway/tailscale/domains.ts';
import { splitPair } from '../../src/gateway/tailscale/localapi.ts';
import { createLogger, silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startUpstream, tempDir, type Upstream } from './helpers.ts';
import { dynamicYaml, gateway } from './docs-replay-tls-install-support.ts';
import { makeTestCa, startLocalApi, type LocalApi, type TestCa } from './tailscale-localapi.ts';

let ca: TestCa;
let upstream: Upstream;
before(async () => {
  ca = makeTestCa(await tempDir('mg-ts-'));
  upstream = await startUpstream('app');
});
after(async () => {
  await upstream?.close();
});

function staticYaml(socket: string): string {
  return `entryPoints:
  websecure:
    address: "127.0.0.1:0"
certificatesResolvers:
  myresolver:
    tailscale:
      socket: "${socket}"
`;
}

/** The certificate the gateway's `websecure` serves for `servername`: serial (lower-case hex) and subject CN. */
async function served(handle: GatewayHandle, servername: string): Promise<{ serial: string; cn: string; trusted: boolean }> {
  const { port } = handle.addresses().websecure!;
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: ca.caPem, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const cert = socket.getPeerCertificate();
      resolve({ serial: cert.serialNumber.toLowerCase(), cn: String(cert.subject?.CN ?? ''), trusted: socket.authorized });
      socket.end();
    });
    socket.on('error', reject);
  });
}

function logCapture(): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const logger = createLogger({ name: 'gateway', level: 'debug', destination: { write: (line: string) => void raw.push(line) } });
  return { logger, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('static keys: `tailscale: {}` (YAML null too) is a resolver; the socket defaults to tscert\'s Linux path; other keys are refused by path', () => {
  const config = validateStaticConfig({ certificatesResolvers: { a: { tailscale: {} }, b: { tailscale: null } } });
  assert.equal(config.certificatesResolvers!.a!.tailscale!.socket, DEFAULT_TAILSCALED_SOCKET);
  assert.equal(DEFAULT_TAILSCALED_SOCKET, '/var/run/tailscale/tailscaled.sock');
  assert.equal(config.certificatesResolvers!.b!.acme, undefined);
  assert.equal(validateStaticConfig({ certificatesResolvers: { a: { tailscale: { socket: '/run/ts.sock' } } } }).certificatesResolvers!.a!.tailscale!.socket, '/run/ts.sock');
  assert.throws(() => validateStaticConfig({ certificatesResolvers: { a: { tailscale: { sockett: 'x' } } } }), /certificatesResolvers\.a\.tailscale\.sockett/);
});

test('isTailscaleDomain: four labels ending in ts.net; CertPair\'s answer is split key first at "--\\n--"', () => {
  assert.ok(isTailscaleDomain('monitoring.yak-bebop.ts.net'));
  for (const name of ['yak-bebop.ts.net', 'a.b.yak-bebop.ts.net', 'monitoring.example.com', 'x.tailnet.ts.org']) assert.ok(!isTailscaleDomain(name), name);
  const pair = ca.issue('x.tailnet.ts.net', 30);
  assert.deepEqual(splitPair(pair.keyPem + pair.certPem), { keyPem: pair.keyPem, certPem: pair.certPem });
  assert.deepEqual(splitPair(pair.certPem.replace(/-----/g, '')), { problem: 'unexpected output: no delimiter' });
  assert.deepEqual(splitPair(pair.keyPem + pair.keyPem), { problem: 'unexpected output: key in cert' });
});

describe('a router naming the resolver serves the certificate tailscaled gives, and renews it', () => {
  let api: LocalApi;
  let handle: GatewayHandle;
  let initial: { keyPem: string; certPem: string; serial: string };
  let dbCert: { keyPem: string; certPem: string; serial: string };
  const { logger, lines } = logCapture();
  before(async () => {
    const work = await tempDir('mg-ts-run-');
    api = await startLocalApi(join(work, 'tailscaled.sock'));
    // Ten days left: inside tailscaled's 14-day renewal window, so the daily check fetches it again.
    initial = ca.issue('x.tailnet.ts.net', 10);
    api.serve('x.tailnet.ts.net', initial);
    dbCert = ca.issue('db.tailnet.ts.net', 90);
    api.serve('db.tailnet.ts.net', dbCert);
    api.serve('multi.tailnet.ts.net', ca.issue('multi.tailnet.ts.net', 90));
    const upstreamPort = new URL(upstream.url).port;
    const multi = `    multi:
      rule: "Path(\`/multi\`)"
      entryPoints: [websecure]
      service: app
      tls:
        certResolver: myresolver
        domains:
          - main: multi.tailnet.ts.net
            sans: [other.tailnet.ts.net]
`;
    const dynamic = `${dynamicYaml(upstream.url, ['x.tailnet.ts.net', 'plain.example.com'], 'myresolver').replace('  services:\n', `${multi}  services:\n`)}tcp:
  routers:
    db:
      rule: "HostSNI(\`db.tailnet.ts.net\`)"
      entryPoints: [websecure]
      service: db
      tls:
        certResolver: myresolver
  services:
    db:
      loadBalancer:
        servers:
          - address: "127.0.0.1:${upstreamPort}"
`;
    handle = await gateway(work, staticYaml(api.socket), dynamic, 'yaml', logger);
  });
  after(async () => {
    await handle?.close();
    await api?.close();
  });

  // The first handshake of the process makes the TRAEFIK DEFAULT CERT while the resolver's certificates arrive: the
  // HTTPS handshaker built after that must serve the new configuration (entrypoints/tls-handshake.ts #route), not
  // the one captured before — before that fix this test failed in most runs.
  test('the LocalAPI is asked as tscert asks; the HTTP router serves the certificate, trusted through the test CA', async () => {
    const got = await waitFor(async () => {
      const s = await served(handle, 'x.tailnet.ts.net');
      return s.serial === initial.serial ? s : undefined;
    }, 'the tailscale certificate for x.tailnet.ts.net');
    assert.equal(got.cn, 'x.tailnet.ts.net');
    assert.ok(got.trusted, 'the chain verifies against the test CA for the name');
    const request = api.requests.find((r) => r.path === '/localapi/v0/cert/x.tailnet.ts.net?type=pair');
    assert.ok(request, JSON.stringify(api.requests));
    assert.equal(request.method, 'GET');
    assert.equal(request.host, 'local-tailscaled.sock');
  });

  test('a TCP router\'s HostSNI name is fetched too; tls.domains asks for its main only (one name per Tailscale certificate)', async () => {
    await waitFor(async () => (await served(handle, 'db.tailnet.ts.net')).serial === dbCert.serial, 'the TCP router\'s tailscale certificate');
    await waitFor(() => api.certRequests().includes('multi.tailnet.ts.net'), 'the tls.domains main asked for');
    assert.ok(!api.certRequests().includes('other.tailnet.ts.net'), 'a SAN is not asked for');
  });

  test('a name outside *.ts.net is never asked for; the error names it once, and that router keeps the default certificate', async () => {
    await waitFor(() => api.certRequests().includes('db.tailnet.ts.net'), 'the first round of fetches');
    assert.ok(!api.certRequests().includes('plain.example.com'), JSON.stringify(api.certRequests()));
    const refused = lines().filter((l) => l.code === 'MG_GATEWAY_TAILSCALE_DOMAIN');
    assert.equal(refused.length, 1, JSON.stringify(refused));
    assert.match(String(refused[0]!.msg), /domain "plain\.example\.com" is not a valid Tailscale domain/);
    assert.equal((await served(handle, 'plain.example.com')).cn, 'TRAEFIK DEFAULT CERT');
    // Every new configuration (here the tailscale provider's own) observes it again, still without a second line.
    handle.reload();
    await handle.tailscale!.resolvers.get('myresolver')!.retry();
    assert.equal(lines().filter((l) => l.code === 'MG_GATEWAY_TAILSCALE_DOMAIN').length, 1);
  });

  test('renewal: a certificate not valid 14 days from now is fetched again and the new one served; a fresh one is left alone', async () => {
    const resolver = handle.tailscale!.resolvers.get('myresolver')!;
    await waitFor(async () => (await served(handle, 'x.tailnet.ts.net')).serial === initial.serial, 'the first certificate');
    const renewed = ca.issue('x.tailnet.ts.net', 90);
    api.serve('x.tailnet.ts.net', renewed);
    const asked = () => api.certRequests().filter((d) => d === 'x.tailnet.ts.net').length;
    const before = asked();
    await resolver.renew();
    assert.equal(asked(), before + 1, 'the 10-day certificate was due');
    await waitFor(async () => (await served(handle, 'x.tailnet.ts.net')).serial === renewed.serial, 'the renewed certificate');
    // db and multi hold 90-day certificates; x now too: nothing is due.
    const total = api.certRequests().length;
    await resolver.renew();
    assert.equal(api.certRequests().length, total);
  });
});

describe('tailscaled unreachable', () => {
  let handle: GatewayHandle;
  let api: LocalApi | undefined;
  let socket: string;
  const { logger, lines } = logCapture();
  before(async () => {
    const work = await tempDir('mg-ts-down-');
    socket = join(work, 'tailscaled.sock');
    handle = await gateway(work, staticYaml(socket), dynamicYaml(upstream.url, ['a.tailnet.ts.net', 'b.tailnet.ts.net'], 'myresolver'), 'yaml', logger);
  });
  after(async () => {
    await handle?.close();
    await api?.close();
  });

  test('the gateway starts, the routers keep the default certificate, the error is logged once per domain; once tailscaled answers, the retry serves its certificate', async () => {
    await waitFor(() => lines().filter((l) => l.code === 'MG_GATEWAY_TAILSCALE_CERT').length >= 2, 'the fetch errors');
    assert.equal((await served(handle, 'a.tailnet.ts.net')).cn, 'TRAEFIK DEFAULT CERT');
    const resolver = handle.tailscale!.resolvers.get('myresolver')!;
    await resolver.retry();
    await resolver.retry();
    const errors = lines().filter((l) => l.code === 'MG_GATEWAY_TAILSCALE_CERT');
    assert.deepEqual(errors.map((l) => l.domain).sort(), ['a.tailnet.ts.net', 'b.tailnet.ts.net']);
    for (const line of errors) {
      assert.equal(line.level, 50, 'logged as an error');
      assert.match(String(line.msg), new RegExp(`unable to fetch a certificate for "${String(line.domain).replace(/\./g, '\\.')}" from tailscaled \\(${socket.replace(/[.]/g, '\\.')}\\): connect ENOENT`));
    }
    api = await startLocalApi(socket);
    const pair = ca.issue('a.tailnet.ts.net', 90);
    api.serve('a.tailnet.ts.net', pair);
    await resolver.retry();
    await waitFor(async () => (await served(handle, 'a.tailnet.ts.net')).serial === pair.serial, 'the certificate once tailscaled answers');
    // b still fails (the stand-in has no certificate for it): a failure that goes on stays at one line.
    assert.equal(lines().filter((l) => l.code === 'MG_GATEWAY_TAILSCALE_CERT' && l.domain === 'b.tailnet.ts.net').length, 1);
    assert.ok(lines().some((l) => l.domain === 'a.tailnet.ts.net' && /after earlier failures/.test(String(l.msg))));
  });
});

// With workers the primary runs the resolver (a provider like any other) and its certificates reach every worker with
// the configuration, as the ACME resolver's do.
describe('tailscale resolver with two workers', () => {
  let handle: GatewayHandle;
  let api: LocalApi;
  let serial: string;
  before(async () => {
    const work = await tempDir('mg-ts-cluster-');
    api = await startLocalApi(join(work, 'tailscaled.sock'));
    const pair = ca.issue('w.tailnet.ts.net', 90);
    serial = pair.serial;
    api.serve('w.tailnet.ts.net', pair);
    writeFileSync(join(work, 'dynamic.yml'), dynamicYaml(upstream.url, ['w.tailnet.ts.net'], 'myresolver'));
    const configFile = join(work, 'gateway.yml');
    writeFileSync(configFile, `${staticYaml(api.socket)}providers:\n  providersThrottleDuration: 20ms\n  file:\n    filename: "${join(work, 'dynamic.yml')}"\n`);
    handle = await runGateway({ configFile, workers: 2, handleSignals: false, lastGoodFile: false, drainTimeoutMs: 1000, logger: silentLogger() });
  });
  after(async () => {
    await handle?.close();
    await api?.close();
  });

  test('every worker serves the certificate', async () => {
    // Several connections, so both workers are very likely to take some (the primary hands them out round-robin).
    await waitFor(async () => {
      const got = await Promise.all([1, 2, 3, 4].map(() => served(handle, 'w.tailnet.ts.net')));
      return got.every((s) => s.serial === serial && s.trusted);
    }, 'the tailscale certificate from every worker', { deadlineMs: 60_000 });
  });
});
