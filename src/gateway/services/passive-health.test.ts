/**
 * Traefik's passive health check (pkg/healthcheck PassiveServiceHealthChecker.WrapHandler and healthy): answers of
 * 500 and above, and requests that get no answer, count as failures; `maxFailedAttempts` of them within
 * `failureWindow` take the server out, and it comes back once `failureWindow` has passed. An answer below 500
 * clears the count.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { buildServices, echoUpstream, startGateway, startUpstream, closeOpenUpstreams } from './testing.ts';
import { TransportRegistry } from './transport.ts';
import { GatewayMetrics } from '../metrics/metrics.ts';
import { waitFor } from '../../lib/testing/wait-for.ts';

after(closeOpenUpstreams);

test('passiveHealthCheck: a server failing maxFailedAttempts times in the window is taken out, and back after the window', async (t) => {
  const transports = new TransportRegistry();
  let failing = true;
  const bad = await startUpstream((_req, res) => { res.writeHead(failing ? 500 : 200, { 'x-upstream': 'bad' }); res.end(); });
  const good = await echoUpstream('good');
  const metrics = new GatewayMetrics();
  const svc = buildServices({
    s: { loadBalancer: { servers: [{ url: bad.url }, { url: good.url }], passiveHealthCheck: { failureWindow: '1s', maxFailedAttempts: 2 } } },
  }, { transports, metrics });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { svc.close(); await gw.close(); await transports.close(); await bad.close(); await good.close(); });

  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await request(gw.url);
    await res.body.dump();
    statuses.push(res.statusCode);
  }
  // Round robin: bad, good, bad (second failure: out), good.
  assert.deepEqual(statuses.sort(), [200, 200, 500, 500]);
  assert.equal(svc.get('s').status().serverStatus[bad.url], 'DOWN');
  assert.match(await metrics.metricsText(), new RegExp(`traefik_service_server_up\\{service="s",url="${bad.url}"\\} 0`));
  const hitsWhileDown = bad.hits;
  for (let i = 0; i < 6; i++) {
    const res = await request(gw.url);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
  }
  assert.equal(bad.hits, hitsWhileDown, 'no request reaches a server taken out');

  failing = false;
  await waitFor(() => svc.get('s').status().serverStatus[bad.url] === 'UP', 'the failure window to pass');
  await waitFor(async () => {
    const res = await request(gw.url);
    await res.body.dump();
    return res.headers['x-upstream'] === 'bad';
  }, 'the server to take traffic again');
});

test('passiveHealthCheck: a refused connection is a failure; an answer below 500 clears the count', async (t) => {
  const transports = new TransportRegistry();
  const gone = await echoUpstream('gone');
  const goneUrl = gone.url;
  await gone.close();
  const good = await echoUpstream('good');
  const svc = buildServices({
    s: { loadBalancer: { servers: [{ url: goneUrl }, { url: good.url }], passiveHealthCheck: { failureWindow: '30s' } } },
  }, { transports });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { svc.close(); await gw.close(); await transports.close(); await good.close(); });
  // maxFailedAttempts defaults to 1: the first 502 takes the server out for the 30 s window.
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await request(gw.url);
    await res.body.dump();
    codes.push(res.statusCode);
  }
  assert.equal(codes.filter((c) => c === 502).length, 1, codes.join(','));
  assert.equal(svc.get('s').status().serverStatus[goneUrl], 'DOWN');
});

test('passiveHealthCheck: maxFailedAttempts counts failures within the window only, and a success resets it', async (t) => {
  const transports = new TransportRegistry();
  const answers = [500, 200, 500, 500];
  const flaky = await startUpstream((_req, res) => { res.writeHead(answers.shift() ?? 200); res.end(); });
  const svc = buildServices({
    s: { loadBalancer: { servers: [{ url: flaky.url }], passiveHealthCheck: { failureWindow: '30s', maxFailedAttempts: 2 } } },
  }, { transports });
  const gw = await startGateway(svc.get('s').handler);
  t.after(async () => { svc.close(); await gw.close(); await transports.close(); await flaky.close(); });
  const codes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await request(gw.url);
    await res.body.dump();
    codes.push(res.statusCode);
  }
  // 500 (1 failure), 200 (cleared), 500, 500 (2 failures: out), then no server: 503.
  assert.deepEqual(codes, [500, 200, 500, 500, 503]);
});
