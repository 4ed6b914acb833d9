/**
 * Traefik v3.7's entry points reference page (docs/content/reference/install-configuration/entrypoints.md, the commit
 * in fixtures/traefik-docs/manifest.json) on a running gateway: docs-replay.test.ts loads every snippet; here the
 * page's own example and its options table (address, asDefault, forwardedHeaders.trustedIPs,
 * http.redirections, http.middlewares, transport.respondingTimeouts, reusePort) are checked for the behaviour the
 * page describes. The page's ports (:80, :443) are pointed at loopback; nothing else in a snippet is changed unless
 * the comment says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runGateway } from '../../src/gateway/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { get, startUpstream, tempDir } from './helpers.ts';

const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
const snippet = (file: string) => readFileSync(join(fixtures, file), 'utf8');

/** A port the OS has just handed out and released: the redirection's Location names the target's configured port. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A gateway from `staticText` (the API on its own `traefik` entry point) and a file provider holding `dynamicText`. */
async function gatewayWith(staticText: string, dynamicText: string) {
  const work = await tempDir('mg-docs-ep-');
  await writeFile(join(work, 'dynamic.yml'), dynamicText);
  await writeFile(join(work, 'gateway.yml'), `${staticText}
providers:
  providersThrottleDuration: 20ms
  file:
    filename: "${join(work, 'dynamic.yml')}"
api:
  insecure: true
metrics:
  prometheus: {}
`);
  const gw = await runGateway({ configFile: join(work, 'gateway.yml'), workers: 1, handleSignals: false, logger: silentLogger() });
  return Object.assign(gw, { admin: `http://127.0.0.1:${gw.addresses().traefik!.port}` });
}

/** The `app` service of the test's routers, on one server. */
const appService = (url: string) => `  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: "${url}"\n`;

const TRAEFIK_EP = '  traefik:\n    address: "127.0.0.1:0"\n';

// Traefik pkg/server/router (BuildHandlers) adds a redirect router per entry point with http.redirections
// (pkg/config/static/entrypoints.go RedirectEntryPoint: scheme https, permanent); pkg/middlewares/redirect:
// permanent → 301 for GET, 308 otherwise; the port is the target entry point's.
test('docs replay running: entrypoints.01.yaml — the web entry point "redirecting of all incoming requests … to websecure" (permanent, https), websecure serving the routers', async () => {
  const upstream = await startUpstream('app');
  const securePort = await freePort();
  // The page's websecure keys `tls` and `middlewares` are not entry point fields (Traefik refuses them, see
  // DOCUMENTATION_ERRORS in docs-replay.test.ts): they are moved under `http` where Traefik reads them, and the
  // Kubernetes CRD middlewares (no Kubernetes provider here) are left out.
  const page = snippet('entrypoints.01.yaml');
  const broken = '    tls: {}\n    middlewares:\n      - auth@kubernetescrd\n      - strip@kubernetescrd\n';
  assert.ok(page.includes(broken));
  const staticText = page
    .replace('address: :80', 'address: "127.0.0.1:0"')
    .replace('address: :443', `address: "127.0.0.1:${securePort}"`)
    .replace(broken, '    http:\n      tls: {}\n')
    .replace('entryPoints:\n', `entryPoints:\n${TRAEFIK_EP}`);
  const gw = await gatewayWith(staticText, `http:
  routers:
    app:
      rule: "PathPrefix(\`/\`)"
      service: app
      tls: {}
${appService(upstream.url)}`);
  try {
    const web = `http://127.0.0.1:${gw.addresses().web!.port}`;
    const res = await get(`${web}/some/path?q=1`, { host: 'example.com' });
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `https://example.com:${securePort}/some/path?q=1`);
    assert.equal((await get(`${web}/x`, { method: 'POST', host: 'example.com' })).status, 308);
    assert.equal(gw.addresses().websecure!.port, securePort);
    assert.equal(upstream.hits, 0, 'nothing on web reached the service');
    // observability.metrics: false on web — Traefik's entry point metrics are recorded for websecure, not web.
    const https = await fetchInsecure(`https://127.0.0.1:${securePort}/`);
    assert.equal(https, 200);
    const metrics = (await get(`${gw.admin}/metrics`)).text;
    assert.match(metrics, /traefik_entrypoint_requests_total\{[^}]*entrypoint="websecure"/);
    assert.doesNotMatch(metrics, /traefik_entrypoint_requests_total\{[^}]*entrypoint="web"/);
  } finally {
    await gw.close();
    await upstream.close();
  }
});

/** One HTTPS GET that accepts the generated default certificate, answering the status. */
async function fetchInsecure(url: string): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

// The options table: asDefault ("entryPoints in this list are used (by default) on HTTP and TCP routers that do not
// define their own entryPoints option"), forwardedHeaders.trustedIPs (Traefik pkg/middlewares/forwardedheaders:
// X-Forwarded-* from an untrusted peer are removed, the proxy then appends the peer), http.middlewares ("prepended …
// to the list of middlewares of each router", "applied in the same order as their declaration") and
// transport.respondingTimeouts.idleTimeout (Go's http.Server IdleTimeout closes an idle keep-alive connection).
test('docs replay running: entrypoints.md options — asDefault, forwardedHeaders.trustedIPs, http.middlewares in order before the router\'s, respondingTimeouts.idleTimeout', async () => {
  const upstream = await startUpstream('app');
  // The http.middlewares section's example (entrypoints.03.yaml) with its middlewares under `http`, where the
  // table puts them; auth@kubernetescrd becomes a file-provider basicAuth of the same name.
  const gw = await gatewayWith(`entryPoints:
${TRAEFIK_EP}  edge:
    address: "127.0.0.1:0"
    asDefault: true
    forwardedHeaders:
      trustedIPs: ["127.0.0.1/32"]
    http:
      middlewares:
        - auth@file
        - strip@file
    transport:
      respondingTimeouts:
        idleTimeout: 1s
  other:
    address: "127.0.0.1:0"
`, `http:
  routers:
    app:
      rule: "PathPrefix(\`/\`)"
      service: app
      middlewares: [tagged]
    on-other:
      rule: "PathPrefix(\`/other\`)"
      entryPoints: [other]
      service: app
  middlewares:
    auth:
      basicAuth:
        users: ["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
    strip:
      stripPrefix:
        prefixes: ["/strip"]
    tagged:
      addPrefix:
        prefix: /router
${appService(upstream.url)}`);
  try {
    const edge = `http://127.0.0.1:${gw.addresses().edge!.port}`;
    const other = `http://127.0.0.1:${gw.addresses().other!.port}`;
    const auth = { authorization: `Basic ${Buffer.from('test:test').toString('base64')}` };

    // asDefault: the router without entryPoints is on edge only.
    assert.equal((await get(`${other}/strip/x`, { headers: auth })).status, 404);
    // http.middlewares: auth first (401 without credentials), then strip, then the router's own addPrefix — had the
    // router's run first, /router/strip/x would not start with /strip and stay unstripped.
    assert.equal((await get(`${edge}/strip/x`)).status, 401);
    assert.equal((await get(`${edge}/strip/x`, { headers: auth })).json().url, '/router/x');

    // forwardedHeaders.trustedIPs: 127.0.0.1 is trusted on edge, so the client's X-Forwarded-For is kept and the
    // peer appended; on other (no trustedIPs) it is dropped and only the peer remains.
    const xff = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-host': 'forged.example' };
    const trusted = (await get(`${edge}/`, { headers: { ...auth, ...xff } })).json().headers;
    assert.equal(trusted['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(trusted['x-forwarded-host'], 'forged.example');
    const untrusted = (await get(`${other}/other`, { headers: xff })).json().headers;
    assert.equal(untrusted['x-forwarded-for'], '127.0.0.1');
    assert.notEqual(untrusted['x-forwarded-host'], 'forged.example');

    // idleTimeout 1s: a keep-alive connection left idle after its answer is closed by the gateway (the default,
    // 180s, would keep it far longer than this test's wait).
    const socket = connect(gw.addresses().edge!.port, '127.0.0.1');
    let closed = false;
    let answer = '';
    socket.on('data', (chunk) => { answer += chunk.toString(); });
    socket.on('close', () => { closed = true; });
    socket.write('GET /ping-me HTTP/1.1\r\nHost: edge\r\n\r\n');
    await waitFor(() => answer.includes('\r\n\r\n'), 'the keep-alive answer');
    assert.match(answer, /^HTTP\/1\.1 401/);
    await waitFor(() => closed, 'the gateway to close the idle connection');
    socket.destroy();
  } finally {
    await gw.close();
    await upstream.close();
  }
});

// reusePort: "Enable entryPoints from the same or different processes listening on the same TCP/UDP port by utilizing
// the SO_REUSEPORT socket option" — two gateways from the page's example on one port, both answering.
test('docs replay running: entrypoints.04.yaml — reusePort "many processes on the same EntryPoint": two gateways share one port', async () => {
  const port = await freePort();
  const page = snippet('entrypoints.04.yaml');
  assert.ok(page.includes('address: ":80"'));
  // The page indents its whole document by two spaces (YAML reads it the same); it is taken back to column 0 so the
  // test's providers and api blocks can follow it.
  const staticText = page.replace(/^ {2}/gm, '').replace('address: ":80"', `address: "127.0.0.1:${port}"`).replace('entryPoints:\n', `entryPoints:\n${TRAEFIK_EP}`);
  const routes = (name: string) => `http:
  routers:
    app:
      rule: "PathPrefix(\`/\`)"
      service: app
${appService(name)}`;
  const a = await startUpstream('first');
  const b = await startUpstream('second');
  const first = await gatewayWith(staticText, routes(a.url));
  let second: Awaited<ReturnType<typeof gatewayWith>> | undefined;
  try {
    second = await gatewayWith(staticText, routes(b.url));
    assert.equal(first.addresses().web!.port, port);
    assert.equal(second.addresses().web!.port, port);
    // The kernel spreads new connections over both listeners; fresh connections reach each in turn.
    const seen = new Set<string>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      seen.add((await get(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).json().upstream);
    }
    assert.deepEqual([...seen].sort(), ['first', 'second']);
    // Canary deployment: the first process stops, the port keeps answering through the second.
    await first.close();
    assert.equal((await get(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).json().upstream, 'second');
  } finally {
    await first.close();
    await second?.close();
    await a.close();
    await b.close();
  }
});
