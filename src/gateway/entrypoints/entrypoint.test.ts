import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startGateway, startUpstream } from '../services/testing.ts';
import { createProxy } from '../services/proxy.ts';
import { TransportRegistry } from '../services/transport.ts';
import { GatewayMetrics } from '../metrics/metrics.ts';
import { AccessLog } from '../accesslog/accesslog.ts';
import { accessLogSchema } from '../accesslog/schema.ts';
import type { Handler } from '../http/types.ts';

const transports = new TransportRegistry();
after(() => transports.close());

const hello: Handler = async (req, rw) => {
  req.routerName = 'api@file';
  req.serviceName = 'svc@file';
  req.data.OriginStatus = 200;
  req.data.ServiceURL = 'http://10.0.0.1:80';
  rw.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
  rw.end('hello');
};

function raw(port: number, text: string, waitMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => { data += d; });
    socket.on('close', () => resolve(data));
    socket.on('error', () => resolve(data));
    setTimeout(() => { socket.destroy(); resolve(data); }, waitMs).unref();
  });
}

test('request smuggling shapes are rejected with 400', async (t) => {
  let reached = 0;
  const gw = await startGateway(async (req, rw) => { reached++; await hello(req, rw); });
  t.after(() => gw.close());
  const both = await raw(gw.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.match(both, /^HTTP\/1\.1 400 /);
  const conflicting = await raw(gw.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde');
  assert.match(conflicting, /^HTTP\/1\.1 400 /);
  const duplicate = await raw(gw.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd');
  assert.match(duplicate, /^HTTP\/1\.1 400 /);
  const badTe = await raw(gw.port, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n');
  assert.match(badTe, /^HTTP\/1\.1 400 /);
  assert.equal(reached, 0);
});

test('a client that never finishes its headers is cut off (slowloris)', async (t) => {
  const gw = await startGateway(hello, { headersTimeout: 200, config: { transport: { respondingTimeouts: { readTimeout: '1s' } } } });
  t.after(() => gw.close());
  const socket = net.connect(gw.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (d) => { answer += d; });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const trickle = setInterval(() => { if (!socket.destroyed) socket.write('X-More: 1\r\n'); }, 50);
  t.after(() => { clearInterval(trickle); socket.destroy(); });
  await Promise.race([closed, sleep(10_000).then(() => { throw new Error('slow client was never cut off'); })]);
  clearInterval(trickle);
  // node's header timeout raises ERR_HTTP_REQUEST_TIMEOUT, which the entry point answers 408 before closing. (Go's
  // server closes a timed-out connection without a word — server.go `isCommonNetReadError`; a 408 is the more
  // useful of the two and what the gateway has always sent.) With the timeout broken the trickle keeps the
  // connection open and the race above throws.
  assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.match(answer, /\r\nConnection: close\r\n/);
});

test('readTimeout also bounds a request body sent one byte at a time', async (t) => {
  // Traefik's respondingTimeouts.readTimeout is Go's http.Server.ReadTimeout: "the maximum duration for reading
  // the entire request, including the body" (net/http server.go). Here it is node's requestTimeout.
  let received = 0;
  const up = await startUpstream((req, res) => {
    req.on('data', (c: Buffer) => { received += c.length; });
    req.on('end', () => { res.writeHead(200); res.end('whole body'); });
    req.on('error', () => {});
  });
  const proxy = createProxy({ url: up.url, passHostHeader: true, preservePath: false, dispatcher: transports.get(undefined).pool(up.url) });
  const gw = await startGateway(proxy, { config: { transport: { respondingTimeouts: { readTimeout: '1s' } } } });
  t.after(async () => { await gw.close(); await up.close(); });
  const socket = net.connect(gw.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.on('error', () => {});
  socket.write('PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (d) => { answer += d; });
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  // 100 bytes at one per 200 ms would take 20 s; the 1 s readTimeout must end it long before.
  const trickle = setInterval(() => { if (!socket.destroyed) socket.write('a'); }, 200);
  t.after(() => { clearInterval(trickle); socket.destroy(); });
  await Promise.race([closed, sleep(10_000).then(() => { throw new Error('slow body was never cut off'); })]);
  clearInterval(trickle);
  assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  assert.ok(received < 100, `the upstream never got the whole body (got ${received} bytes)`);
});

test('graceful drain lets an in-flight request finish and refuses new connections', async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  let started!: () => void;
  const inFlight = new Promise<void>((r) => { started = r; });
  const gw = await startGateway(async (_req, rw) => {
    started();
    await released;
    rw.writeHead(200, { 'content-type': 'text/plain' });
    rw.end('finished');
  });
  const pending = request(gw.url);
  await inFlight;
  const closing = gw.entryPoint.close(10_000);
  await sleep(100);
  await assert.rejects(request(gw.url), 'new connections are refused while draining');
  release();
  const res = await pending;
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers.connection, 'close');
  assert.equal(await res.body.text(), 'finished');
  await closing;
});

test('metrics carry Traefik names and labels', async (t) => {
  const metrics = new GatewayMetrics({ addRoutersLabels: true });
  const gw = await startGateway(hello, { metrics });
  t.after(() => gw.close());
  for (let i = 0; i < 3; i++) await (await request(`${gw.url}/x`, { method: 'POST', body: 'abcd' })).body.dump();
  metrics.recordConfigReload(true);
  metrics.recordRetry('svc@file');
  const text = await metrics.metricsText();
  assert.match(text, /traefik_entrypoint_requests_total\{code="200",entrypoint="web",method="POST",protocol="http"\} 3/);
  assert.match(text, /traefik_entrypoint_request_duration_seconds_bucket\{code="200",entrypoint="web",method="POST",protocol="http",le="0.1"\} 3/);
  assert.match(text, /traefik_entrypoint_requests_bytes_total\{code="200",entrypoint="web",method="POST",protocol="http"\} 12/);
  assert.match(text, /traefik_entrypoint_responses_bytes_total\{code="200",entrypoint="web",method="POST",protocol="http"\} 15/);
  assert.match(text, /traefik_router_requests_total\{code="200",method="POST",protocol="http",router="api@file",service="svc@file"\} 3/);
  assert.match(text, /traefik_service_requests_total\{code="200",method="POST",protocol="http",service="svc@file"\} 3/);
  assert.match(text, /traefik_service_request_duration_seconds_count\{code="200",method="POST",protocol="http",service="svc@file"\} 3/);
  assert.match(text, /traefik_service_retries_total\{service="svc@file"\} 1/);
  assert.match(text, /traefik_config_reloads_total 1/);
  assert.match(text, /traefik_config_last_reload_success \d{10}/);
  assert.match(text, /traefik_open_connections\{entrypoint="web",protocol="TCP"\} [1-9]/);
  assert.match(text, /# TYPE traefik_entrypoint_request_duration_seconds histogram/);
});

async function logLines(stream: PassThrough, n: number): Promise<string[]> {
  let text = '';
  stream.on('data', (d: Buffer) => { text += d.toString(); });
  const end = Date.now() + 5000;
  while (text.split('\n').filter(Boolean).length < n && Date.now() < end) await sleep(10);
  return text.split('\n').filter(Boolean);
}

test('access log: JSON with Traefik field names, header redaction', async (t) => {
  const out = new PassThrough();
  const accessLog = new AccessLog(accessLogSchema.parse({
    format: 'json',
    fields: { names: { StartLocal: 'drop' }, headers: { defaultMode: 'keep', names: { Authorization: 'redact', 'X-Drop': 'drop' } } },
  }), out);
  const gw = await startGateway(hello, { accessLog });
  t.after(() => gw.close());
  await (await request(`${gw.url}/path?q=1`, { headers: { authorization: 'Bearer secret', 'x-drop': 'x', 'user-agent': 'ua' } })).body.dump();
  const [line] = await logLines(out, 1);
  const entry = JSON.parse(line!) as Record<string, unknown>;
  assert.equal(entry.ClientHost, '127.0.0.1');
  assert.equal(entry.RequestMethod, 'GET');
  assert.equal(entry.RequestPath, '/path?q=1');
  assert.equal(entry.RequestProtocol, 'HTTP/1.1');
  assert.equal(entry.DownstreamStatus, 200);
  assert.equal(entry.DownstreamContentSize, 5);
  assert.equal(entry.OriginStatus, 200);
  assert.equal(entry.RouterName, 'api@file');
  assert.equal(entry.ServiceName, 'svc@file');
  assert.equal(entry.ServiceURL, 'http://10.0.0.1:80');
  assert.equal(entry.RequestCount, 1);
  assert.equal(entry.entryPointName, 'web');
  assert.equal(typeof entry.Duration, 'number');
  assert.ok((entry.Duration as number) > 0);
  assert.equal(entry.StartLocal, undefined);
  assert.ok(entry.StartUTC);
  assert.equal(entry.request_Authorization, 'REDACTED');
  assert.equal(entry['request_User-Agent'], 'ua');
  assert.equal(entry['request_X-Drop'], undefined);
  assert.equal(entry['downstream_Content-Type'], 'text/plain');
});

test('access log: common format and status filter', async (t) => {
  const out = new PassThrough();
  const accessLog = new AccessLog(accessLogSchema.parse({ format: 'common', filters: { statusCodes: ['200-299'] } }), out);
  let status = 200;
  const gw = await startGateway(async (req, rw) => {
    if (status !== 200) { rw.writeHead(status); rw.end(); return; }
    await hello(req, rw);
  }, { accessLog });
  t.after(() => gw.close());
  await (await request(`${gw.url}/a`, { headers: { referer: 'http://r', 'user-agent': 'ua' } })).body.dump();
  status = 404;
  await (await request(`${gw.url}/missing`)).body.dump();
  status = 200;
  await (await request(`${gw.url}/b`)).body.dump();
  const lines = await logLines(out, 2);
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /^127\.0\.0\.1 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/a HTTP\/1\.1" 200 5 "http:\/\/r" "ua" 1 "api@file" "http:\/\/10\.0\.0\.1:80" \d+ms$/);
  assert.match(lines[1]!, /"GET \/b HTTP\/1\.1" 200 5 "-" "-" 3 "api@file"/);
});
