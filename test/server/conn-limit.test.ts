/**
 * Consul's limits.http_max_conns_per_client: a client IP holding the maximum number of connections gets
 * `429 Too Many Requests` and a closed connection for the next one (agent/agent.go wires connlimit's
 * HTTPConnStateFuncWithDefault429Handler into the HTTP server); once one closes, a new connection is served.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';

let server: RunningServer;
before(async () => {
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'n', datacenter: 'dc1', httpMaxConnsPerClient: 2 }, silentLogger());
});
after(() => server.close());

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

/** Sends one request on a fresh connection and returns what came back until the server closed or answered. */
async function exchange(): Promise<string> {
  const s = await open();
  return new Promise((resolve) => {
    let data = '';
    s.on('data', (d) => {
      data += d;
      if (/\r\n\r\n/.test(data)) s.destroy();
    });
    s.on('error', () => undefined); // a reset after the 429 is part of the refusal
    s.on('close', () => resolve(data));
    s.write('GET /v1/status/leader HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  });
}

test('the connection beyond the limit gets 429 and is closed; after one closes, a new one is served', async () => {
  const held = [await open(), await open()];
  const refused = await exchange();
  assert.match(refused, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
  held[0]!.destroy();
  await waitFor(async () => /^HTTP\/1\.1 200 OK/.test(await exchange()), 'a connection to be served once one of the held ones closed');
  held[1]!.destroy();
});
