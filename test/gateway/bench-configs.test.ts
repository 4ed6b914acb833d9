/**
 * The gateway benchmark's configurations (bench/gateway/configs.ts) load and route as the benchmark expects, so a
 * change of the configuration schema cannot silently turn a benchmark row into a row of 404s or dropped
 * connections; the nginx peers' configurations pass `nginx -t`. No load is generated here (that is `npm run bench`).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { runGateway, type GatewayHandle } from '../../src/gateway/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import {
  BENCH_HOST, SNI_HOST, httpGatewayConfig, tcpGatewayConfig, nginxConf, nginxHttpProxy, nginxH2Proxy, nginxTlsBackend, nginxSniPassthrough,
  selfSignedCertificate, type GatewayConfig,
} from '../../bench/gateway/configs.ts';
import { get, startUpstream, tempDir, type Upstream } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function start(dir: string, config: GatewayConfig): Promise<GatewayHandle> {
  writeFileSync(join(dir, 'dynamic.yml'), config.dynamicYaml);
  writeFileSync(join(dir, 'static.yml'), config.staticYaml);
  const handle = await runGateway({ configFile: join(dir, 'static.yml'), workers: 1, lastGoodFile: false, handleSignals: false, logger: silentLogger() });
  cleanups.push(() => handle.close());
  return handle;
}

async function upstream(): Promise<Upstream> {
  const up = await startUpstream('bench-upstream');
  cleanups.push(() => up.close());
  return up;
}

test('the HTTP/1.1 row: the benchmark router among N routes with its middlewares', async () => {
  const dir = await tempDir('mg-bench-http1-');
  const up = await upstream();
  const gw = await start(dir, httpGatewayConfig({ dir, address: '127.0.0.1:0', routers: 100, upstream: up.url }));
  const reply = await get(`http://127.0.0.1:${gw.addresses().web!.port}/api/items`, { host: BENCH_HOST });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['x-gateway'], 'meshgate');
  assert.equal(reply.json().headers['x-bench'], '1');
});

test('the h2 row: a TLS entry point chooses h2 by ALPN and proxies to the HTTP/1.1 upstream', async () => {
  const dir = await tempDir('mg-bench-h2-');
  const up = await upstream();
  const cert = selfSignedCertificate(dir);
  const gw = await start(dir, httpGatewayConfig({ dir, address: '127.0.0.1:0', routers: 1, upstream: up.url, tls: cert }));
  const session = http2.connect(`https://127.0.0.1:${gw.addresses().websecure!.port}`, { rejectUnauthorized: false });
  cleanups.push(async () => { session.destroy(); });
  await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
  assert.equal(session.alpnProtocol, 'h2');
  const stream = session.request({ ':path': '/api/items', ':authority': BENCH_HOST });
  const [headers, body] = await new Promise<[http2.IncomingHttpHeaders, string]>((resolve, reject) => {
    let text = '';
    let head: http2.IncomingHttpHeaders = {};
    stream.setEncoding('utf8');
    stream.on('response', (h) => { head = h; });
    stream.on('data', (chunk: string) => { text += chunk; });
    stream.on('end', () => resolve([head, text]));
    stream.on('error', reject);
  });
  assert.equal(headers[':status'], 200);
  assert.equal(headers['x-gateway'], 'meshgate');
  assert.equal(JSON.parse(body).headers['x-bench'], '1');
  assert.equal(up.hits, 1);
});

/** Connects with `servername` (none: no SNI) and returns the peer certificate's CN and what the server says first. */
async function tlsHello(port: number, servername: string | undefined): Promise<{ cn: unknown; text: string }> {
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) });
  cleanups.push(async () => { socket.destroy(); });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', () => resolve()).once('error', reject));
  const cn = socket.getPeerCertificate().subject?.CN;
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => { text += chunk; });
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { cn, text };
}

test('the TCP row: HostSNI passthrough reaches the TLS backend for the benchmark SNI only', async () => {
  const dir = await tempDir('mg-bench-tcp-');
  const cert = selfSignedCertificate(dir);
  // The backend greets with its own certificate: passthrough means the client sees the backend's, not the gateway's.
  // It answers once the request arrives, as the benchmark's nginx does.
  const sockets = new Set<tls.TLSSocket>();
  const backend = tls.createServer({ cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, (socket) => {
    sockets.add(socket);
    socket.once('data', () => socket.end('hello from the TLS backend\n'));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => {
    for (const socket of sockets) socket.destroy();
    backend.close(() => resolve());
  }));
  const gw = await start(dir, tcpGatewayConfig({ dir, address: '127.0.0.1:0', backend: `127.0.0.1:${(backend.address() as AddressInfo).port}` }));
  const port = gw.addresses().tcp!.port;
  const routed = await tlsHello(port, SNI_HOST);
  assert.equal(routed.cn, BENCH_HOST);
  assert.equal(routed.text, 'hello from the TLS backend\n');
  // No SNI: no TCP router matches, and the gateway answers itself over HTTPS (Traefik's Router.ServeTCP fallback).
  const unrouted = await tlsHello(port, undefined);
  assert.notEqual(unrouted.cn, BENCH_HOST);
  assert.match(unrouted.text, /^HTTP\/1\.1 404/);
});

test('the nginx peers\' configurations pass nginx -t', async () => {
  const dir = await tempDir('mg-bench-nginx-');
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'tmp'));
  const cert = selfSignedCertificate(dir);
  const configs = {
    http1: { http: nginxHttpProxy(18080, 18081) },
    h2: { http: nginxH2Proxy(18080, 18081, cert) },
    backend: { http: nginxTlsBackend(18080, cert) },
    stream: { http: '', stream: nginxSniPassthrough(18080, 18081) },
  };
  for (const [name, blocks] of Object.entries(configs)) {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, nginxConf(dir, blocks));
    // -t only parses and checks (it binds nothing); it reports on stderr, and exits non-zero on an error.
    assert.doesNotThrow(() => execFileSync('nginx', ['-t', '-q', '-p', dir, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }), name);
  }
});
