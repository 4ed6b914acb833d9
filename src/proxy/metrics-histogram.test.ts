/**
 * LeanHistogram must write exactly what prom-client's Histogram writes for the same observations — same series, same
 * labels, same cumulative bucket counts, sum and count — so dashboards and alerts on the proxy's latency see no change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { LeanHistogram } from './metrics-histogram.ts';

const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const observations: Array<[string, string, number]> = [
  ['inbound', 'web', 0.0003], ['inbound', 'web', 0.0005], ['inbound', 'web', 0.0007], ['inbound', 'web', 0.03],
  ['outbound', 'api', 0.001], ['outbound', 'api', 42], ['outbound', 'api', 0.00049], ['inbound', 'web', 10],
];

test('the same text as prom-client for the same observations, default labels included', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  for (const r of [ours, theirs]) r.setDefaultLabels({ proxy: 'web-sidecar-proxy' });
  const lean = new LeanHistogram({ name: 'h_seconds', help: 'latency', buckets, registers: [ours] });
  const prom = new Histogram({ name: 'h_seconds', help: 'latency', buckets, labelNames: ['direction', 'service'], registers: [theirs] });
  for (const [direction, service, v] of observations) {
    lean.child({ direction, service }).observe(v);
    prom.labels({ direction, service }).observe(v);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.ok(text.includes('h_seconds_bucket{le="0.0005",proxy="web-sidecar-proxy",direction="inbound",service="web"} 2'), text);
  assert.ok(text.includes('h_seconds_count{proxy="web-sidecar-proxy",direction="outbound",service="api"} 3'), text);
});

test('a child handed out keeps counting after a registry reset, from zero', async () => {
  const r = new Registry();
  const lean = new LeanHistogram({ name: 'h_seconds', help: 'latency', buckets, registers: [r] });
  const child = lean.child({ direction: 'inbound', service: 'web' });
  child.observe(0.002);
  child.observe(Number.NaN);
  assert.ok((await r.metrics()).includes('h_seconds_count{direction="inbound",service="web"} 1'));
  r.resetMetrics();
  child.observe(0.002);
  const text = await r.metrics();
  assert.ok(text.includes('h_seconds_count{direction="inbound",service="web"} 1'), text);
  assert.ok(text.includes('h_seconds_sum{direction="inbound",service="web"} 0.002'), text);
});
