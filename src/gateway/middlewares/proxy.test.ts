/**
 * Middlewares in front of the data plane's real proxy (undici to a real upstream on loopback): the proxy's
 * coded failures drive retry, errors and circuitBreaker; headers and compress edit what the proxy streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { Agent, request } from 'undici';
import './index.ts';
import { build, compose, serveHandler, testContext } from './testing.ts';
import { createProxy } from '../services/proxy.ts';
import type { Handler } from '../http/types.ts';

async function upstream() {
  const server = createServer((req, res) => {
    const body = JSON.stringify({ url: req.url, headers: req.headers }).padEnd(4000, ' ');
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json', 'x-powered-by': 'upstream' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => { server.closeAllConnections(); server.close(); } };
}

test('stripPrefix + headers + compress through the real proxy', async () => {
  const up = await upstream();
  const dispatcher = new Agent();
  const proxy = createProxy({ url: up.url, passHostHeader: true, preservePath: false, dispatcher });
  const chain = compose(
    [
      build('stripPrefix', { prefixes: ['/api'] }),
      build('headers', { customRequestHeaders: { 'X-Script-Name': 'test' }, customResponseHeaders: { 'X-Powered-By': '', 'X-Gateway': 'meshgate' } }),
      build('compress', {}),
    ],
    proxy,
  );
  const s = await serveHandler(chain);
  try {
    const res = await request(`${s.url}/api/users?x=1`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['x-gateway'], 'meshgate');
    assert.equal(res.headers['x-powered-by'], undefined);
    const body = JSON.parse(zlib.gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString()) as { url: string; headers: Record<string, string> };
    assert.equal(body.url, '/users?x=1');
    assert.equal(body.headers['x-forwarded-prefix'], '/api');
    assert.equal(body.headers['x-script-name'], 'test');
  } finally {
    await s.close();
    await dispatcher.close();
    up.close();
  }
});

test('retry, errors and circuitBreaker act on the real proxy’s failures', async () => {
  const up = await upstream();
  const dispatcher = new Agent();
  // A port nobody listens on: the proxy rejects with Bad Gateway before writing anything.
  const dead = createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}`;
  await new Promise<void>((r) => dead.close(() => r()));
  const deadProxy = createProxy({ url: deadUrl, passHostHeader: true, preservePath: false, dispatcher });
  const pages: Handler = async (req, rw) => {
    rw.writeHead(200, { 'content-type': 'text/plain' });
    rw.end(`sorry (${req.url})`);
  };
  const retried: number[] = [];
  const ctx = { ...testContext({ services: { pages } }), hooks: { retried: (_r: unknown, n: number) => retried.push(n) } };
  const chain = compose([build('errors', { status: ['500-599'], service: 'pages', query: '/{status}' }, ctx), build('retry', { attempts: 3 }, ctx)], deadProxy);
  const s = await serveHandler(chain);
  try {
    const res = await fetch(s.url);
    assert.equal(res.status, 502);
    assert.equal(await res.text(), 'sorry (/502)');
    assert.deepEqual(retried, [2, 3]);
  } finally {
    await s.close();
  }
  const liveProxy = createProxy({ url: up.url, passHostHeader: true, preservePath: false, dispatcher });
  const cb = await serveHandler(build('circuitBreaker', { expression: 'ResponseCodeRatio(500, 600, 0, 600) > 0.5', checkPeriod: '1ms' })(liveProxy));
  try {
    let status = 0;
    for (let i = 0; i < 50 && status !== 503; i++) {
      const r = await fetch(`${cb.url}/fail`);
      status = r.status;
      await r.arrayBuffer();
      await new Promise((w) => setTimeout(w, 2));
    }
    assert.equal(status, 503, 'the breaker opens on 5xx answers');
    const open = await fetch(`${cb.url}/ok`);
    assert.equal(open.status, 503);
    assert.equal(await open.text(), 'Service Unavailable');
  } finally {
    await cb.close();
    await dispatcher.close();
    up.close();
  }
});
