/**
 * Which host a request is for. RFC 9112 §3.2.2: a server receiving an absolute-form target ignores the Host header
 * and uses the target's authority. Go does this in net/http `readRequest` (request.go: `req.Host = req.URL.Host`,
 * the Host header only when the URL has none), so Traefik's muxer (pkg/muxer/http: Host, HostRegexp read
 * `req.Host`) routes by the authority, and its ReverseProxy writes the origin-form `URL.RequestURI()` with
 * `Host: req.Host`. A request with two Host lines is refused in Go's server.go `conn.readRequest` with
 * `badRequestError("too many Host headers")` (400, connection closed).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createProxy } from '../services/proxy.ts';
import { TransportRegistry } from '../services/transport.ts';
import { echoUpstream, startGateway, type Upstream } from '../services/testing.ts';
import { compileRoutes } from '../rules/index.ts';
import type { Handler } from './types.ts';

const transports = new TransportRegistry();
after(() => transports.close());

function send(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('latin1');
    const finish = () => { clearTimeout(timer); socket.destroy(); resolve(data); };
    socket.on('data', (d: string) => { data += d; });
    socket.on('close', finish);
    socket.on('error', finish);
    const timer = setTimeout(finish, 5000);
  });
}

/** A gateway with one router per rule, each proxying to its own echo upstream. */
async function routed(rules: Record<string, string>, config?: Record<string, unknown>): Promise<{ port: number; upstreams: Record<string, Upstream>; close(): Promise<void> }> {
  const upstreams: Record<string, Upstream> = {};
  const inputs = [];
  for (const [name, rule] of Object.entries(rules)) {
    const up = await echoUpstream(name);
    upstreams[name] = up;
    const proxy = createProxy({ url: up.url, passHostHeader: true, preservePath: false, dispatcher: transports.get(undefined).pool(up.url) });
    inputs.push({ name, rule, entryPoints: [], target: proxy });
  }
  const { routes, errors } = compileRoutes<Handler>(inputs);
  assert.equal(errors.size, 0);
  const gw = await startGateway(async (req, rw) => {
    const q = req.url.indexOf('?');
    const found = routes.match('web', {
      method: req.method, host: req.host, path: q === -1 ? req.url : req.url.slice(0, q), query: q === -1 ? '' : req.url.slice(q + 1),
      headers: req.headers, clientIp: req.clientIp,
    });
    if (found === undefined) { rw.writeHead(404); rw.end('404 page not found\n'); return; }
    await found.target(req, rw);
  }, { config });
  return { port: gw.port, upstreams, close: async () => { await gw.close(); for (const up of Object.values(upstreams)) await up.close(); } };
}

function echoed(text: string): { name: string; url: string; headers: Record<string, string> } {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  const json = body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1);
  return JSON.parse(json) as { name: string; url: string; headers: Record<string, string> };
}

for (const [label, ruleB] of [['Host', 'Host(`b.test`)'], ['HostRegexp', 'HostRegexp(`^b\\.test$`)']] as const) {
  test(`absolute-form target: the URI's authority wins for ${label} and the upstream gets origin-form`, async (t) => {
    const gw = await routed({ a: 'Host(`a.test`)', b: ruleB });
    t.after(() => gw.close());
    const text = await send(gw.port, 'GET http://b.test/x?y=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 200 /, text);
    const seen = echoed(text);
    assert.equal(seen.name, 'b', 'routed by the authority, not the Host header');
    assert.equal(seen.url, '/x?y=1', 'origin-form on the upstream request line');
    assert.equal(seen.headers.host, 'b.test');
    assert.equal(seen.headers['x-forwarded-host'], 'b.test');
    assert.equal(gw.upstreams.a!.hits, 0);
  });
}

test('absolute-form target with a port, userinfo and no path', async (t) => {
  const gw = await routed({ a: 'Host(`a.test`)', b: 'Host(`b.test`) && Path(`/`)' });
  t.after(() => gw.close());
  const text = await send(gw.port, 'GET http://u@B.test:8080?q HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 200 /, text);
  const seen = echoed(text);
  assert.equal(seen.name, 'b');
  assert.equal(seen.url, '/?q');
  assert.equal(seen.headers.host, 'B.test:8080');
  assert.equal(seen.headers['x-forwarded-port'], '8080');
});

test('two Host headers are refused with 400 before routing', async (t) => {
  const gw = await routed({ a: 'Host(`a.test`)', b: 'Host(`b.test`)' });
  t.after(() => gw.close());
  for (const request of [
    'GET /x HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n',
    'GET /x HTTP/1.1\r\nHost: a.test\r\nhost: a.test\r\n\r\n',
    'GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\nHOST: b.test\r\n\r\n',
  ]) {
    const text = await send(gw.port, request);
    assert.match(text, /^HTTP\/1\.1 400 /, request);
    assert.match(text, /too many Host headers/);
    assert.match(text, /\r\nconnection: close\r\n/i);
  }
  assert.equal(gw.upstreams.a!.hits + gw.upstreams.b!.hits, 0);
});

// Go's net/http readRequest parses the target with url.ParseRequestURI; its setPath unescapes the path and fails on
// a `%` without two hex digits ("invalid URL escape"), so conn.readRequest answers "400 Bad Request" and closes. The
// query is kept raw (RawQuery) and not checked.
test('a path with an invalid percent-escape is refused with 400 before routing; the same in the query passes', async (t) => {
  const gw = await routed({ a: 'PathPrefix(`/`)' });
  t.after(() => gw.close());
  for (const target of ['/a%zz', '/a%%2Fb', '/a%2', '/%', '/a%G0/b?x=1']) {
    const text = await send(gw.port, `GET ${target} HTTP/1.1\r\nHost: a.test\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 400 /, target);
    assert.match(text, /\r\n\r\n400 Bad Request$/, target);
    assert.match(text, /\r\nconnection: close\r\n/i, target);
  }
  assert.equal(gw.upstreams.a!.hits, 0);
  const ok = await send(gw.port, 'GET /a%2Fb%7e?q=%zz HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  assert.match(ok, /^HTTP\/1\.1 200 /, ok);
  assert.equal(gw.upstreams.a!.hits, 1);
});

// Traefik's entry point normalizes then sanitizes the path before routing (docs/content/security/request-path.md;
// its sanitizePath handler calls Go's url.JoinPath), so a `/public` router never takes `/public/../admin`.
test('dot segments, encoded or not, are resolved before routing; sanitizePath: false routes the path as sent', async (t) => {
  const rules = { pub: 'PathPrefix(`/public`)', admin: 'PathPrefix(`/admin`)' };
  const gw = await routed(rules);
  t.after(() => gw.close());
  for (const target of ['/public/../admin/x', '/public/%2e%2e/admin/x', '/public/.%2E/admin//x', '/%61dmin/./x']) {
    const text = await send(gw.port, `GET ${target} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 200 /, target);
    assert.deepEqual([echoed(text).name, echoed(text).url], ['admin', '/admin/x'], target);
  }
  assert.equal(gw.upstreams.pub!.hits, 0);
  const kept = await routed(rules, { http: { sanitizePath: false } });
  t.after(() => kept.close());
  const text = await send(kept.port, 'GET /public/%2e%2e/admin/x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  assert.deepEqual([echoed(text).name, echoed(text).url], ['pub', '/public/../admin/x']);
});

test('request headers named like Object.prototype members reach the upstream as sent', async (t) => {
  // A raw upstream: node's own parser would drop `__proto__` on its side too.
  let seen = '';
  const server = net.createServer((socket) => {
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      if (seen.includes('\r\n\r\n')) socket.end('HTTP/1.1 204 No Content\r\n\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const proxy = createProxy({ url, passHostHeader: true, preservePath: false, dispatcher: transports.get(undefined).pool(url) });
  const gw = await startGateway(proxy);
  t.after(async () => { await gw.close(); await new Promise<void>((r) => server.close(() => r())); });
  const text = await send(gw.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nConstructor: c\r\n__proto__: p1\r\n__Proto__: p2\r\ntoString: t\r\nConnection: close\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 204 /, text);
  assert.match(seen, /\r\nconstructor: c\r\n/);
  assert.match(seen, /\r\n__proto__: p1, p2\r\n/);
  assert.match(seen, /\r\ntostring: t\r\n/);
  assert.doesNotMatch(seen, /native code/);
});
