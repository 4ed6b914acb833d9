/** The Redis store passes the same contract as the in-memory one, against a real redis-server on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimitStoreContract } from './rateLimitStore.contract.ts';
import { RedisRateLimitStore } from './rateLimitRedisStore.ts';
import './index.ts';
import { serveKind, testContext } from './testing.ts';

let redis: ChildProcess;
let port = 0;
const stores: RedisRateLimitStore[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

before(async () => {
  port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new RedisRateLimitStore({ endpoints: [`127.0.0.1:${port}`], connection: { retryStrategy: () => 50, maxRetriesPerRequest: null } });
  await probe.redis.ping();
  await probe.close();
});

after(async () => {
  for (const s of stores) await s.close();
  if (redis.exitCode === null && redis.signalCode === null) {
    redis.kill('SIGTERM');
    await new Promise((r) => redis.once('exit', r));
  }
});

function makeStore(): RedisRateLimitStore {
  const store = new RedisRateLimitStore({ endpoints: [`127.0.0.1:${port}`] });
  stores.push(store);
  return store;
}

rateLimitStoreContract('redis', makeStore);

test('redis: two gateways share one bucket', async () => {
  const a = makeStore();
  const b = makeStore();
  const limits = { ratePerMs: 1 / 3_600_000, burst: 3, maxDelayMs: 0 };
  const key = `shared-${Math.random()}`;
  const answers = [await a.reserve(key, limits), await b.reserve(key, limits), await a.reserve(key, limits), await b.reserve(key, limits)];
  assert.deepEqual(answers.slice(0, 3), [0, 0, 0], 'burst tokens are shared, not per replica');
  assert.ok(answers[3]! > 0, 'the fourth request, from either replica, must wait');
});

test('redis: buckets expire once they would be full again', async () => {
  const store = makeStore();
  const key = `expiring-${Math.random()}`;
  await store.reserve(key, { ratePerMs: 1, burst: 5, maxDelayMs: 0 });
  const ttl = await store.redis.pttl(`meshgate:ratelimit:${key}`);
  assert.ok(ttl > 0 && ttl <= 1001 + 1, `a bucket one token short refills in 1 ms, expiring soon after (pttl ${ttl})`);
});

test('rateLimit with `redis`: two gateways share the limit; Redis gone → 500 as Traefik answers', async () => {
  const config = { average: 1, period: '1h', burst: 2, redis: { endpoints: [`127.0.0.1:${port}`] } };
  const states = [new Map<string, unknown>(), new Map<string, unknown>()];
  const [a, b] = await Promise.all(states.map((state) => serveKind('rateLimit', config, { context: testContext({ state }) })));
  try {
    assert.equal((await fetch(a!.url)).status, 200);
    assert.equal((await fetch(b!.url)).status, 200);
    assert.equal((await fetch(a!.url)).status, 429, 'the burst of 2 is spent across both gateways');
    assert.equal((await fetch(b!.url)).status, 429);

    redis.kill('SIGKILL');
    await new Promise((r) => redis.once('exit', r));
    const down = await fetch(b!.url);
    assert.equal(down.status, 500);
    assert.equal((await down.text()).trim(), 'Could not insert/update bucket');
  } finally {
    await Promise.all([a!.close(), b!.close()]);
    for (const state of states) {
      for (const value of state.values()) if (value instanceof RedisRateLimitStore) value.redis.disconnect();
    }
  }
});
