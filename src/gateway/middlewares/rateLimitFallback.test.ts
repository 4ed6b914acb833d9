/**
 * Redis down, by choice. Traefik's rateLimit with `redis` answers 500 "Could not insert/update bucket" when the
 * bucket cannot be read (pkg/middlewares/ratelimiter: the redis limiter's error path); Meshgate keeps that default and
 * adds `redis.whenUnavailable: localBucket`. Real redis-server on loopback, a real "black hole" (accepts, never
 * answers) for the timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { waitFor } from '../../lib/testing/wait-for.ts';
import { FallbackRateLimitStore } from './rateLimitFallback.ts';
import { RedisRateLimitStore } from './rateLimitRedisStore.ts';
import './index.ts';
import { serveKind, testContext } from './testing.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50, maxRetriesPerRequest: null, lazyConnect: false });
  probe.on('error', () => {}); // refused until redis-server listens: the probe retries, the ping waits
  return probe.ping().then(() => {
    probe.disconnect();
    return proc;
  });
}

async function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
}

/** The stores a test's middlewares created, disconnected at the end so no reconnect timer outlives the test. */
function disconnectAll(state: Map<string, unknown>): void {
  for (const value of state.values()) {
    if (value instanceof RedisRateLimitStore) value.redis.disconnect();
    if (value instanceof FallbackRateLimitStore) value.shared.redis.disconnect();
  }
}

test('a Redis that accepts and never answers cannot hold a request past the Redis timeout (readTimeout, default 3s); the default answer stays Traefik\'s 500', async (t) => {
  const sockets = new Set<Socket>();
  const hole: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {}); // read everything, answer nothing
  });
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    hole.close();
  });
  const port = (hole.address() as { port: number }).port;
  const state = new Map<string, unknown>();
  // No readTimeout: go-redis's default (3s), which Traefik keeps, applies.
  const config = { average: 10, burst: 2, redis: { endpoints: [`127.0.0.1:${port}`] } };
  const served = await serveKind('rateLimit', config, { context: testContext({ state }) });
  t.after(async () => {
    await served.close();
    disconnectAll(state);
  });
  const started = Date.now();
  const res = await fetch(served.url, { signal: AbortSignal.timeout(60_000) });
  assert.equal(res.status, 500);
  assert.equal((await res.text()).trim(), 'Could not insert/update bucket');
  // A generous bound: only a request that waits on Redis without a timeout takes anywhere near it.
  assert.ok(Date.now() - started < 30_000, 'the request ended on the Redis timeout, not on the test deadline');
});

test('whenUnavailable: localBucket limits from per-process buckets while Redis is down (logged once, counted) and goes back to Redis when it returns', async (t) => {
  const port = await freePort();
  let redis = await startRedis(port);
  t.after(() => stopRedis(redis));
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const fallbacks: string[] = [];
  const state = new Map<string, unknown>();
  const context = { ...testContext({ state, name: 'limit@file' }), logger, hooks: { rateLimitFallback: (mw: string) => void fallbacks.push(mw) } };
  const config = { average: 1, period: '1h', burst: 2, redis: { endpoints: [`127.0.0.1:${port}`], readTimeout: '500ms', whenUnavailable: 'localBucket' } };
  const served = await serveKind('rateLimit', config, { context });
  t.after(async () => {
    await served.close();
    disconnectAll(state);
  });
  const status = async () => (await fetch(served.url, { signal: AbortSignal.timeout(60_000) })).status;

  assert.equal(await status(), 200, 'shared bucket while Redis is up');
  assert.equal(fallbacks.length, 0);

  await stopRedis(redis);
  // The local bucket is fresh (burst 2): two requests pass, the third is limited — a limit, not an open door.
  assert.deepEqual([await status(), await status(), await status()], [200, 200, 429]);
  assert.deepEqual(fallbacks, ['limit@file', 'limit@file', 'limit@file']);
  const warnings = () => lines.filter((l) => l.includes('rate-limit redis unreachable'));
  assert.equal(warnings().length, 1, 'logged once, not per request');

  redis = await startRedis(port);
  const store = [...state.values()].find((v): v is FallbackRateLimitStore => v instanceof FallbackRateLimitStore)!;
  await waitFor(() => !store.usingLocal, 'the store to see Redis ready again');
  const before = fallbacks.length;
  assert.equal(await status(), 200, 'a fresh shared bucket in the restarted Redis');
  assert.equal(fallbacks.length, before, 'served from Redis again');
  assert.ok(lines.some((l) => l.includes('rate-limit redis reachable again')));
});

test('the gateway counts local fallbacks in meshgate_ratelimit_local_fallback_total per middleware', async () => {
  const { GatewayMetrics } = await import('../metrics/metrics.ts');
  const metrics = new GatewayMetrics();
  metrics.recordRateLimitFallback('limit@file');
  metrics.recordRateLimitFallback('limit@file');
  assert.match(await metrics.metricsText(), /^meshgate_ratelimit_local_fallback_total\{middleware="limit@file"\} 2$/m);
});
