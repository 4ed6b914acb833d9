import { test } from 'node:test';
import assert from 'node:assert/strict';
import './index.ts';
import { build, echoHandler, serveHandler, testContext } from './testing.ts';
import type { Handler } from '../http/types.ts';
import { shouldRetry } from './retry.ts';
import { GatewayErrors } from '../http/errors.ts';
import { CircuitBreaker, BreakerState } from './circuitBreaker.ts';
import { parseCondition } from './cbreakerExpression.ts';
import { RollingMetrics } from './cbreakerMetrics.ts';

test('chain applies its middlewares in order, the first outermost', async () => {
  const ctx = testContext({
    middlewares: {
      'add-a': build('addPrefix', { prefix: '/a' }),
      'add-b': build('addPrefix', { prefix: '/b' }),
    },
  });
  const s = await serveHandler(build('chain', { middlewares: ['add-a', 'add-b@file'] }, ctx)(echoHandler));
  try {
    const body = (await (await fetch(`${s.url}/x`)).json()) as { url: string };
    assert.equal(body.url, '/b/a/x'); // a runs first, then b prefixes its result
  } finally {
    await s.close();
  }
  assert.throws(() => build('chain', { middlewares: ['missing'] }, ctx), /missing/);
});

test('errors: replaces the body from the error service and keeps the status', async () => {
  const pages: Handler = async (req, rw) => {
    rw.writeHead(200, { 'content-type': 'text/html', 'x-page': 'yes' });
    rw.end(`<h1>page ${req.url}</h1>`);
  };
  const upstream: Handler = async (req, rw) => {
    const code = Number(req.url.slice(1)) || 200;
    rw.writeHead(code, { 'content-type': 'text/plain', 'x-upstream': 'yes' });
    rw.end(`upstream ${code}`);
  };
  const ctx = testContext({ services: { 'error-pages': pages } });
  const s = await serveHandler(build('errors', { status: ['500-599', '404'], service: 'error-pages', query: '/{status}.html?from={url}', statusRewrites: { '418': 404 } }, ctx)(upstream));
  try {
    const r500 = await fetch(`${s.url}/503`);
    assert.equal(r500.status, 503);
    assert.equal(await r500.text(), `<h1>page /503.html?from=${encodeURIComponent('/503')}</h1>`);
    assert.equal(r500.headers.get('content-type'), 'text/html');
    assert.equal(r500.headers.get('x-upstream'), null);
    const r404 = await fetch(`${s.url}/404`);
    assert.equal(r404.status, 404);
    assert.match(await r404.text(), /page \/404\.html/);
    const ok = await fetch(`${s.url}/201`);
    assert.equal(ok.status, 201);
    assert.equal(await ok.text(), 'upstream 201');
    assert.equal(ok.headers.get('x-upstream'), 'yes');
  } finally {
    await s.close();
  }
  const failing: Handler = async () => {
    throw GatewayErrors.badGateway();
  };
  const gw = await serveHandler(build('errors', { status: ['502'], service: 'error-pages', query: '/{status}' }, ctx)(failing));
  try {
    const res = await fetch(gw.url);
    assert.equal(res.status, 502);
    assert.equal(await res.text(), '<h1>page /502</h1>');
  } finally {
    await gw.close();
  }
  const rw = await serveHandler(build('errors', { status: ['418'], service: 'error-pages', statusRewrites: { '418': 404 } }, ctx)(upstream));
  try {
    const res = await fetch(`${rw.url}/418`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), '<h1>page /</h1>');
  } finally {
    await rw.close();
  }
});

/** A fake upstream that fails at the network level `failures` times (signalling as the proxy does). */
function flaky(failures: number, mode: 'signal' | 'throw' | 'status') {
  let calls = 0;
  const handler: Handler = async (req, rw) => {
    calls++;
    const body = req.bufferedBody?.toString() ?? '';
    const signal = shouldRetry(req);
    if (mode === 'signal') signal?.(true); // about to dial
    if (calls <= failures) {
      if (mode === 'throw') throw GatewayErrors.badGateway();
      rw.writeHead(mode === 'status' ? 503 : 502, { 'x-attempt': String(calls) });
      rw.end('bad gateway');
      return;
    }
    if (mode === 'signal') signal?.(false); // request written upstream
    rw.writeHead(200, { 'x-attempt': String(calls) });
    rw.end(`ok after ${calls} body=${body}`);
  };
  return { handler, calls: () => calls };
}

test('retry: network errors are retried (any method) up to attempts, counting retries', async () => {
  const seen: number[] = [];
  const ctx = { ...testContext(), hooks: { retried: (_req: unknown, attempt: number) => seen.push(attempt) } };
  const f = flaky(2, 'signal');
  const s = await serveHandler(build('retry', { attempts: 3, initialInterval: '1ms' }, ctx)(f.handler));
  try {
    const res = await fetch(s.url, { method: 'POST', body: 'x' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-attempt'), '3');
    assert.deepEqual(seen, [2, 3]);
  } finally {
    await s.close();
  }
  const g = flaky(5, 'signal');
  const t = await serveHandler(build('retry', { attempts: 2 })(g.handler));
  try {
    const res = await fetch(t.url);
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('x-attempt'), '2');
    assert.equal(g.calls(), 2);
  } finally {
    await t.close();
  }
  const h = flaky(1, 'throw');
  const u = await serveHandler(build('retry', { attempts: 2 })(h.handler));
  try {
    assert.equal((await fetch(u.url)).status, 200, 'a GET rejected with Bad Gateway is retried');
    const post = flaky(1, 'throw');
    const v = await serveHandler(build('retry', { attempts: 2 })(post.handler));
    try {
      const res = await fetch(v.url, { method: 'POST', body: 'x' });
      assert.equal(res.status, 502, 'a POST is not retried when the proxy did not say nothing was sent');
      assert.equal(await res.text(), 'Bad Gateway');
    } finally {
      await v.close();
    }
  } finally {
    await u.close();
  }
});

test('retry: a response that reached the service is not retried without status ranges', async () => {
  const f = flaky(1, 'status');
  const s = await serveHandler(build('retry', { attempts: 3 })(f.handler));
  try {
    assert.equal((await fetch(s.url)).status, 503);
    assert.equal(f.calls(), 1);
  } finally {
    await s.close();
  }
});

test('retry: status ranges retry idempotent methods with the body replayed, not POST', async () => {
  const f = flaky(1, 'status');
  const s = await serveHandler(build('retry', { attempts: 3, status: ['500-599'] })(f.handler));
  try {
    const res = await fetch(s.url, { method: 'PUT', body: 'payload' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok after 2 body=payload');
  } finally {
    await s.close();
  }
  const p = flaky(1, 'status');
  const t = await serveHandler(build('retry', { attempts: 3, status: ['503'] })(p.handler));
  try {
    assert.equal((await fetch(t.url, { method: 'POST', body: 'x' })).status, 503);
  } finally {
    await t.close();
  }
  const q = flaky(1, 'status');
  const u = await serveHandler(build('retry', { attempts: 3, status: ['503'], retryNonIdempotentMethod: true })(q.handler));
  try {
    assert.equal((await fetch(u.url, { method: 'POST', body: 'x' })).status, 200);
  } finally {
    await u.close();
  }
  assert.throws(() => build('retry', { attempts: 0 }), /attempt/);
  assert.throws(() => build('retry', { attempts: 2, disableRetryOnNetworkError: true }), /requires at least HTTP status codes/);
});

test('circuit breaker expression language', () => {
  const m = { networkErrorRatio: () => 0.4, responseCodeRatio: (a: number) => (a === 500 ? 0.3 : 0), latencyAtQuantileMS: (q: number) => q * 2 };
  assert.equal(parseCondition('NetworkErrorRatio() > 0.30')(m), true);
  assert.equal(parseCondition('NetworkErrorRatio() > 0.5')(m), false);
  assert.equal(parseCondition('ResponseCodeRatio(500, 600, 0, 600) > 0.25')(m), true);
  assert.equal(parseCondition('LatencyAtQuantileMS(50.0) > 100')(m), false);
  assert.equal(parseCondition('LatencyAtQuantileMS(50.0) > 100 || NetworkErrorRatio() > 0.3')(m), true);
  assert.equal(parseCondition('(LatencyAtQuantileMS(50.0) > 50 && NetworkErrorRatio() < 0.5) || ResponseCodeRatio(500, 600, 0, 600) >= 1')(m), true);
  assert.throws(() => parseCondition('Foo() > 1'), /unknown function Foo/);
  assert.throws(() => parseCondition('NetworkErrorRatio() > '), /unexpected end/);
  assert.throws(() => parseCondition('ResponseCodeRatio(1) > 0'), /takes 4 arguments/);
});

test('rolling metrics forget slots older than the window', () => {
  let now = 0;
  const m = new RollingMetrics({ now: () => now });
  m.record(502, 10);
  m.record(200, 20);
  m.record(500, 30);
  assert.equal(m.networkErrorRatio(), 1 / 3);
  assert.equal(m.responseCodeRatio(500, 600, 0, 600), 2 / 3);
  assert.ok(Math.abs(m.latencyAtQuantileMS(50) - 20) < 1);
  now = 5_000;
  m.record(200, 5);
  assert.equal(m.networkErrorRatio(), 1 / 4);
  now = 11_000;
  assert.equal(m.networkErrorRatio(), 0);
  assert.equal(m.totalCount(), 1);
});

test('circuit breaker state machine: standby → tripped → recovering → standby', () => {
  let now = 1_000;
  const cb = new CircuitBreaker(parseCondition('NetworkErrorRatio() > 0.5'), { checkPeriod: 100, fallbackDuration: 10_000, recoveryDuration: 10_000 }, () => now);
  cb.record(502, 1);
  assert.equal(cb.state, BreakerState.tripped);
  assert.equal(cb.fallback(), true);
  now += 10_001;
  assert.equal(cb.fallback(), true, 'recovery starts by letting nothing through');
  assert.equal(cb.state, BreakerState.recovering);
  now += 5_000;
  let allowed = 0;
  for (let i = 0; i < 100; i++) if (!cb.fallback()) allowed++;
  assert.ok(allowed > 10 && allowed < 40, `about a quarter allowed mid-recovery, got ${allowed}`);
  now += 5_001;
  assert.equal(cb.fallback(), false);
  assert.equal(cb.state, BreakerState.standby);
});

test('circuitBreaker over HTTP trips on network errors and answers the responseCode; state survives rebuilds', async () => {
  let failing = true;
  const upstream: Handler = async (_req, rw) => {
    rw.writeHead(failing ? 502 : 200);
    rw.end(failing ? 'down' : 'up');
  };
  const state = new Map<string, unknown>();
  const cfg = { expression: 'NetworkErrorRatio() > 0.30', responseCode: 418, checkPeriod: '1ms', fallbackDuration: '1h' };
  const s = await serveHandler(build('circuitBreaker', cfg, testContext({ state }))(upstream));
  try {
    let tripped: Response | undefined;
    for (let i = 0; i < 50; i++) {
      const res = await fetch(s.url);
      if (res.status === 418) {
        tripped = res;
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(tripped?.status, 418);
    assert.equal(await tripped!.text(), "I'm a teapot"); // Go's http.StatusText(418), as Traefik's circuit breaker writes it
    failing = false;
    assert.equal((await fetch(s.url)).status, 418);
  } finally {
    await s.close();
  }
  const again = await serveHandler(build('circuitBreaker', cfg, testContext({ state }))(upstream));
  try {
    assert.equal((await fetch(again.url)).status, 418, 'a reload keeps the open circuit');
  } finally {
    await again.close();
  }
  assert.throws(() => build('circuitBreaker', { expression: 'Nope() > 1' }), /unknown function/);
});
