/**
 * recordRequest keeps request and byte counts aside between scrapes: every scrape must still show exact totals —
 * nothing lost, nothing counted twice — with the labels it always had.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyMetrics } from './metrics.ts';

const sample = (text: string, name: string, labels: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
};

test('request and byte counters are exact across scrapes, by direction, service and code', async () => {
  const m = new ProxyMetrics('web-sidecar-proxy');
  m.recordRequest('outbound', 'api', 200, 0.001, 10, 100);
  m.recordRequest('outbound', 'api', 200, 0.002, 5, 50);
  m.recordRequest('outbound', 'api', 503, 0.003, 0, 20);
  m.recordRequest('inbound', 'web', 200, 0.001, 7, 70);
  let text = await m.registry.metrics();
  assert.equal(sample(text, 'meshgate_proxy_requests_total', 'direction="outbound",service="api",code="200"'), 2);
  assert.equal(sample(text, 'meshgate_proxy_requests_total', 'direction="outbound",service="api",code="503"'), 1);
  assert.equal(sample(text, 'meshgate_proxy_requests_total', 'direction="inbound",service="web",code="200"'), 1);
  assert.equal(sample(text, 'meshgate_proxy_bytes_total', 'direction="outbound",service="api",flow="rx"'), 15);
  assert.equal(sample(text, 'meshgate_proxy_bytes_total', 'direction="outbound",service="api",flow="tx"'), 170);
  assert.equal(sample(text, 'meshgate_proxy_request_duration_seconds_count', 'direction="outbound",service="api"'), 3);
  assert.ok(text.includes('proxy="web-sidecar-proxy"'));

  // A second scrape without traffic shows the same totals; new traffic adds to them once.
  assert.equal(sample(await m.registry.metrics(), 'meshgate_proxy_requests_total', 'direction="outbound",service="api",code="200"'), 2);
  m.recordRequest('outbound', 'api', 200, 0.001, 1, 1);
  m.bytes.inc({ direction: 'outbound', service: 'api', flow: 'rx' }, 1000);
  text = await m.registry.metrics();
  assert.equal(sample(text, 'meshgate_proxy_requests_total', 'direction="outbound",service="api",code="200"'), 3);
  assert.equal(sample(text, 'meshgate_proxy_bytes_total', 'direction="outbound",service="api",flow="rx"'), 1016);
  assert.equal(sample(await m.registry.metrics(), 'meshgate_proxy_bytes_total', 'direction="outbound",service="api",flow="rx"'), 1016);
});
