/**
 * A caller that goes away in the middle of an answer: both sidecars must let go of the answer's connection. Node's
 * `pipe` only unpipes when its destination closes, so the answer stayed paused, half read, on a connection that never
 * went back to the keep-alive pool or closed — the app kept a stream open for a caller long gone. Go's reverse proxy
 * (net/http/httputil ReverseProxy.ServeHTTP: the outgoing request carries the incoming request's context, which is
 * cancelled when the client's connection closes, and the transport then closes the backend connection) and Envoy
 * (a downstream reset resets the upstream stream) both close the upstream side; so do the sidecars here: the
 * outbound one towards the destination's sidecar, the inbound one towards the app.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { closeKeepAlive, httpGet, startMesh, webToHttpApi, type Mesh } from './helpers.ts';

let mesh: Mesh;
let apiPort: number;
/** Answers of /stream still being written, and how many the app saw closed under it. */
const streams = { open: new Set<ServerResponse>(), closedEarly: 0 };

/** `/stream` sends its head and a chunk every 20 ms without end; anything else answers `ok`. */
async function streamingApp(): Promise<number> {
  const server = createServer((req, res) => {
    if (req.url !== '/stream') {
      res.end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    streams.open.add(res);
    const timer = setInterval(() => res.write('tick\n'), 20);
    res.on('close', () => {
      clearInterval(timer);
      streams.open.delete(res);
      if (!res.writableFinished) streams.closedEarly++;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mesh.cleanups.push(() => new Promise<void>((r) => {
    for (const res of streams.open) res.destroy();
    server.close(() => r());
  }));
  return (server.address() as AddressInfo).port;
}

before(async () => {
  mesh = await startMesh();
  apiPort = await webToHttpApi(mesh, streamingApp);
});

after(async () => {
  closeKeepAlive();
  await mesh?.close();
});

/** Reads an answer's head and first chunk through web's upstream listener, then drops the connection. */
function readHeadAndLeave(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: apiPort, path: '/stream', agent: false }, (res) => {
      res.once('data', (chunk: Buffer) => {
        req.destroy();
        resolve(chunk.toString());
      });
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}

test('a caller gone in the middle of an answer: the app sees its answer closed, through both sidecars', async () => {
  await waitFor(async () => (await httpGet(apiPort, '/')).status === 200, 'the upstream answers through both sidecars');
  for (let i = 1; i <= 3; i++) {
    assert.match(await readHeadAndLeave(), /^tick\n/);
    await waitFor(() => streams.closedEarly === i && streams.open.size === 0, () => `the app's answer ${i} closed under it (closed early ${streams.closedEarly}, open ${streams.open.size})`);
  }
  // The sidecars still serve: nothing of the abandoned answers is left in their pools.
  assert.deepEqual({ status: (await httpGet(apiPort, '/after')).status, body: (await httpGet(apiPort, '/after')).body }, { status: 200, body: 'ok' });
});
