/**
 * Traefik v3.7's TCP reference pages (routing-configuration/tcp/…, commits in fixtures/traefik-docs/manifest.json; the
 * load check is docs-replay.test.ts's, the page list and the snippets broken in Traefik too in docs-replay-l4-gaps.ts)
 * on a running gateway with real TCP and TLS peers on 127.0.0.1. Each snippet sits in a file provider directory
 * beside a file with what the page leaves out (a router, a certificate, the services it names); the page's
 * placeholder addresses are pointed at the test's servers and nothing else is changed. A second loopback address
 * (127.0.0.2) plays the other client for ClientIP, ipAllowList and inFlightConn. What the pages say, and where
 * Traefik does it:
 * - routing/router.md: a router with `tls` on two entry points terminates TLS for its HostSNI and forwards the
 *   decrypted stream through its middlewares (pkg/server/router/tcp manager.go buildEntryPointHandler);
 * - routing/rules-and-priority.md: "the priority is configured so that Router-1 will handle requests from" the one
 *   address although Router-2's rule is longer (pkg/muxer/tcp mux.go AddRoute, routes sorted by priority); each of
 *   the page's rule examples (tcp-rules-and-priority.rules.json, extracted with --rules) matches the connections the
 *   page says it does (pkg/muxer/tcp matcher.go), and ALPN may not name acme-tls/1 (tlsalpn01.ACMETLS1Protocol);
 * - service.md: the load balancer spreads connections over its servers; weighted 3:1 between services
 *   (pkg/tcp wrr_load_balancer.go);
 * - tls.md: `tls: {}` terminates ("send decrypted data to the services"), `passthrough: true` forwards "as is";
 * - middlewares/overview.md, ipallowlist.md, inflightconn.md: sourceRange closes other clients' connections
 *   (pkg/middlewares/tcp/ipallowlist), amount limits simultaneous connections per client IP
 *   (pkg/middlewares/tcp/inflightconn: the count is keyed by the remote IP).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { compileTcpRule, type ConnData } from '../../src/gateway/tcp/rules.ts';
import { makeCertificate, type CertificateFiles } from '../helpers/tls-fixture.ts';
import { eventually, tempDir, withDirectoryGateway, type startGateway } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

let pki = '';
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

type Pem = CertificateFiles;
const certificate = (name: string, cn: string): Pem => makeCertificate(pki, name, { cn });

let gatewayCerts: Pem[] = [];
let backendCert: Pem;
before(async () => {
  pki = await tempDir('mg-docs-tcp-');
  gatewayCerts = [certificate('gw-example', 'example.com'), certificate('gw-foo', 'foo-domain')];
  backendCert = certificate('backend-foo', 'foo-domain');
});
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

/** A plain TCP server that greets with its name, then echoes; its open connections are kept until the test ends. */
async function greeter(name: string): Promise<string> {
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
  return listen(server);
}

async function listen(server: net.Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type Gateway = Awaited<ReturnType<typeof startGateway>>;

/** A gateway with entry points web, websecure and tcp-ep (the pages' names) whose file provider directory holds `files`. */
function serve(files: Record<string, string>, check: (gw: Gateway) => Promise<void>): Promise<void> {
  // The greeters hold their connections open; closing them first spares the gateway's drain wait.
  return withDirectoryGateway(files, { 'web': '', 'websecure': '', 'tcp-ep': '' }, check, () => {
    for (const s of sockets) s.destroy();
  });
}

const port = (gw: Gateway, entryPoint: string) => gw.addresses()[entryPoint]!.port;

/** Waits until the API lists the TCP `routers` (name@file) as enabled, so no connection races the first load. */
async function routersUp(gw: Gateway, ...routers: string[]): Promise<void> {
  await eventually(async () => {
    const listed = await (await fetch(`${gw.admin}/api/tcp/routers`)).json() as { name: string; status: string }[];
    for (const name of routers) assert.equal(listed.find((r) => r.name === `${name}@file`)?.status, 'enabled', `${name}: ${JSON.stringify(listed)}`);
  }, 20_000);
}

/** An HTTP request: what a connection no TCP router takes gets from the HTTP routers, which "take over". */
const HTTP_GET = 'GET / HTTP/1.1\r\nHost: replay.example\r\nConnection: close\r\n\r\n';

/** What a plain connection from `localAddress` (after writing `send`) receives: the first line, or '' when closed first. */
function firstLine(gw: Gateway, entryPoint: string, localAddress = '127.0.0.1', send = ''): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: port(gw, entryPoint), host: '127.0.0.1', localAddress }, () => {
      if (send !== '') socket.write(send);
    });
    sockets.add(socket);
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got.includes('\n')) resolve(got.slice(0, got.indexOf('\n')));
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => {});
  });
}

/** A TLS connection with `servername`: the certificate's CN and the first line, or the CN and '' when closed first. */
function tlsFirstLine(gw: Gateway, entryPoint: string, servername: string, send = ''): Promise<{ cn: string; line: string }> {
  return new Promise((resolve) => {
    let cn = '';
    let got = '';
    const socket = tls.connect({ host: '127.0.0.1', port: port(gw, entryPoint), servername, rejectUnauthorized: false }, () => {
      cn = String(socket.getPeerCertificate().subject?.CN);
      if (send !== '') socket.write(send);
    });
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got.includes('\n')) resolve({ cn, line: got.slice(0, got.indexOf('\n')) });
    });
    socket.on('close', () => resolve({ cn, line: got }));
    socket.on('error', () => {});
  });
}

/** The gateway's certificates as a dynamic file (the pages define no certificate). */
function certificatesYaml(): string {
  return `tls:\n  certificates:\n${gatewayCerts.map((c) => `    - certFile: "${c.certFile}"\n      keyFile: "${c.keyFile}"\n`).join('')}`;
}

/** A catch-all router on `web` to `service`, with `middlewares`. */
function catchAll(service: string, middlewares: string[] = []): string {
  return `tcp:\n  routers:\n    replay:\n      entryPoints: [web]\n      rule: "HostSNI(\`*\`)"\n      service: ${service}\n      middlewares: [${middlewares.join(', ')}]\n`;
}

/** Replaces each `placeholder` in turn by the next of `addresses` (the pages write one placeholder for every server). */
function pointAt(text: string, placeholder: string, addresses: string[]): string {
  let out = text;
  for (const address of addresses) out = out.replace(placeholder, address);
  return out;
}

for (const file of ['tcp-router.01.yaml', 'tcp-router.02.toml']) {
  test(`docs replay behaviour: ${file} — my-tcp-router terminates TLS for HostSNI(example.com) on tcp-ep and websecure and forwards through tcp-ipallowlist`, async () => {
    const service = await greeter('my-tcp-service');
    // The page names a middleware, a service and a resolver it does not define: the test defines the first two; the
    // undefined letsencrypt resolver leaves the store's certificate, as the HTTP router page's replay shows.
    await serve({
      [file]: snippet(file),
      'replay.yml': `tcp:\n  middlewares:\n    tcp-ipallowlist:\n      ipAllowList:\n        sourceRange: ["127.0.0.1/32"]\n  services:\n    my-tcp-service:\n`
        + `      loadBalancer:\n        servers:\n          - address: "${service}"\n${certificatesYaml()}`,
    }, async (gw) => {
      await routersUp(gw, 'my-tcp-router');
      for (const entryPoint of ['tcp-ep', 'websecure']) {
        // Terminated by the gateway: its certificate, and the plain upstream answered.
        assert.deepEqual(await tlsFirstLine(gw, entryPoint, 'example.com'), { cn: 'example.com', line: 'my-tcp-service' }, entryPoint);
      }
      // Another name, or web (not one of the router's entry points): the HTTP routers take over (none here: 404).
      assert.match((await tlsFirstLine(gw, 'tcp-ep', 'other.example', HTTP_GET)).line, /^HTTP\/1\.1 404/);
      assert.match(await firstLine(gw, 'web', '127.0.0.1', HTTP_GET), /^HTTP\/1\.1 404/);
    });
  });
}

test('docs replay behaviour: tcp-rules-and-priority.01.yaml — "the priority is configured so that Router-1 will handle requests from" its address, though Router-2\'s rule is longer', async () => {
  const [one, two] = [await greeter('service-1'), await greeter('service-2')];
  // The page's addresses pointed at loopback: 192.168.0.12 → 127.0.0.1, 192.168.0.0/24 → 127.0.0.0/8.
  const text = snippet('tcp-rules-and-priority.01.yaml').replace('192.168.0.12', '127.0.0.1').replace('192.168.0.0/24', '127.0.0.0/8');
  const services = `tcp:\n  services:\n${[['service-1', one], ['service-2', two]].map(([name, address]) =>
    `    ${name}:\n      loadBalancer:\n        servers:\n          - address: "${address}"\n`).join('')}`;
  await serve({ 'tcp-rules-and-priority.01.yaml': text, 'replay.yml': services }, async (gw) => {
    await routersUp(gw, 'Router-1', 'Router-2');
    assert.equal(await firstLine(gw, 'web'), 'service-1');
    assert.equal(await firstLine(gw, 'web', '127.0.0.2'), 'service-2');
  });
});

for (const file of ['tcp-service.01.yaml', 'tcp-service.02.toml']) {
  test(`docs replay behaviour: ${file} — the servers load balancer "balances the requests between the servers of the same service"`, async () => {
    const servers2 = [await greeter('server-a'), await greeter('server-b')];
    await serve({ [file]: pointAt(snippet(file), 'xx.xx.xx.xx:xx', servers2), 'replay.yml': catchAll('my-service') }, async (gw) => {
      await routersUp(gw, 'replay');
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await firstLine(gw, 'web'));
      assert.deepEqual([...seen].sort(), ['server-a', 'server-b']);
    });
  });
}

for (const file of ['tcp-service.03.yaml', 'tcp-service.04.toml']) {
  test(`docs replay behaviour: ${file} — weighted round robin sends connections to appv1 and appv2 by their weights (3:1)`, async () => {
    const [v1, v2] = [await greeter('appv1'), await greeter('appv2')];
    // The YAML tab writes one placeholder for both servers; the TOML tab names them (with a trailing slash no
    // address has, which Go's dialer would refuse: the whole placeholder is replaced).
    const text = file.endsWith('.yaml')
      ? pointAt(snippet(file), 'xxx.xxx.xxx.xxx:8080', [v1, v2])
      : snippet(file).replace('private-ip-server-1:8080/', v1).replace('private-ip-server-2:8080/', v2);
    await serve({ [file]: text, 'replay.yml': catchAll('app') }, async (gw) => {
      await routersUp(gw, 'replay');
      const seen: string[] = [];
      for (let i = 0; i < 8; i++) seen.push(await firstLine(gw, 'web'));
      assert.equal(seen.filter((s) => s === 'appv1').length, 6, seen.join(','));
      assert.equal(seen.filter((s) => s === 'appv2').length, 2, seen.join(','));
    });
  });
}

for (const file of ['tcp-tls.01.yaml', 'tcp-tls.02.toml']) {
  test(`docs replay behaviour: ${file} — tls: {} terminates TLS for HostSNI(foo-domain) and "will send decrypted data to the services"`, async () => {
    const plain = await greeter('service-id');
    const service = `tcp:\n  services:\n    service-id:\n      loadBalancer:\n        servers:\n          - address: "${plain}"\n${certificatesYaml()}`;
    await serve({ [file]: snippet(file), 'replay.yml': service }, async (gw) => {
      await routersUp(gw, 'Router-1');
      assert.deepEqual(await tlsFirstLine(gw, 'web', 'foo-domain'), { cn: 'foo-domain', line: 'service-id' });
      // What the client writes in TLS reaches the plain upstream decrypted (it echoes it back).
      const echoed = await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: port(gw, 'web'), servername: 'foo-domain', rejectUnauthorized: false }, () => socket.write('decrypted?\n'));
        sockets.add(socket);
        let got = '';
        socket.on('data', (chunk: Buffer) => {
          got += chunk.toString();
          if (got.includes('decrypted?\n')) resolve(got);
        });
        socket.on('close', () => resolve(got));
        socket.on('error', () => {});
      });
      assert.equal(echoed, 'service-id\ndecrypted?\n');
      // "Dedicated to TLS requests only": a plain connection is not this router's, the HTTP routers take it (404).
      assert.match(await firstLine(gw, 'web', '127.0.0.1', HTTP_GET), /^HTTP\/1\.1 404/);
    });
  });
}

for (const file of ['tcp-tls.03.yaml', 'tcp-tls.04.toml']) {
  test(`docs replay behaviour: ${file} — passthrough: true forwards the connection "as is, keeping all data encrypted"`, async () => {
    const backend = tls.createServer({ cert: backendCert.cert, key: backendCert.key }, (socket) => socket.end('backend terminated TLS\n'));
    const address = await listen(backend);
    const service = `tcp:\n  services:\n    service-id:\n      loadBalancer:\n        servers:\n          - address: "${address}"\n${certificatesYaml()}`;
    await serve({ [file]: snippet(file), 'replay.yml': service }, async (gw) => {
      await routersUp(gw, 'Router-1');
      assert.deepEqual(await tlsFirstLine(gw, 'web', 'foo-domain'), { cn: 'foo-domain', line: 'backend terminated TLS' });
      // The backend's own certificate (same CN as the gateway's, another key): the gateway did not terminate.
      const fingerprint = await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: port(gw, 'web'), servername: 'foo-domain', rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().fingerprint256);
          socket.destroy();
        });
        socket.on('error', () => {});
      });
      assert.equal(fingerprint, new X509Certificate(backendCert.cert).fingerprint256);
    });
  });
}

for (const file of ['tcp-ipallowlist.01.yaml', 'tcp-ipallowlist.02.toml', 'tcp-middlewares.01.yaml', 'tcp-middlewares.02.toml']) {
  const middleware = file.startsWith('tcp-ipallowlist') ? 'test-ipallowlist' : 'foo-ip-allowlist';
  test(`docs replay behaviour: ${file} — ipAllowList ${middleware} accepts connections from 127.0.0.1/32 and closes the others`, async () => {
    const service = await greeter('allowed');
    const replay = `${catchAll('replay', [middleware])}  services:\n    replay:\n      loadBalancer:\n        servers:\n          - address: "${service}"\n`;
    await serve({ [file]: snippet(file), 'replay.yml': replay }, async (gw) => {
      await routersUp(gw, 'replay');
      assert.equal(await firstLine(gw, 'web'), 'allowed');
      assert.equal(await firstLine(gw, 'web', '127.0.0.2'), '');
      if (file.startsWith('tcp-middlewares')) {
        // The page's router1 names a service it does not define (it defines service1) and an HTTP matcher (Host):
        // Traefik cannot build it, and neither can the gateway; the API says so.
        const routers = await (await fetch(`${gw.admin}/api/tcp/routers`)).json() as { name: string; status: string; error?: string[] }[];
        const router1 = routers.find((r) => r.name === 'router1@file');
        assert.ok(router1, JSON.stringify(routers));
        assert.notEqual(router1.status, 'enabled', JSON.stringify(router1));
      }
    });
  });
}

for (const file of ['tcp-inflightconn.01.yaml', 'tcp-inflightconn.02.toml']) {
  test(`docs replay behaviour: ${file} — inFlightConn amount 10 "closes the connection if there are already amount connections opened" (per client IP)`, async () => {
    const service = await greeter('held');
    const replay = `${catchAll('replay', ['test-inflightconn'])}  services:\n    replay:\n      loadBalancer:\n        servers:\n          - address: "${service}"\n`;
    await serve({ [file]: snippet(file), 'replay.yml': replay }, async (gw) => {
      await routersUp(gw, 'replay');
      // Ten connections from 127.0.0.1 stay open (the greeter keeps them); the eleventh is closed unanswered.
      for (let i = 0; i < 10; i++) assert.equal(await firstLine(gw, 'web'), 'held', `connection ${i + 1}`);
      assert.equal(await firstLine(gw, 'web'), '');
      // Another client IP has its own count.
      assert.equal(await firstLine(gw, 'web', '127.0.0.2'), 'held');
    });
  });
}

test('docs replay behaviour: tcp-rules-and-priority.rules.json — each rule example of the page matches the connections the page describes', () => {
  const { examples } = JSON.parse(snippet('tcp-rules-and-priority.rules.json')) as { examples: { section: string; tab: string; rule: string }[] };
  const conn = (serverName: string, remoteIp = '127.0.0.1', alpn: string[] = []): ConnData => ({ serverName, remoteIp, alpn });
  // The page's words for each rule, as connections that match (true) and do not (false).
  const expected: Record<string, [ConnData, boolean][]> = {
    // "Either Server Name Indication is example.com OR, Server Name Indication is example.org AND ALPN protocol is NOT h2"
    'HostSNI(`example.com`) || (HostSNI(`example.org`) && !ALPN(`h2`))': [
      [conn('example.com', undefined, ['h2']), true], [conn('example.org', undefined, ['http/1.1']), true],
      [conn('example.org', undefined, ['h2']), false], [conn('example.net'), false],
    ],
    // "Match all connections" (a non-TLS connection has no server name).
    'HostSNI(`*`)': [[conn(''), true], [conn('any.example'), true]],
    'HostSNIRegexp(`^.*$`)': [[conn(''), true], [conn('any.example'), true]],
    // "Match TCP connections sent to example.com"
    'HostSNI(`example.com`)': [[conn('example.com'), true], [conn('www.example.com'), false]],
    // "Match TCP connections opened on any subdomain of example.com"
    'HostSNIRegexp(`^.+\\.example\\.com$`)': [[conn('a.example.com'), true], [conn('a.b.example.com'), true], [conn('example.com'), false], [conn('aexample.com'), false]],
    // "Match connections opened by a given IP" / "coming from a given subnet"
    'ClientIP(`10.76.105.11`)': [[conn('', '10.76.105.11'), true], [conn('', '10.76.105.12'), false]],
    'ClientIP(`::1`)': [[conn('', '::1'), true], [conn('', '127.0.0.1'), false]],
    'ClientIP(`192.168.1.0/24`)': [[conn('', '192.168.1.200'), true], [conn('', '192.168.2.1'), false]],
    'ClientIP(`fe80::/10`)': [[conn('', 'fe80::1'), true], [conn('', '2001:db8::1'), false]],
    // "Match connections using the ALPN protocol h2" (one of the protocols the client offers)
    'ALPN(`h2`)': [[conn('', undefined, ['http/1.1', 'h2']), true], [conn('', undefined, ['http/1.1']), false]],
  };
  assert.equal(examples.length, Object.keys(expected).length);
  for (const { rule, section } of examples) {
    const cases = expected[rule];
    assert.ok(cases, `${section}: ${rule} has no expectation`);
    const { match } = compileTcpRule(rule, undefined);
    for (const [c, want] of cases) assert.equal(match(c), want, `${rule} on ${JSON.stringify(c)}`);
  }
  // "the ALPN matcher is not allowed to match the ACME-TLS/1 protocol, and Traefik returns an error if this is attempted"
  assert.throws(() => compileTcpRule('ALPN(`acme-tls/1`)', undefined), /acme-tls\/1/);
});
