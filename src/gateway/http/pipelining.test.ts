/**
 * HTTP/1.1 pipelining through the gateway: requests written back to back on one connection are each proxied and
 * answered in order. Go's net/http server (Traefik's) reads the next request only after the previous response
 * finished (server.go `conn.serve` loop), so a pipelining client gets every answer, in order, on the one connection.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createProxy } from '../services/proxy.ts';
import { TransportRegistry } from '../services/transport.ts';
import { echoUpstream, startGateway } from '../services/testing.ts';

const transports = new TransportRegistry();
after(() => transports.close());

/** Writes `text` at once and collects what comes back until `count` responses are complete or 5 s pass. */
function exchange(port: number, text: string, until: (data: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('latin1');
    const finish = () => { clearTimeout(timer); socket.destroy(); resolve(data); };
    socket.on('data', (d: string) => { data += d; if (until(data)) finish(); });
    socket.on('close', finish);
    socket.on('error', finish);
    const timer = setTimeout(finish, 5000);
  });
}

test('two pipelined requests are both proxied and answered in order', async (t) => {
  const up = await echoUpstream('up');
  const proxy = createProxy({ url: up.url, passHostHeader: true, preservePath: false, dispatcher: transports.get(undefined).pool(up.url) });
  const gw = await startGateway(proxy);
  t.after(async () => { await gw.close(); await up.close(); });
  const text = await exchange(gw.port,
    'GET /first HTTP/1.1\r\nHost: a.test\r\n\r\nGET /second HTTP/1.1\r\nHost: a.test\r\n\r\n',
    (d) => (d.match(/"url":/g) ?? []).length >= 2);
  const statuses = text.match(/^HTTP\/1\.1 \d{3}/gm) ?? [];
  assert.deepEqual(statuses, ['HTTP/1.1 200', 'HTTP/1.1 200'], text);
  const urls = [...text.matchAll(/"url":"([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(urls, ['/first', '/second']);
  assert.equal(up.hits, 2);
});

test('three pipelined requests, one with a body, keep their order', async (t) => {
  const up = await echoUpstream('up');
  const proxy = createProxy({ url: up.url, passHostHeader: true, preservePath: false, dispatcher: transports.get(undefined).pool(up.url) });
  const gw = await startGateway(proxy);
  t.after(async () => { await gw.close(); await up.close(); });
  const text = await exchange(gw.port,
    'GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\n'
    + 'POST /2 HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello'
    + 'GET /3 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
    (d) => (d.match(/"url":/g) ?? []).length >= 3);
  const urls = [...text.matchAll(/"url":"([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(urls, ['/1', '/2', '/3'], text);
  assert.match(text, /"body":"hello"/);
});
