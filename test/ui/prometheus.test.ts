/** The gateway page's rates: Traefik's request counters read from the Prometheus text and differenced per second. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCounters, rates } from '../../src/ui/core/prometheus.ts';

const BEFORE = `# HELP traefik_entrypoint_requests_total How many HTTP requests processed on an entrypoint.
# TYPE traefik_entrypoint_requests_total counter
traefik_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"} 100
traefik_entrypoint_requests_total{code="502",entrypoint="web",method="GET",protocol="http"} 4
traefik_service_requests_total{code="200",method="GET",protocol="http",service="web@consulcatalog"} 90
traefik_router_requests_total{code="200",method="GET",protocol="http",router="web@consulcatalog",service="web@consulcatalog"} 90
traefik_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",le="0.1"} 100
`;
const AFTER = BEFORE.replace('} 100\n', '} 120\n').replace('} 4\n', '} 6\n').replace(/service="web@consulcatalog"} 90/, 'service="web@consulcatalog"} 110');

test('counters by entry point, router and service, 5xx counted as errors, other families ignored', () => {
  const c = parseCounters(BEFORE, 0);
  assert.deepEqual(c.totals.get('entrypoint:web'), { requests: 104, errors: 4 });
  assert.deepEqual(c.totals.get('service:web@consulcatalog'), { requests: 90, errors: 0 });
  assert.deepEqual(c.totals.get('router:web@consulcatalog'), { requests: 90, errors: 0 });
  assert.equal(c.totals.size, 3);
});

test('rates are per second between two readings; a counter that went down counts from zero', () => {
  const r = rates(parseCounters(BEFORE, 0), parseCounters(AFTER, 2000));
  assert.deepEqual(r.get('entrypoint:web'), { requests: 11, errors: 1, total: 126 });
  assert.deepEqual(r.get('service:web@consulcatalog'), { requests: 10, errors: 0, total: 110 });
  const restarted = rates(parseCounters(AFTER, 0), parseCounters(BEFORE, 1000));
  assert.equal(restarted.get('entrypoint:web')!.requests, 104, 'a restarted gateway: the new total is the increase');
  assert.equal(rates(undefined, parseCounters(BEFORE, 0)).get('entrypoint:web')!.requests, 0, 'one reading has no rate yet');
});
