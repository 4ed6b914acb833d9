/**
 * The floor peers are correct for what the benchmark measures, and a little beyond: run with
 * `node --test bench/gateway/floor/floor.test.ts`. A node:http upstream answers Content-Length, chunked (with a trailer),
 * close-delimited and 204 responses and echoes request bodies; each peer is driven through real sockets on 127.0.0.1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const PEERS = ['node-http-client-peer.ts', 'net-path-peer.ts', 'net-path-hardened-peer.ts', 'net-path-onread-peer.ts'];
const children: ChildProcess[] = [];
let upstream: http.Server;
let upstreamConnections = 0;
const peerPorts = new Map<string, number>();

const BODY = '01234567890123456789';
const BIG = 2 * 1024 * 1024;
/** More than loopback's socket buffers hold, so a slow reader makes the proxy queue writes and pause the upstream. */
const HUGE = 24 * 1024 * 1024;

before(async () => {
  upstream = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/cl') res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 20 }).end(BODY);
    else if (url === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('first ');
      setTimeout(() => {
        res.write('second ');
        res.addTrailers({ 'x-checksum': 'abc' });
        setTimeout(() => res.end('third'), 5);
      }, 5);
    } else if (url === '/close') {
      // No Content-Length and no chunking: the body ends when the connection does (HTTP/1.0 style).
      res.socket!.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nuntil close');
      res.socket!.end();
    } else if (url === '/big' || url === '/huge') {
      const size = url === '/big' ? BIG : HUGE;
      // 2 MiB in 64 KiB chunks, each byte depending on its position, so a reused or reordered buffer shows.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const more = (): void => {
        while (sent < size) {
          const chunk = Buffer.alloc(65536, 0);
          for (let i = 0; i < chunk.length; i++) chunk[i] = (sent + i) % 251;
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    } else if (url === '/empty') res.writeHead(204).end();
    else if (url === '/headers') {
      const body = JSON.stringify(req.headers);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    } else if (url === '/echo') {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        res.writeHead(200, { 'content-length': body.length, 'x-request-te': String(req.headers['transfer-encoding'] ?? '') }).end(body);
      });
    } else res.writeHead(404, { 'content-length': 0 }).end();
  });
  upstream.on('connection', () => { upstreamConnections++; });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const target = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
  for (const peer of PEERS) {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const child = fork(fileURLToPath(new URL(peer, import.meta.url)), [String(port), target], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`${peer} exited with ${code}`)));
    });
    peerPorts.set(peer, port);
  }
});

after(async () => {
  for (const child of children) child.kill();
  await new Promise((resolve) => upstream.close(resolve));
});

/** Sends raw bytes on one connection and reads until `done` says the answer is complete (or the peer closes). */
function exchange(port: number, bytes: string, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (done(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

/** The payload of a chunked body (extensions and trailers ignored). */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', i);
    const size = parseInt(body.toString('latin1', i, eol), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

const countOf = (text: string, needle: string): number => text.split(needle).length - 1;

for (const peer of PEERS) {
  const port = (): number => peerPorts.get(peer)!;
  const get = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port()}${path}`, init);

  test(`${peer}: a Content-Length response passes through, on kept-alive upstream connections`, async () => {
    const before = upstreamConnections;
    for (let i = 0; i < 20; i++) {
      const res = await get('/cl');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), '20');
      assert.equal(res.headers.get('content-type'), 'text/plain');
      assert.equal(await res.text(), BODY);
    }
    assert.ok(upstreamConnections - before <= 1, `20 sequential requests opened ${upstreamConnections - before} upstream connections`);
  });

  test(`${peer}: a chunked response streams through whole`, async () => {
    const res = await get('/chunked');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    assert.equal(await res.text(), 'first second third');
  });

  test(`${peer}: a 2 MiB chunked response arrives byte for byte`, async () => {
    const body = Buffer.from(await (await get('/big')).arrayBuffer());
    assert.equal(body.length, BIG);
    for (let i = 0; i < body.length; i++) if (body[i] !== i % 251) assert.fail(`byte ${i} is ${body[i]}, not ${i % 251}`);
  });

  test(`${peer}: a reader that stalls gets 24 MiB byte for byte (queued writes, upstream paused)`, async () => {
    const body = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(port(), '127.0.0.1');
      const parts: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => parts.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(parts)));
      socket.on('error', reject);
      socket.write('GET /huge HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      socket.pause();
      setTimeout(() => socket.resume(), 500);
    });
    const payload = dechunk(body.subarray(body.indexOf('\r\n\r\n') + 4));
    assert.equal(payload.length, HUGE);
    for (let i = 0; i < payload.length; i++) if (payload[i] !== i % 251) assert.fail(`byte ${i} is ${payload[i]}, not ${i % 251}`);
  });

  test(`${peer}: a close-delimited response ends when the upstream closes`, async () => {
    const res = await get('/close');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'until close');
  });

  test(`${peer}: a 204 has no body and the connection stays usable`, async () => {
    const text = await exchange(port(), 'GET /empty HTTP/1.1\r\nHost: a\r\n\r\nGET /cl HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.endsWith(BODY));
    assert.match(text, /^HTTP\/1\.1 204 /);
    assert.equal(countOf(text, 'HTTP/1.1 '), 2);
  });

  test(`${peer}: request bodies, Content-Length and chunked, reach the upstream`, async () => {
    const a = await get('/echo', { method: 'POST', body: 'hello body' });
    assert.equal(await a.text(), 'hello body');
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('part one, '));
        controller.enqueue(new TextEncoder().encode('part two'));
        controller.close();
      },
    });
    const b = await get('/echo', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    assert.equal(b.headers.get('x-request-te'), 'chunked');
    assert.equal(await b.text(), 'part one, part two');
  });

  test(`${peer}: hop-by-hop fields stay behind, Host and end-to-end fields go on`, async () => {
    const text = await exchange(
      port(),
      'GET /headers HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Custom: yes\r\n\r\n',
      (t) => t.endsWith('}'),
    );
    const seen = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
    assert.equal(seen.host, 'example.test');
    assert.equal(seen['x-custom'], 'yes');
    assert.equal(seen['keep-alive'], undefined);
    assert.equal(seen.te, undefined);
  });

  test(`${peer}: an upstream 404 goes through; Content-Length with Transfer-Encoding is refused`, async () => {
    const res = await get('/missing');
    assert.equal(res.status, 404);
    const text = await exchange(port(), 'POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', () => false);
    assert.match(text, /^HTTP\/1\.1 400 /);
  });
}

test('net-path-peer.ts: pipelined requests are answered in order', async () => {
  const port = peerPorts.get('net-path-peer.ts')!;
  const text = await exchange(port, 'GET /cl HTTP/1.1\r\nHost: a\r\n\r\nGET /headers HTTP/1.1\r\nHost: b\r\n\r\nGET /cl HTTP/1.1\r\nHost: c\r\n\r\n', (t) => countOf(t, BODY) === 2);
  assert.equal(countOf(text, 'HTTP/1.1 200 OK'), 3);
  assert.ok(text.indexOf('"host":"b"') > text.indexOf(BODY) && text.lastIndexOf(BODY) > text.indexOf('"host":"b"'));
});

test('net-path-peer.ts: a chunked response passes its trailer on', async () => {
  const port = peerPorts.get('net-path-peer.ts')!;
  const text = await exchange(port, 'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n', (t) => t.endsWith('\r\n0\r\nx-checksum: abc\r\n\r\n'));
  assert.match(text, /x-checksum: abc\r\n\r\n$/);
});

test('net-path-hardened-peer.ts: adds X-Forwarded-* and refuses a field value with a control character', async () => {
  const port = peerPorts.get('net-path-hardened-peer.ts')!;
  const res = await fetch(`http://127.0.0.1:${port}/headers`);
  const seen = await res.json() as Record<string, string>;
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], `127.0.0.1:${port}`);
  const text = await exchange(port, 'GET /cl HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01b\r\n\r\n', () => false);
  assert.match(text, /^HTTP\/1\.1 400 /);
});
