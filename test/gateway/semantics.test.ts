/**
 * Places where Meshgate answered differently from Traefik v3, replayed through a whole gateway (file provider,
 * in-process worker, real upstreams on loopback). Each test names the Traefik code or page it follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runGateway } from '../../src/gateway/main.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { eventually, get, startGateway, staticYaml, tempDir, type Upstream, withUpstreams } from './helpers.ts';

let a: Upstream;
let b: Upstream;
withUpstreams(['A', 'B'], ([first, second]) => ([a, b] = [first!, second!]));

/** One raw HTTP/1.1 exchange (undici cannot send repeated header lines or an absolute-form target). */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('latin1');
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data);
    };
    socket.on('data', (d: string) => (data += d));
    socket.on('close', finish);
    socket.on('error', finish);
    const timer = setTimeout(finish, 10_000);
  });
}

async function gatewayWith(dynamic: string, format: 'yml' | 'toml' = 'yml', extraStatic = '') {
  const dir = await tempDir();
  await writeFile(join(dir, `dynamic.${format}`), dynamic);
  await writeFile(join(dir, 'gateway.yml'), staticYaml(`dynamic.${format}`, extraStatic));
  return startGateway(join(dir, 'gateway.yml'));
}

/** Two routers: the first rule to upstream A, the second to upstream B. */
function twoRouters(ruleA: string, ruleB: string): string {
  return `
http:
  routers:
    to-a: { rule: "${ruleA}", service: a }
    to-b: { rule: "${ruleB}", service: b }
  services:
    a: { loadBalancer: { servers: [{ url: "${a.url}" }] } }
    b: { loadBalancer: { servers: [{ url: "${b.url}" }] } }
`;
}

test('Header and HeaderRegexp match when any value of a repeated header matches (gorilla/mux matchMapWithString, used by Traefik pkg/muxer/http header/headerRegexp)', async (t) => {
  const gw = await gatewayWith(twoRouters('Header(`X-Tenant`, `blue`)', 'HeaderRegexp(`X-Zone`, `^eu-[0-9]+$`)'));
  t.after(() => gw.close());
  const port = Number(new URL(gw.web).port);
  // Go keeps two header lines as two values: the second one matches. Node joins them into "red, blue".
  const exact = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Tenant: red\r\nX-Tenant: blue\r\nConnection: close\r\n\r\n');
  assert.match(exact, /^HTTP\/1\.1 200 /, exact);
  assert.match(exact, /"upstream":"A"/);
  const regexp = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Zone: us-1\r\nX-Zone: eu-7\r\nConnection: close\r\n\r\n');
  assert.match(regexp, /^HTTP\/1\.1 200 /, regexp);
  assert.match(regexp, /"upstream":"B"/);
  // One line holding "red, blue" is one value in Go: it is not "blue".
  const joined = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Tenant: red, blue\r\nConnection: close\r\n\r\n');
  assert.match(joined, /^HTTP\/1\.1 404 /, joined);
});

test('Host with wildcards, case-insensitive, port ignored (Traefik v3.8 rules-and-priority page: "Supports wildcard subdomain matching (e.g. *.example.com, **.example.com)")', async (t) => {
  const gw = await gatewayWith(twoRouters('Host(`*.example.com`)', 'Host(`**.example.org`)'));
  t.after(() => gw.close());
  const status = async (host: string) => (await get(`${gw.web}/`, { host })).status;
  assert.equal(await status('api.example.com'), 200);
  assert.equal(await status('API.Example.COM:8443'), 200);
  assert.equal(await status('a.b.example.com'), 404, '* is one label');
  assert.equal(await status('example.com'), 404, 'the apex is not a subdomain');
  assert.equal(await status('a.b.example.org'), 200, '** is any number of labels');
  assert.equal(await status('example.org'), 404);
});

test('absolute-form target: the URI\'s host wins over the Host header for Host matchers (Go net/http readRequest; Traefik muxer reads req.Host)', async (t) => {
  const gw = await gatewayWith(twoRouters('Host(`example.org`)', 'Host(`example.com`)'));
  t.after(() => gw.close());
  const port = Number(new URL(gw.web).port);
  const text = await rawRequest(port, 'GET http://example.com/ HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 200 /, text);
  assert.match(text, /"upstream":"B"/);
});

test('configuration keys are matched without regard to case, as Traefik\'s loader does (paerser: file → node tree, fields found case-insensitively)', async (t) => {
  // Traefik's own pages write `healthcheck` in one place and `healthCheck` in another; both load in Traefik.
  const gw = await gatewayWith(`
http:
  Routers:
    r1:
      Rule: "PathPrefix(\`/one\`)"
      service: s1
      middlewares: [strip]
      EntryPoints: [web]
  services:
    s1:
      loadbalancer:
        healthcheck:
          path: /health
          interval: 10s
        servers:
          - URL: "${a.url}"
  middlewares:
    strip:
      stripprefix:
        Prefixes: ["/one"]
`, 'yml', 'Log:\n  Level: ERROR\n');
  t.after(() => gw.close());
  // The first health check runs at start; until it answers the server is not yet in rotation.
  const r = await eventually(async () => {
    const reply = await get(`${gw.web}/one/x`);
    assert.equal(reply.status, 200, reply.text);
    return reply;
  });
  assert.equal(r.json().upstream, 'A');
  assert.equal(r.json().url, '/x');
  // The dashboard API shows the keys in Traefik's spelling.
  const services = (await get(`${gw.admin}/api/http/services/s1@file`)).json();
  assert.ok(services.loadBalancer.healthCheck, JSON.stringify(services));
});

test('errors middleware with statusRewrites fetches the page of the rewritten status (Traefik customerrors: {status} is the rewritten code; docs write the target as "404" or 404)', async (t) => {
  const pages: string[] = [];
  const errorPages: Server = createServer((req, res) => {
    pages.push(req.url!);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`page ${req.url}`);
  });
  await new Promise<void>((resolve) => errorPages.listen(0, '127.0.0.1', resolve));
  const teapot: Server = createServer((_req, res) => {
    res.writeHead(418);
    res.end('teapot');
  });
  await new Promise<void>((resolve) => teapot.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    errorPages.close();
    teapot.close();
  });
  const gw = await gatewayWith(`
http:
  routers:
    r:
      rule: "PathPrefix(\`/\`)"
      service: app
      middlewares: [test-errors]
  middlewares:
    test-errors:
      errors:
        status: ["418"]
        statusRewrites:
          "418": "404"
        service: error-handler-service
        query: "/{status}.html?was={originalStatus}"
  services:
    app: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${(teapot.address() as AddressInfo).port}" }] } }
    error-handler-service: { loadBalancer: { servers: [{ url: "http://127.0.0.1:${(errorPages.address() as AddressInfo).port}" }] } }
`);
  t.after(() => gw.close());
  const r = await get(`${gw.web}/x`);
  assert.equal(r.status, 404);
  assert.equal(r.text, 'page /404.html?was=418');
  assert.deepEqual(pages, ['/404.html?was=418']);
});

test('log.filePath and log.format are honoured: the gateway\'s own log goes to the file, as JSON or Traefik\'s common text', async (t) => {
  for (const format of ['json', 'common'] as const) {
    const dir = await tempDir();
    const logFile = join(dir, 'traefik.log');
    await writeFile(join(dir, 'dynamic.yml'), 'http: {}\n');
    await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml', `log:\n  level: INFO\n  format: ${format}\n  filePath: "${logFile}"\n`));
    const gw = await runGateway({ configFile: join(dir, 'gateway.yml'), workers: 1, handleSignals: false });
    t.after(() => gw.close());
    const text = await waitFor(async () => {
      const body = await readFile(logFile, 'utf8').catch(() => '');
      return body.includes('gateway started') ? body : undefined;
    }, `the ${format} log file to receive the start line`);
    const line = text.split('\n').find((l) => l.includes('gateway started'))!;
    if (format === 'json') {
      const entry = JSON.parse(line) as { level: string; message: string };
      assert.equal(entry.level, 'info');
      assert.equal(entry.message, 'gateway started');
    } else {
      assert.throws(() => JSON.parse(line));
      assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) INF gateway started/);
    }
    await gw.close();
  }
});
