/**
 * SessionPool.ready: the request paths of both h2 hops take a pooled session without a promise when it is open, and
 * fall back to get() otherwise. Against a real node:http2 (h2c) server on 127.0.0.1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { openSession, SessionPool } from './sessions.ts';

let server: Http2Server;
let authority: string;
const serverSessions: ServerHttp2Session[] = [];

before(async () => {
  server = createServer((_req, res) => res.end('ok'));
  server.on('session', (s) => serverSessions.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  authority = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const s of serverSessions) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

test('ready() has nothing before a session connected, then hands out the pooled session get() resolved', async () => {
  const pool = new SessionPool(() => {});
  assert.equal(pool.ready('peer'), undefined);
  const pending = pool.get('peer', () => openSession(authority));
  assert.equal(pool.ready('peer'), undefined, 'not while connecting');
  const session = await pending;
  assert.equal(pool.ready('peer'), session);
  assert.equal(pool.ready('other'), undefined);
  pool.destroy();
  assert.equal(pool.ready('peer'), undefined);
});

test('a session the peer closed is not ready, and get() opens a new one', async () => {
  const pool = new SessionPool(() => {});
  const first = await pool.get('peer', () => openSession(authority));
  const closed = new Promise<void>((r) => first.once('close', () => r()));
  serverSessions.at(-1)!.close();
  await closed;
  assert.equal(pool.ready('peer'), undefined);
  const second = await pool.get('peer', () => openSession(authority));
  assert.notEqual(second, first);
  assert.equal(pool.ready('peer'), second);
  pool.destroy();
});

test('a retired session is not ready', async () => {
  const pool = new SessionPool(() => {});
  await pool.get('peer', () => openSession(authority));
  pool.retire(() => false);
  assert.equal(pool.ready('peer'), undefined);
  pool.destroy();
});
