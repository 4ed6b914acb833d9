/**
 * The upstream HTTP/1.1 client against real sockets on loopback: node's http server where a well-behaved upstream
 * is enough, and a raw TCP server writing hand-made responses where the test is about framing, protocol errors
 * or connection races.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import { once } from 'node:events';
import { UpstreamPool, type UpstreamPoolOptions } from './pool.ts';
import { UpstreamErrorCodes } from './errors.ts';
import type { ResponseHeaderMap, UpstreamRequest } from './types.ts';

const OPTIONS: UpstreamPoolOptions = { connectTimeoutMs: 2000, headersTimeoutMs: 0, idleTimeoutMs: 60_000, maxIdle: 10, maxHeaderSize: 16 * 1024 };

interface Answer { status: number; headers: ResponseHeaderMap; body: string }

function send(pool: UpstreamPool, request: Partial<UpstreamRequest> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: ResponseHeaderMap = {};
    const chunks: Buffer[] = [];
    pool.dispatch({ method: 'GET', path: '/', headers: [], body: null, upgrade: null, ...request }, {
      onResponseStart(_c, s, h) { status = s; headers = h; },
      onResponseData(_c, chunk) { chunks.push(Buffer.from(chunk)); },
      onResponseEnd() { resolve({ status, headers, body: Buffer.concat(chunks).toString('latin1') }); },
      onResponseError(_c, err) { reject(err); },
    });
  });
}

/** A raw TCP upstream: `onRequest` gets each request head (text) and the socket, and writes whatever it likes. */
async function rawServer(onRequest: (head: string, socket: net.Socket, index: number) => void): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  let index = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        onRequest(head, socket, index++);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('keep-alive: sequential requests share one connection; headers and body arrive intact', async () => {
  const up = await rawServer((head, socket) => {
    const path = head.split(' ')[1]!;
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: ${path.length}\r\n\r\n${path}`);
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    for (const path of ['/one', '/two?x=1', '/three']) {
      const answer = await send(pool, { path });
      assert.equal(answer.status, 200);
      assert.equal(answer.body, path);
      assert.equal(answer.headers['content-type'], 'text/plain');
      assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2']);
    }
    assert.equal(up.connections(), 1);
    assert.equal(pool.idleCount, 1);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('the request head carries method, path, headers, Host and body framing', async () => {
  const heads: string[] = [];
  const up = await rawServer((head, socket) => {
    heads.push(head);
    socket.write('HTTP/1.1 204 No Content\r\n\r\n');
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    await send(pool, { method: 'PUT', path: '/a?b=c', headers: ['x-one', '1', 'x-many', ['a', 'b'], 'content-length', '999'], body: Buffer.from('hello') });
    await send(pool, { path: '/h', headers: ['host', 'example.com'] });
    const first = heads[0]!.split('\r\n');
    assert.equal(first[0], 'PUT /a?b=c HTTP/1.1');
    assert.ok(first.includes('x-one: 1'));
    assert.ok(first.includes('x-many: a') && first.includes('x-many: b'));
    // A Buffer body is framed by its own length, never by a stale header.
    assert.ok(first.includes('content-length: 5'));
    assert.ok(!first.includes('content-length: 999'));
    assert.ok(first.includes(`host: ${new URL(up.url).host}`));
    assert.ok(heads[1]!.split('\r\n').includes('host: example.com'));
    assert.ok(!heads[1]!.toLowerCase().includes(`host: ${new URL(up.url).host}`));
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('a chunked response split into single bytes is reassembled; chunk extensions and trailers are accepted', async () => {
  const up = await rawServer(async (_head, socket) => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n';
    for (const ch of text) {
      socket.write(ch);
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    const answer = await send(pool);
    assert.equal(answer.body, 'hello, world');
    const again = await send(pool);
    assert.equal(again.body, 'hello, world');
    assert.equal(up.connections(), 1, 'the connection is reused after a chunked body');
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('hop-by-hop response fields are consumed, not returned; the ones Connection names go too', async () => {
  const up = await rawServer((_head, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\nX-Private: secret\r\nX-Public: ok\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n0\r\n\r\n');
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    const answer = await send(pool);
    assert.deepEqual(Object.keys(answer.headers), ['x-public']);
    assert.equal(pool.idleCount, 1, 'keep-alive was still honoured');
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('Transfer-Encoding chunked wins over Content-Length, which is dropped', async () => {
  const up = await rawServer((_head, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    const answer = await send(pool);
    assert.equal(answer.body, 'abc');
    assert.equal(answer.headers['content-length'], undefined);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('malformed or ambiguous responses are protocol errors, and their connection is not reused', async () => {
  const bad = [
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nBad Name: a\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX-Bad: a\u0001b\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n',
    'HTTP/2 200 OK\r\n\r\n',
    'HTTP/1.1 2000 OK\r\n\r\n',
    'ICY 200 OK\r\n\r\n',
  ];
  const up = await rawServer((_head, socket, index) => socket.write(bad[index]!));
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    for (const response of bad) {
      await assert.rejects(send(pool), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, UpstreamErrorCodes.protocol, `${JSON.stringify(response)} → ${err.message}`);
        return true;
      });
    }
    assert.equal(up.connections(), bad.length, 'every broken connection was replaced');
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('a response without length is read until the upstream closes; that connection is not kept', async () => {
  const up = await rawServer((_head, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ');
    setTimeout(() => socket.end('part two'), 20);
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    assert.equal((await send(pool)).body, 'part one, part two');
    assert.equal(pool.idleCount, 0);
    assert.equal((await send(pool)).body, 'part one, part two');
    assert.equal(up.connections(), 2);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('HEAD, 204 and 304 have no body whatever their Content-Length says; 1xx interim responses are skipped', async () => {
  const up = await rawServer((head, socket) => {
    if (head.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n');
    else if (head.includes('/304')) socket.write('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n');
    else socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    const head = await send(pool, { method: 'HEAD' });
    assert.equal(head.headers['content-length'], '1234');
    assert.equal(head.body, '');
    assert.equal((await send(pool, { path: '/304' })).status, 304);
    const created = await send(pool, { method: 'POST', body: Buffer.from('x') });
    assert.deepEqual([created.status, created.body], [201, 'ok']);
    assert.equal(up.connections(), 1);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('a keep-alive connection the upstream closed while idle is retried on a new one for replayable requests only', async () => {
  // The upstream answers once per connection and then drops it when the next request arrives, without a word:
  // the race every keep-alive client meets when an upstream's idle timeout fires.
  const up = await rawServer((_head, socket) => {
    if ((socket as net.Socket & { answered?: boolean }).answered) {
      socket.destroy();
      return;
    }
    (socket as net.Socket & { answered?: boolean }).answered = true;
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    assert.equal((await send(pool)).body, 'ok');
    assert.equal((await send(pool, { method: 'POST', body: Buffer.from('again') })).body, 'ok', 'a Buffer body is replayed');
    assert.equal(up.connections(), 2);
    // A streamed body may already have been consumed: no retry, the caller hears of the failure.
    await assert.rejects(send(pool, { method: 'POST', body: Readable.from([Buffer.from('once')]) }), (err: NodeJS.ErrnoException) => {
      assert.ok(err.code === UpstreamErrorCodes.closed || err.code === 'ECONNRESET' || err.code === 'EPIPE', String(err.code));
      return true;
    });
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('timeouts and refused connections are coded errors', async () => {
  const silent = await rawServer(() => { /* never answers */ });
  const pool = new UpstreamPool(silent.url, { ...OPTIONS, headersTimeoutMs: 100 });
  const closed = net.createServer().listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const dead = new UpstreamPool(`http://127.0.0.1:${deadPort}`, OPTIONS);
  try {
    await assert.rejects(send(pool), { code: UpstreamErrorCodes.headersTimeout });
    await assert.rejects(send(dead), { code: 'ECONNREFUSED' });
  } finally {
    await pool.destroy();
    await dead.destroy();
    await silent.close();
  }
});

test('a header that would split the request is refused before anything is written', async () => {
  const heads: string[] = [];
  const up = await rawServer((head, socket) => {
    heads.push(head);
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    await assert.rejects(send(pool, { headers: ['x-evil', 'a\r\nx-injected: 1'] }), { code: UpstreamErrorCodes.invalidRequest });
    await assert.rejects(send(pool, { headers: ['x evil', 'a'] }), { code: UpstreamErrorCodes.invalidRequest });
    await assert.rejects(send(pool, { path: '/a b' }), { code: UpstreamErrorCodes.invalidRequest });
    await send(pool);
    assert.equal(heads.length, 1);
    assert.ok(!heads[0]!.includes('injected'));
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('a response head over the size limit is refused', async () => {
  const up = await rawServer((_head, socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(4096)}\r\nContent-Length: 0\r\n\r\n`);
  });
  const pool = new UpstreamPool(up.url, { ...OPTIONS, maxHeaderSize: 1024 });
  try {
    await assert.rejects(send(pool), { code: UpstreamErrorCodes.headersOverflow });
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('a streamed request body without length is sent chunked and arrives whole at a node server', async () => {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`${req.headers['transfer-encoding']}|${Buffer.concat(chunks).toString()}`));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const pool = new UpstreamPool(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, OPTIONS);
  try {
    const answer = await send(pool, { method: 'POST', body: Readable.from([Buffer.from('abc'), Buffer.from(''), Buffer.from('defg')]) });
    assert.equal(answer.body, 'chunked|abcdefg');
    const sized = await send(pool, { method: 'POST', headers: ['content-length', '3'], body: Readable.from([Buffer.from('xyz')]) });
    assert.equal(sized.body, 'undefined|xyz');
  } finally {
    await pool.destroy();
    server.close();
  }
});

test('idle connections close after the idle timeout; close() waits for busy ones', async () => {
  const up = await rawServer((_head, socket) => setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 50));
  const pool = new UpstreamPool(up.url, { ...OPTIONS, idleTimeoutMs: 100 });
  try {
    await send(pool);
    assert.equal(pool.size, 1);
    for (let i = 0; i < 50 && pool.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(pool.size, 0, 'the idle connection was closed');
    const busy = send(pool);
    await new Promise((resolve) => setTimeout(resolve, 10));
    let closed = false;
    const closing = pool.close().then(() => { closed = true; });
    assert.equal(closed, false);
    assert.equal((await busy).status, 200, 'the busy exchange finished');
    await closing;
    await assert.rejects(send(pool), { code: UpstreamErrorCodes.poolClosed });
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('an upgrade hands over the socket with the bytes that followed the 101', async () => {
  const up = await rawServer((head, socket) => {
    assert.ok(head.includes('upgrade: websocket'));
    assert.ok(head.includes('connection: upgrade'));
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nfirst-frame');
    socket.on('data', (d) => socket.write(`echo:${d.toString()}`));
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    const socket = await new Promise<Duplex>((resolve, reject) => {
      pool.dispatch({ method: 'GET', path: '/ws', headers: [], body: null, upgrade: 'websocket' }, {
        onRequestUpgrade(_c, status, h, s) {
          assert.equal(status, 101);
          // A 101 keeps Connection and Upgrade: the client needs them to switch too.
          assert.deepEqual([h.upgrade, h.connection], ['websocket', 'Upgrade']);
          resolve(s);
        },
        onResponseError(_c, err) { reject(err); },
      });
    });
    let received = '';
    // Read after the callback returned: the pool paused the socket so the early bytes waited here.
    socket.on('data', (d: Buffer) => { received += d.toString(); });
    socket.resume();
    socket.write('ping');
    for (let i = 0; i < 100 && !received.includes('echo:ping'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(received.startsWith('first-frame'), received);
    assert.ok(received.includes('echo:ping'), received);
    assert.equal(pool.size, 0, 'an upgraded connection leaves the pool');
    socket.destroy();
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('abort closes the connection and reports the reason; pause stops reading until resume', async () => {
  const up = await rawServer((_head, socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc');
    setTimeout(() => socket.write('def'), 100);
  });
  const pool = new UpstreamPool(up.url, OPTIONS);
  try {
    const reason = new Error('client went away');
    const seen = await new Promise<Error>((resolve) => {
      pool.dispatch({ method: 'GET', path: '/', headers: [], body: null, upgrade: null }, {
        onResponseData(controller) { controller.abort(reason); },
        onResponseEnd() { resolve(new Error('ended')); },
        onResponseError(_c, err) { resolve(err); },
      });
    });
    assert.equal(seen, reason);
    assert.equal(pool.size, 0);
    const chunks: string[] = [];
    const answer = await new Promise<string>((resolve, reject) => {
      pool.dispatch({ method: 'GET', path: '/', headers: [], body: null, upgrade: null }, {
        onResponseData(controller, chunk) {
          chunks.push(chunk.toString());
          if (chunks.length === 1) {
            controller.pause();
            setTimeout(() => controller.resume(), 200);
          }
        },
        onResponseEnd() { resolve(chunks.join('')); },
        onResponseError(_c, err) { reject(err); },
      });
    });
    assert.equal(answer, 'abcdef');
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('Buffer request bodies, small (joined to the head) and large, arrive byte for byte', async () => {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(Buffer.concat(chunks)));
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const pool = new UpstreamPool(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, OPTIONS);
  try {
    for (const size of [1, 300, 16 * 1024, 100_000]) {
      const body = Buffer.from(Array.from({ length: size }, (_, i) => (i * 13 + 1) % 256));
      const answer = await send(pool, { method: 'POST', body });
      assert.ok(Buffer.from(answer.body, 'latin1').equals(body), `size ${size}`);
    }
  } finally {
    await pool.destroy();
    server.close();
  }
});
