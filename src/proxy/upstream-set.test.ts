/**
 * bindWhileInUse: an upstream listener whose port is held for a moment binds once it is free (the clean-clone CI's demo
 * lost pod D's sidecar to EADDRINUSE on its upstream port and never got it back); other errors and a port held past the
 * bound still fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { bindWhileInUse } from './upstream-set.ts';

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

test('a port held for a moment is bound once it is free; retries are reported', async () => {
  const blocker = createServer();
  const port = await listen(blocker, 0);
  setTimeout(() => void close(blocker), 600);
  const retries: number[] = [];
  const server = await bindWhileInUse(async () => {
    const s = createServer();
    await listen(s, port);
    return s;
  }, (attempt) => retries.push(attempt));
  assert.equal((server.address() as { port: number }).port, port);
  assert.ok(retries.length >= 1, 'the first attempt found the port in use');
  await close(server);
});

test('a port held past the bound, or another error, fails', async () => {
  const blocker = createServer();
  const port = await listen(blocker, 0);
  await assert.rejects(bindWhileInUse(() => listen(createServer(), port), () => {}, 300), { code: 'EADDRINUSE' });
  await close(blocker);
  let calls = 0;
  await assert.rejects(bindWhileInUse(() => { calls++; return Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })); }, () => {}), { code: 'EACCES' });
  assert.equal(calls, 1);
});
