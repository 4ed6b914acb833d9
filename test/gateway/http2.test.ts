/**
 * HTTP/2 on the client side of the gateway and to upstreams, against Traefik's behaviour:
 * - entry points speak h2 by ALPN on TLS and h2c with prior knowledge on plain connections (Traefik's
 *   server_entrypoint_tcp.go createHTTPServer wraps the plain server in h2c.NewHandler; the TLS one negotiates h2),
 *   with `http2.maxConcurrentStreams` advertised in SETTINGS (HTTP2Config.SetDefaults: 250);
 * - the h2 → h1 downgrade follows Go's http2 server (serverConn.newWriterAndRequest): `:authority` is the host,
 *   a body of unknown length reaches the HTTP/1.1 upstream chunked, a connection-specific field makes the stream
 *   malformed (RFC 9113 §8.2.2), a content-length that disagrees with the DATA frames fails the stream (§8.1.1);
 * - upstreams: `https://` chooses h2 by ALPN unless the serversTransport sets `disableHTTP2`
 *   (pkg/server/service/transport.go: ForceAttemptHTTP2 unless DisableHTTP2), `peerCertURI` checks the URI SAN.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { frame } from '../helpers/h2-frames.ts';
import { fileProviderYaml, startGateway, tempDir, eventually } from './helpers.ts';

const run = promisify(execFile);

let dir: string;
let gw: Awaited<ReturnType<typeof startGateway>>;
let h1: Server;
let h1Seen: Array<{ method: string; url: string; version: string; headers: Record<string, unknown>; body: string }>;
let h2Secure: http2.Http2SecureServer;
let h2SeenVersions: string[];
let certFile: string;
let port: number;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

before(async () => {
  dir = await tempDir('mg-h2-');
  h1Seen = [];
  h1 = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      h1Seen.push({ method: req.method!, url: req.url!, version: req.httpVersion, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': 'h1' });
      res.end(`h1 saw ${req.httpVersion} ${req.headers.host}`);
    });
  });
  await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));

  // A TLS upstream that speaks h2 and http/1.1, with a SPIFFE URI SAN, signed by a CA the transport trusts.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=backend', '-keyout', join(dir, 'up.key'), '-out', join(dir, 'up.csr')]);
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=DNS:backend.internal,URI:spiffe://mesh.test/ns/default/svc/backend\n');
  openssl(['x509', '-req', '-in', join(dir, 'up.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '1',
    '-extfile', join(dir, 'ext.cnf'), '-out', join(dir, 'up.crt')]);
  h2SeenVersions = [];
  h2Secure = http2.createSecureServer({ key: await readFile(join(dir, 'up.key')), cert: await readFile(join(dir, 'up.crt')), allowHTTP1: true }, (req, res) => {
    h2SeenVersions.push(req.httpVersion);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`tls upstream saw ${req.httpVersion}`);
  });
  await new Promise<void>((resolve) => h2Secure.listen(0, '127.0.0.1', resolve));
  const h2Port = (h2Secure.address() as AddressInfo).port;

  certFile = join(dir, 'gw.crt');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=secure.example.com',
    '-addext', 'subjectAltName=DNS:secure.example.com', '-keyout', join(dir, 'gw.key'), '-out', certFile]);
  const h1Url = `http://127.0.0.1:${(h1.address() as AddressInfo).port}`;
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    plain:
      rule: Host(\`plain.example.com\`)
      service: h1
    other:
      rule: Host(\`other.example.com\`)
      service: h1
    secure:
      rule: Host(\`secure.example.com\`)
      service: h1
      tls: {}
    up-h2:
      rule: Host(\`up-h2.example.com\`)
      service: tls-h2
    up-h1:
      rule: Host(\`up-h1.example.com\`)
      service: tls-h1
    up-wrong-uri:
      rule: Host(\`up-wrong.example.com\`)
      service: tls-wrong
  services:
    h1:
      loadBalancer:
        servers:
          - url: "${h1Url}"
    tls-h2:
      loadBalancer:
        serversTransport: spiffe
        servers:
          - url: "https://127.0.0.1:${h2Port}"
    tls-h1:
      loadBalancer:
        serversTransport: http1only
        servers:
          - url: "https://127.0.0.1:${h2Port}"
    tls-wrong:
      loadBalancer:
        serversTransport: wronguri
        servers:
          - url: "https://127.0.0.1:${h2Port}"
  serversTransports:
    spiffe:
      rootCAs: ["${join(dir, 'ca.crt')}"]
      peerCertURI: "spiffe://mesh.test/ns/default/svc/backend"
    http1only:
      rootCAs: ["${join(dir, 'ca.crt')}"]
      serverName: backend.internal
      disableHTTP2: true
    wronguri:
      rootCAs: ["${join(dir, 'ca.crt')}"]
      peerCertURI: "spiffe://mesh.test/ns/default/svc/other"
tls:
  certificates:
    - certFile: "${certFile}"
      keyFile: "${join(dir, 'gw.key')}"
`);
  await writeFile(join(dir, 'gateway.yml'), `
entryPoints:
  web:
    address: "127.0.0.1:0"
    http2:
      maxConcurrentStreams: 42
  traefik:
    address: "127.0.0.1:0"
${fileProviderYaml()}`);
  gw = await startGateway(join(dir, 'gateway.yml'));
  port = gw.addresses().web!.port;
});

after(async () => {
  await gw?.close();
  h1?.closeAllConnections();
  h1?.close();
  h2Secure?.close();
});

async function curl(args: string[]): Promise<{ status: string; version: string; body: string }> {
  const { stdout } = await run('curl', ['-s', '--max-time', '20', '-w', '\n%{http_code} %{http_version}', ...args]);
  const lines = stdout.split('\n');
  const [status, version] = lines.pop()!.split(' ');
  return { status: status!, version: version!, body: lines.join('\n') };
}

test('curl --http2 over TLS and --http2-prior-knowledge on plain reach an HTTP/1.1 upstream with the h2 head turned into HTTP/1.1', async () => {
  const tls = await eventually(async () => {
    const r = await curl(['--http2', '--cacert', certFile, '--resolve', `secure.example.com:${port}:127.0.0.1`, `https://secure.example.com:${port}/tls`]);
    assert.equal(r.status, '200');
    return r;
  });
  assert.equal(tls.version, '2');
  assert.equal(tls.body, `h1 saw 1.1 secure.example.com:${port}`);

  h1Seen.length = 0;
  const prior = await curl(['--http2-prior-knowledge', '-H', 'Host: plain.example.com', '--data-binary', 'hello body', `http://127.0.0.1:${port}/prior?q=1`]);
  assert.equal(prior.status, '200');
  assert.equal(prior.version, '2');
  const seen = h1Seen.at(-1)!;
  assert.equal(seen.url, '/prior?q=1');
  assert.equal(seen.method, 'POST');
  assert.equal(seen.body, 'hello body');
  assert.equal(seen.headers.host, 'plain.example.com');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  for (const name of Object.keys(seen.headers)) assert.ok(!name.startsWith(':'), `pseudo-header ${name} reached the upstream`);

  // HTTP/1.1 on the same port still works.
  const one = await curl(['--http1.1', '-H', 'Host: plain.example.com', `http://127.0.0.1:${port}/one`]);
  assert.equal(one.version, '1.1');
  assert.equal(one.status, '200');
});

// Traefik wraps plain entry points in x/net's h2c.NewHandler (server_entrypoint_tcp.go); its h2cUpgrade answers 101
// and serves the upgraded request as stream 1 (x/net/http2/h2c/h2c.go). curl --http2 on http:// asks for exactly that.
test('curl --http2 on a plain URL: Upgrade: h2c answers 101 and the request is served over HTTP/2 as stream 1', async () => {
  h1Seen.length = 0;
  const { stdout } = await run('curl', ['-s', '-i', '--max-time', '20', '--http2', '-H', 'Host: plain.example.com', `http://127.0.0.1:${port}/upgraded?x=1`]);
  assert.match(stdout, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(stdout, /\r\n\r\nHTTP\/2 200 ?\r\n/);
  assert.match(stdout, /h1 saw 1\.1 plain\.example\.com/);
  const seen = h1Seen.at(-1)!;
  assert.equal(seen.url, '/upgraded?x=1');
  assert.equal(seen.method, 'GET');
  assert.equal(seen.headers.host, 'plain.example.com');
  for (const name of ['upgrade', 'http2-settings']) assert.equal(seen.headers[name], undefined, `${name} reached the upstream`);

  // A request with a body is not upgraded (a server may ignore Upgrade); it is answered over HTTP/1.1.
  const post = await curl(['--http2', '-H', 'Host: plain.example.com', '--data-binary', 'b', `http://127.0.0.1:${port}/post`]);
  assert.equal(post.status, '200');
  assert.equal(post.version, '1.1');
});

test('h2 → h1: a streamed body of unknown length arrives chunked; :authority wins over a Host field', async () => {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    h1Seen.length = 0;
    const settings = await new Promise<http2.Settings>((resolve) => client.once('remoteSettings', resolve));
    assert.equal(settings.maxConcurrentStreams, 42, 'entryPoints.web.http2.maxConcurrentStreams');
    const req = client.request({ ':method': 'PUT', ':path': '/stream', ':authority': 'plain.example.com', host: 'other.example.com' });
    req.write('part1-');
    await new Promise((r) => setTimeout(r, 50));
    req.end('part2');
    const body = await new Promise<string>((resolve, reject) => {
      let text = '';
      req.on('data', (c: Buffer) => { text += c.toString(); });
      req.on('end', () => resolve(text));
      req.on('error', reject);
    });
    assert.equal(body, 'h1 saw 1.1 plain.example.com');
    const seen = h1Seen.at(-1)!;
    assert.equal(seen.body, 'part1-part2');
    assert.equal(seen.headers['transfer-encoding'], 'chunked');
    assert.equal(seen.headers['content-length'], undefined);
  } finally {
    client.close();
  }
});

/** An HPACK literal header field without indexing, name and value as plain strings (RFC 7541 §6.2.2). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  if (n.length > 126 || v.length > 126) throw new Error('keep test headers short');
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

/**
 * Sends one request on a raw h2c connection (the node client refuses to send malformed requests) and returns the
 * frame types the gateway answered on stream 1: 3 is RST_STREAM, 1 is HEADERS.
 */
async function rawRequest(fields: Array<[string, string]>, data?: Buffer): Promise<{ types: number[]; rstCode?: number }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const block = Buffer.concat(fields.map(([n, v]) => literal(n, v)));
  socket.write(Buffer.concat([
    Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
    frame(4, 0, 0, Buffer.alloc(0)),
    frame(1, data === undefined ? 0x5 : 0x4, 1, block),
    ...(data !== undefined ? [frame(0, 0x1, 1, data)] : []),
  ]));
  const types: number[] = [];
  let rstCode: number | undefined;
  let buffer = Buffer.alloc(0);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        const type = buffer[3]!;
        const stream = buffer.readUInt32BE(5) & 0x7fffffff;
        if (stream === 1) {
          types.push(type);
          if (type === 3) rstCode = buffer.readUInt32BE(9);
          if (type === 3 || (buffer[4]! & 0x1) !== 0) { clearTimeout(timer); resolve(); }
        }
        if (type === 7) { clearTimeout(timer); resolve(); }
        buffer = buffer.subarray(9 + length);
      }
    });
    socket.on('close', () => { clearTimeout(timer); resolve(); });
  });
  socket.destroy();
  return { types, ...(rstCode !== undefined ? { rstCode } : {}) };
}

test('h2 smuggling defences: connection-specific fields and a lying content-length never reach the upstream', async () => {
  const base: Array<[string, string]> = [[':method', 'POST'], [':scheme', 'http'], [':path', '/smuggle'], [':authority', 'plain.example.com']];
  const ok = await rawRequest([[':method', 'GET'], [':scheme', 'http'], [':path', '/fine'], [':authority', 'plain.example.com']]);
  assert.ok(ok.types.includes(1), `a well-formed raw request is answered: ${JSON.stringify(ok)}`);

  h1Seen.length = 0;
  for (const [name, value] of [['transfer-encoding', 'chunked'], ['connection', 'keep-alive'], ['upgrade', 'websocket'], ['te', 'gzip']] as const) {
    const r = await rawRequest([...base, [name, value]], Buffer.from('0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n'));
    // nghttp2 treats the stream as malformed: RST_STREAM PROTOCOL_ERROR (1), no response, nothing upstream.
    assert.deepEqual(r, { types: [3], rstCode: 1 }, `${name}: ${value}`);
  }
  const lying = await rawRequest([...base, ['content-length', '3']], Buffer.from('abcGET /admin HTTP/1.1\r\nHost: x\r\n\r\n'));
  // More DATA than content-length: the stream (here the whole connection) fails; no response. Nothing of any of the
  // requests above reached the upstream (a second request hidden in a body least of all).
  assert.ok(!lying.types.includes(1), JSON.stringify(lying));
  assert.deepEqual(h1Seen, []);
});

test('upstream h2 by ALPN over TLS, disableHTTP2 keeps HTTP/1.1, peerCertURI checks the SPIFFE URI SAN', async () => {
  const h2 = await eventually(async () => {
    const r = await curl(['-H', 'Host: up-h2.example.com', `http://127.0.0.1:${port}/`]);
    assert.equal(r.status, '200');
    return r;
  });
  assert.equal(h2.body, 'tls upstream saw 2.0');
  const h1only = await curl(['-H', 'Host: up-h1.example.com', `http://127.0.0.1:${port}/`]);
  assert.equal(h1only.body, 'tls upstream saw 1.1');
  const wrong = await curl(['-H', 'Host: up-wrong.example.com', `http://127.0.0.1:${port}/`]);
  assert.equal(wrong.status, '502');
});
