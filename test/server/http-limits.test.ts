/**
 * Slow clients cannot hold the API: the time to *receive* a request (head and body) is bounded, while a blocking
 * query, whose request arrived at once, may still wait its full `wait` for the answer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';

let server: RunningServer;
before(async () => {
  server = await startServer(
    { dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', httpRequestTimeout: 600 },
    silentLogger(),
  );
});
after(() => server.close());

/** Sends `head`, then one body byte every `everyMs` until the server answers or closes; resolves with what it said. */
function trickle(head: string, everyMs: number, deadlineMs: number): Promise<{ answer: string; closed: boolean; sent: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    let answer = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => finish(false), deadlineMs);
    const finish = (closed: boolean) => {
      clearTimeout(deadline);
      clearInterval(timer);
      socket.destroy();
      resolve({ answer, closed, sent });
    };
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (socket.writable) {
          socket.write('a');
          sent++;
        }
      }, everyMs);
    });
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE' ? finish(true) : reject(err)));
  });
}

test('a PUT that announces 100,000 bytes and trickles one every 100 ms is cut with 408', async () => {
  const head = 'PUT /v1/kv/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n';
  // Generous bound: the server's 600 ms limit is checked every 150 ms or so; 15 s proves it did not hang for ever.
  const r = await trickle(head, 100, 15_000);
  assert.ok(r.closed, `still open after 15 s (${r.sent} bytes sent)`);
  assert.match(r.answer, /^HTTP\/1\.1 408 /);
  const kv = await fetch(`${server.url}/v1/kv/slow`);
  assert.equal(kv.status, 404, 'nothing was stored from the cut request');
  await kv.text();
});

test('a slow request head is cut the same way', async () => {
  const r = await trickle('GET /v1/status/leader HTTP/1.1\r\nX-Slow: ', 100, 15_000);
  assert.ok(r.closed, 'still open after 15 s');
});

test('a blocking query waits its full wait although that is longer than the request-time bound', async () => {
  const first = await fetch(`${server.url}/v1/kv/?recurse`);
  await first.text();
  const index = first.headers.get('x-consul-index');
  const started = performance.now();
  const res = await fetch(`${server.url}/v1/kv/?recurse&index=${index}&wait=1500ms`);
  await res.text();
  assert.notEqual(res.status, 408);
  // Consul adds up to wait/16 of jitter; the answer may not come before the wait is over (minus timer slack).
  assert.ok(performance.now() - started >= 1400, 'answered before its wait was over');
});
