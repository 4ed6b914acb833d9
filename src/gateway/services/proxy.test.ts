import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { createProxy } from './proxy.ts';
import { TransportRegistry } from './transport.ts';
import { echoUpstream, startGateway, startUpstream } from './testing.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';

const transports = new TransportRegistry();
after(() => transports.close());

function proxyTo(url: string, opts: { passHostHeader?: boolean; preservePath?: boolean; transport?: string } = {}) {
  return createProxy({
    url, passHostHeader: opts.passHostHeader ?? true, preservePath: opts.preservePath ?? false,
    dispatcher: transports.get(opts.transport).pool(new URL(url).origin),
  });
}

/** Raw HTTP/1.1 exchange, so hop-by-hop headers reach the gateway exactly as written. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => { data += d; });
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

test('forwards with X-Forwarded-* and strips hop-by-hop headers both ways', async (t) => {
  const up = await startUpstream((req, res) => {
    const body = JSON.stringify(req.headers);
    res.writeHead(200, {
      'content-length': Buffer.byteLength(body), 'content-type': 'application/json', connection: 'X-Up-Hop', 'x-up-hop': '1', 'keep-alive': 'timeout=5',
      'proxy-authenticate': 'Basic', 'x-up-kept': 'yes',
    });
    res.end(body);
  });
  const gw = await startGateway(proxyTo(up.url));
  t.after(async () => { await gw.close(); await up.close(); });
  const raw = await rawRequest(gw.port, 'GET /a?b=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nConnection: close, X-Custom\r\n'
    + 'X-Custom: secret\r\nKeep-Alive: 300\r\nTE: gzip\r\nProxy-Authorization: Basic xx\r\nX-Forwarded-For: 6.6.6.6\r\n'
    + 'X-Real-Ip: 6.6.6.6\r\nUser-Agent: t\r\n\r\n');
  const [head, body] = raw.split('\r\n\r\n');
  const seen = JSON.parse(body!) as Record<string, string>;
  assert.equal(seen.host, 'Example.COM:8080');
  assert.equal(seen['x-forwarded-for'], '127.0.0.1', 'untrusted client XFF is replaced by the peer');
  assert.equal(seen['x-real-ip'], '127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'Example.COM:8080');
  assert.equal(seen['x-forwarded-port'], '8080');
  assert.ok(seen['x-forwarded-server']);
  assert.equal(seen['user-agent'], 't');
  for (const hop of ['x-custom', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(seen[hop], undefined, hop);
  assert.match(head!, /x-up-kept: yes/i);
  assert.doesNotMatch(head!, /x-up-hop/i);
  assert.doesNotMatch(head!, /proxy-authenticate/i);
  assert.doesNotMatch(head!, /keep-alive: timeout=5/i);
});

test('trusted peers keep their X-Forwarded-For, which is appended to', async (t) => {
  const up = await echoUpstream('a');
  const gw = await startGateway(proxyTo(up.url), { config: { forwardedHeaders: { trustedIPs: ['127.0.0.0/8'] } } });
  t.after(async () => { await gw.close(); await up.close(); });
  const res = await request(`${gw.url}/x`, { headers: { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' } });
  const seen = (await res.body.json()) as { headers: Record<string, string> };
  assert.equal(seen.headers['x-forwarded-for'], '1.2.3.4, 127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
});

test('passHostHeader=false sends the server host; preservePath joins the server path', async (t) => {
  const up = await echoUpstream('a');
  const gw = await startGateway(proxyTo(`${up.url}/base/`, { passHostHeader: false, preservePath: true }));
  t.after(async () => { await gw.close(); await up.close(); });
  const res = await request(`${gw.url}/x/y?q=1`, { headers: { host: 'front.example' } });
  const seen = (await res.body.json()) as { url: string; headers: Record<string, string> };
  assert.equal(seen.headers.host, new URL(up.url).host);
  assert.equal(seen.url, '/base/x/y?q=1');
  const gw2 = await startGateway(proxyTo(`${up.url}/base/`));
  t.after(() => gw2.close());
  const seen2 = (await (await request(`${gw2.url}/x`, { headers: { host: 'front.example' } })).body.json()) as { url: string; headers: Record<string, string> };
  assert.equal(seen2.url, '/x', 'without preservePath the server URL path is not used (Traefik v3)');
  assert.equal(seen2.headers.host, 'front.example');
});

test('streams request bodies to the upstream', async (t) => {
  const up = await echoUpstream('a');
  const gw = await startGateway(proxyTo(up.url));
  t.after(async () => { await gw.close(); await up.close(); });
  const res = await request(`${gw.url}/p`, { method: 'POST', body: 'hello body' });
  assert.equal(((await res.body.json()) as { body: string }).body, 'hello body');
  const chunked = await request(`${gw.url}/p`, { method: 'POST', body: Readable.from(['a', 'b']) });
  assert.equal(((await chunked.body.json()) as { body: string }).body, 'ab');
});

test('connection refused is a 502 "Bad Gateway" with no internals, rejected before any header', async (t) => {
  const closed = await startUpstream(() => {});
  const deadUrl = closed.url;
  await closed.close();
  const handler = proxyTo(deadUrl);
  const gw = await startGateway(handler);
  t.after(() => gw.close());
  const res = await request(`${gw.url}/`);
  assert.equal(res.statusCode, 502);
  assert.equal(await res.body.text(), 'Bad Gateway');

  let headersSent = false;
  const rw = { headersSent: false, statusCode: 0, headers: {}, closed: false,
    writeHead() { headersSent = true; }, write() { return true; }, end() {}, onDrain() {} } as unknown as ResponseWriter;
  const req = { method: 'GET', url: '/', headers: {}, host: 'x', remoteAddress: '127.0.0.1', clientIp: '127.0.0.1', tls: false,
    entryPoint: 'web', body: null, originalUrl: '/', data: {} } as unknown as GatewayRequest;
  await assert.rejects(handler(req, rw), (err) => isMeshgateError(err, 'MG_GATEWAY_BAD_GATEWAY') && (err as { statusCode: number }).statusCode === 502);
  assert.equal(headersSent, false);
});

test('response header timeout is a 504 "Gateway Timeout"', async (t) => {
  const slow = await startUpstream((_req, res) => { setTimeout(() => res.end('late'), 2000).unref(); });
  const local = new TransportRegistry({ quick: { forwardingTimeouts: { responseHeaderTimeout: '200ms' } } });
  const gw = await startGateway(createProxy({ url: slow.url, passHostHeader: true, preservePath: false, dispatcher: local.get('quick').pool(slow.url) }));
  t.after(async () => { await gw.close(); await slow.close(); await local.close(); });
  const res = await request(`${gw.url}/`);
  assert.equal(res.statusCode, 504);
  assert.equal(await res.body.text(), 'Gateway Timeout');
});

test('WebSocket upgrade passes through both ways', async (t) => {
  const up = http.createServer();
  up.on('upgrade', (req, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Seen-Proto: ' + req.headers['x-forwarded-proto'] + '\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`));
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  const upUrl = `http://127.0.0.1:${(up.address() as net.AddressInfo).port}`;
  const gw = await startGateway(proxyTo(upUrl));
  t.after(async () => { await gw.close(); up.closeAllConnections(); up.close(); });
  const socket = net.connect(gw.port, '127.0.0.1');
  socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\nSec-WebSocket-Version: 13\r\n\r\n');
  let data = '';
  socket.setEncoding('utf8');
  await new Promise<void>((resolve) => socket.on('data', (d) => {
    data += d;
    if (data.includes('\r\n\r\n') && !data.includes('echo:')) socket.write('ping');
    if (data.includes('echo:ping')) resolve();
  }));
  socket.destroy();
  assert.match(data, /^HTTP\/1\.1 101 Switching Protocols/);
  assert.match(data, /x-seen-proto: ws/i);
  assert.match(data, /upgrade: websocket/i);
});

test('binary bodies pass byte for byte: whole small ones (one write), large ones and chunked ones', async (t) => {
  const bytes = (size: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) % 256));
  const bodies: Record<string, Buffer> = { '/small': bytes(256), '/large': bytes(200_000), '/chunked': bytes(5000) };
  const up = await startUpstream((req, res) => {
    const body = bodies[req.url!]!;
    if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(body.subarray(0, 1000));
      setTimeout(() => res.end(body.subarray(1000)), 5);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  const gw = await startGateway(proxyTo(up.url));
  t.after(async () => { await gw.close(); await up.close(); });
  for (const [path, expected] of Object.entries(bodies)) {
    const res = await request(`http://127.0.0.1:${gw.port}${path}`);
    const got = Buffer.from(await res.body.arrayBuffer());
    assert.equal(res.statusCode, 200);
    assert.ok(got.equals(expected), `${path}: ${got.length} bytes, expected ${expected.length}`);
    if (path !== '/chunked') assert.equal(res.headers['content-length'], String(expected.length));
  }
});
