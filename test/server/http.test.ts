/** The API's shared conventions: unknown paths and methods, oversized bodies, status endpoints, index headers. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';

let server: RunningServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

test('an unknown path is a 404 and the server keeps serving', async () => {
  for (const path of ['/v1/nope', '/v2/kv/x', '/v1/agent/self/extra', '/%zz']) {
    const res = await fetch(`${server.url}${path}`);
    assert.equal(res.status, 404, path);
    await res.text();
  }
  assert.equal((await fetch(`${server.url}/v1/status/leader`)).status, 200);
});

test('a known path with the wrong method is a 405 naming the method, with Allow', async () => {
  const res = await fetch(`${server.url}/v1/status/leader`, { method: 'DELETE' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'OPTIONS,GET'); // Consul's wrap: OPTIONS first, comma-joined (agent/http.go)
  assert.equal(await res.text(), 'method DELETE not allowed');
});

test('a body over the API limit is refused with 413 before it is read', async () => {
  const res = await fetch(`${server.url}/v1/txn`, { method: 'PUT', body: Buffer.alloc(5 * 1024 * 1024, 0x20) });
  assert.equal(res.status, 413);
  assert.match(await res.text(), /too large/);
});

test('status endpoints answer as a single-server Consul cluster', async () => {
  const leader = await (await fetch(`${server.url}/v1/status/leader`)).json();
  const peers = await (await fetch(`${server.url}/v1/status/peers`)).json();
  assert.equal(leader, '127.0.0.1:8300');
  assert.deepEqual(peers, [leader]);
});

test('?pretty indents JSON as Consul does', async () => {
  const text = await (await fetch(`${server.url}/v1/status/peers?pretty`)).text();
  assert.equal(text, '[\n    "127.0.0.1:8300"\n]\n');
});
