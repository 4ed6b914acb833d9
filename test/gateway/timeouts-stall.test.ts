/**
 * The gateway's own timeouts — an active health probe's `timeout`, the upstream `dialTimeout` and
 * `responseHeaderTimeout` — must not fail an exchange whose upstream answered in time while the gateway's event loop
 * was held up (a GC pause, a long configuration build, a starved process on a busy host). Node runs the expired timers
 * of the next turn before it polls the I/O that completed meanwhile, so a plain timer cut an answer that was already
 * there: the "expired timer" shape the proxy's connect timeout had (commit 38b2b2e, test/proxy/inbound-stall).
 *
 * The upstream runs in a child process, so it answers while this process — the gateway's side — is held. A dial over
 * TLS gets its deadline counted in loop time (it needs round trips after the connect is seen). Each hold is
 * 600 ms, three times the 200 ms timeout, and starts once the request (or the connect) is on its way: every answer
 * here arrives well within the timeout, only the gateway is late to read it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/logger.ts';
import { makeCertificate } from '../helpers/tls-fixture.ts';
import { healthCheckSchema } from '../../src/gateway/config/schema/services.ts';
import { HealthChecker } from '../../src/gateway/services/healthcheck.ts';
import { HealthRegistry } from '../../src/gateway/services/health.ts';
import { TransportRegistry } from '../../src/gateway/services/transport.ts';
import { UpstreamPool, type UpstreamPoolOptions } from '../../src/gateway/services/upstream/pool.ts';

const TIMEOUT_MS = 200;
const HOLD_MS = 600;

/** Holds the event loop (synchronously) for `ms`: what a paused or starved process looks like from inside. */
function holdLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* held */ }
}

/** An HTTP/1.1 upstream in its own process: 200 "ok" to everything, at once, keep-alive. */
let child: ChildProcess;
let url: string;

before(async () => {
  const script = `
    const server = require('node:http').createServer((req, res) => { req.resume(); res.end('ok'); });
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
  `;
  child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  url = `http://127.0.0.1:${chunk.toString().trim()}`;
});

after(() => {
  child?.kill();
});

const POOL: UpstreamPoolOptions = { connectTimeoutMs: 0, headersTimeoutMs: 0, idleTimeoutMs: 60_000, maxIdle: 10, maxHeaderSize: 16 * 1024 };

/** Dispatches GET / on `pool`, runs `whileInFlight` right after (synchronously), and resolves the status or rejects. */
function exchange(pool: UpstreamPool, whileInFlight: () => void = () => {}): Promise<number> {
  const answer = new Promise<number>((resolve, reject) => {
    let status = 0;
    pool.dispatch({ method: 'GET', path: '/', headers: ['host', 'upstream'], body: null, upgrade: null }, {
      onResponseStart(_c, s) { status = s; },
      onResponseEnd() { resolve(status); },
      onResponseError(_c, err) { reject(err); },
    });
  });
  whileInFlight();
  return answer;
}

test('dialTimeout: a connect completed while the loop was held past the timeout is not cut', async () => {
  const pool = new UpstreamPool(url, { ...POOL, connectTimeoutMs: TIMEOUT_MS });
  try {
    // The connect is started inside dispatch; the loopback handshake completes in the kernel during the hold.
    assert.equal(await exchange(pool, () => holdLoop(HOLD_MS)), 200);
  } finally {
    await pool.destroy();
  }
});

test('dialTimeout over TLS: a connect and handshake that went on while the loop was held past the timeout are not cut', async () => {
  // The handshake needs round trips after the connect is seen: one poll after the timer is not enough, the deadline
  // counts only the time the loop ran (lib/poll-timeout.ts dialDeadline).
  const dir = mkdtempSync(join(tmpdir(), 'mg-gw-stall-tls-'));
  const leaf = makeCertificate(dir, 'upstream', { cn: 'localhost', sans: ['IP:127.0.0.1'] });
  const script = `
    const fs = require('node:fs');
    const server = require('node:https').createServer({ cert: fs.readFileSync(${JSON.stringify(leaf.certFile)}), key: fs.readFileSync(${JSON.stringify(leaf.keyFile)}) }, (req, res) => { req.resume(); res.end('ok'); });
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
  `;
  const tlsChild = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [chunk] = (await once(tlsChild.stdout!, 'data')) as [Buffer];
    const pool = new UpstreamPool(`https://127.0.0.1:${chunk.toString().trim()}`, { ...POOL, connectTimeoutMs: TIMEOUT_MS, tls: { ca: leaf.cert } });
    try {
      assert.equal(await exchange(pool, () => holdLoop(HOLD_MS)), 200);
    } finally {
      await pool.destroy();
    }
  } finally {
    tlsChild.kill();
  }
});

test('responseHeaderTimeout: a head that arrived while the loop was held past the timeout is not called late', async () => {
  const pool = new UpstreamPool(url, { ...POOL, headersTimeoutMs: TIMEOUT_MS });
  try {
    // A first exchange leaves an idle keep-alive connection: the next request is written inside dispatch.
    assert.equal(await exchange(pool), 200);
    assert.equal(await exchange(pool, () => holdLoop(HOLD_MS)), 200);
  } finally {
    await pool.destroy();
  }
});

test('health check: a probe answered in time while the loop was held past the probe timeout keeps the server up', async () => {
  const config = healthCheckSchema.parse({ path: '/health', interval: '1h', timeout: `${TIMEOUT_MS}ms` });
  const states = new HealthRegistry().claim('app', JSON.stringify(config));
  const changes: boolean[] = [];
  const transports = new TransportRegistry();
  // undici publishes sendHeaders just before it writes the probe's request (client-h1.js writeH1): the hold starts
  // from a microtask, once that write is done and the request is on its way.
  const hold = () => queueMicrotask(() => holdLoop(HOLD_MS));
  subscribe('undici:client:sendHeaders', hold);
  const checker = new HealthChecker({
    service: 'app', config, servers: [url], dispatcher: transports.get().healthCheckAgent(), states, logger: silentLogger(),
    onChange: (_url, up) => changes.push(up),
  });
  try {
    checker.start();
    // The one probe's verdict is recorded in `states`; poll it without any timing assertion.
    for (let i = 0; i < 400 && states.get(url) === undefined; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(states.get(url), true, 'the probe found the server up');
    assert.deepEqual(changes, [], 'the server never went down');
  } finally {
    unsubscribe('undici:client:sendHeaders', hold);
    checker.stop();
    await transports.close();
  }
});
