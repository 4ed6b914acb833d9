/**
 * The inbound sidecar keeps its HTTP/1.1 connections to the local app open between requests, and the app closes an
 * idle one when it likes (Node's server after keepAliveTimeout, 5 s by default). A request sent on a kept connection
 * just as the app closes it is reset before any answer: the app never saw it. On a loaded host that race lost a
 * request of test/proxy/l7-traffic's 90/10 split now and then (the sidecar's log: "local app request failed", read
 * ECONNRESET / socket hang up, then 503 to the caller). Go's HTTP client sends such a request again on a new
 * connection when it is replayable (net/http transport.go, persistConn.shouldRetryRequest: a reused connection, and an
 * idempotent request without a body), as Node's docs advise for `request.reusedSocket`; the sidecar does the same.
 * A request with a body is not replayed: the app may have read it.
 *
 * The app here answers the first request of each connection and resets the connection on the next one — the race,
 * made certain.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { closeKeepAlive, httpGet, startMesh, webToHttpApi, type Mesh } from './helpers.ts';

let mesh: Mesh;
let apiPort: number;
/** Requests the app has seen, by method; and connections it accepted. */
const seen = { GET: 0, POST: 0, connections: 0 };

/** Answers a connection's first request; a later request on the same connection resets it unanswered. */
async function oneRequestPerConnectionApp(): Promise<number> {
  const server = createServer((socket: Socket) => {
    seen.connections++;
    let buffered = '';
    let answered = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const method = buffered.slice(0, buffered.indexOf(' '));
      if (method === 'GET' || method === 'POST') seen[method]++;
      if (answered) {
        socket.resetAndDestroy();
        return;
      }
      // A POST's body (content-length) is read before the answer.
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      answered = true;
      buffered = '';
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: keep-alive\r\n\r\nfresh');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mesh.cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

function post(port: number, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/order', headers: { 'content-type': 'text/plain' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  mesh = await startMesh();
  apiPort = await webToHttpApi(mesh, oneRequestPerConnectionApp);
});

after(async () => {
  closeKeepAlive();
  await mesh?.close();
});

test('a GET that meets a kept app connection the app closed is sent again, ending on a new connection', async () => {
  // The first request opens the sidecar's connection to the app; each later one finds it kept, and reset.
  for (let i = 0; i < 3; i++) {
    const r = await httpGet(apiPort, `/item/${i}`);
    assert.deepEqual({ status: r.status, body: r.body }, { status: 200, body: 'fresh' }, `request ${i}`);
  }
  // Request 0 on connection 1; requests 1 and 2 each reset on the kept connection, then answered on a new one.
  assert.deepEqual({ ...seen }, { GET: 5, POST: 0, connections: 3 });
});

test('a POST with a body is not sent twice: the reset on a kept connection is answered 503', async () => {
  const before = { ...seen };
  const r = await post(apiPort, 'one order');
  assert.equal(r.status, 503);
  assert.equal(r.body, 'upstream connect error or disconnect/reset before headers');
  assert.equal(seen.POST - before.POST, 1);
  assert.equal(seen.connections, before.connections, 'no new connection to the app for the POST');
});
