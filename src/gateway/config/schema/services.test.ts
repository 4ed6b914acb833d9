import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceSchema, serversTransportSchema } from './services.ts';

test('loadBalancer takes Traefik keys and applies Traefik defaults', () => {
  const svc = serviceSchema.parse({
    loadBalancer: {
      servers: [{ url: 'http://127.0.0.1:8080', weight: 2 }],
      healthCheck: { path: '/health', interval: '10s', timeout: 3 },
      sticky: { cookie: { name: 'lb', sameSite: 'lax' } },
    },
  });
  assert.equal(svc.loadBalancer!.passHostHeader, true);
  assert.equal(svc.loadBalancer!.healthCheck!.interval, 10_000);
  assert.equal(svc.loadBalancer!.healthCheck!.timeout, 3_000);
  assert.equal(svc.loadBalancer!.healthCheck!.method, 'GET');
  assert.equal(svc.loadBalancer!.sticky!.cookie!.name, 'lb');
});

test('an unknown key is an error naming the key', () => {
  const res = serviceSchema.safeParse({ loadBalancer: { servers: [{ url: 'http://x', wieght: 1 }] } });
  assert.equal(res.success, false);
  assert.match(JSON.stringify(res.error!.issues), /wieght/);
});

test('exactly one kind per service', () => {
  assert.equal(serviceSchema.safeParse({}).success, false);
  assert.equal(serviceSchema.safeParse({ weighted: { services: [{ name: 'a' }] }, failover: { service: 'a', fallback: 'b' } }).success, false);
  const m = serviceSchema.parse({ mirroring: { service: 'a', mirrors: [{ name: 'b', percent: 10 }] } });
  assert.equal(m.mirroring!.mirrorBody, true);
  assert.equal(m.mirroring!.maxBodySize, -1);
});

test('serversTransport timeouts accept Go durations and seconds', () => {
  const t = serversTransportSchema.parse({ forwardingTimeouts: { dialTimeout: '1s', responseHeaderTimeout: 2 } });
  assert.equal(t.forwardingTimeouts!.dialTimeout, 1000);
  assert.equal(t.forwardingTimeouts!.responseHeaderTimeout, 2000);
  assert.equal(t.maxIdleConnsPerHost, 200);
  assert.equal(serversTransportSchema.safeParse({ forwardingTimeouts: { dialTimeout: 'soon' } }).success, false);
});

// Traefik's SetDefaults (pkg/config/dynamic/http_config.go, entrypoints.go): interval 30s, timeout 5s, dialTimeout 30s,
// idleConnTimeout 90s, flushInterval 100ms, readTimeout 60s. zod 4's .default() skipped the seconds → ms transform.
test('duration defaults come out in milliseconds like written durations', async () => {
  const { healthCheckSchema, forwardingTimeoutsSchema, responseForwardingSchema } = await import('./services.ts');
  const { entryPointSchema } = await import('./entrypoint.ts');
  assert.equal(healthCheckSchema.parse({}).interval, 30_000);
  assert.equal(healthCheckSchema.parse({}).timeout, 5_000);
  assert.deepEqual(forwardingTimeoutsSchema.parse({}), { dialTimeout: 30_000, responseHeaderTimeout: 0, idleConnTimeout: 90_000 });
  assert.equal(responseForwardingSchema.parse({}).flushInterval, 100);
  const ep = entryPointSchema.parse({ address: ':80', transport: { respondingTimeouts: {}, lifeCycle: {} } });
  assert.equal(ep.transport!.respondingTimeouts!.readTimeout, 60_000);
  assert.equal(ep.transport!.lifeCycle!.graceTimeOut, 10_000);
  assert.equal(entryPointSchema.parse({ address: ':53/udp', udp: {} }).udp!.timeout, 3_000, "Traefik's DefaultUDPTimeout, 3s");
});
