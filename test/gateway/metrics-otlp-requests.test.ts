/**
 * The OTLP backend's request metrics counted outside the SDK (src/gateway/metrics/otlp-requests.ts): what a collection
 * hands the exporter is what the SDK's own instruments give (cumulative monotonic sums, explicit-bucket histograms
 * with count, sum, min and max — sdk-metrics' SumAggregator and ExplicitBucketHistogramAggregator, whose buckets are
 * inclusive upper bounds), and the series are bounded as the SDK bounds an instrument's attribute sets (2000, then
 * one `otel.metric.overflow` series; sdk-metrics DeltaMetricProcessor).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { DataPointType, type HistogramMetricData, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { OtlpRequestMetrics, SERIES_LIMIT } from '../../src/gateway/metrics/otlp-requests.ts';

const resource = resourceFromAttributes({ 'service.name': 'traefik' });

test('OTLP request metrics: Traefik\'s names, cumulative sums and histograms with inclusive bucket bounds, min and max', async () => {
  const m = new OtlpRequestMetrics('github.com/traefik/traefik', resource, { entryPoint: true, router: false, service: true }, [0.1, 1]);
  m.request('web', 'r@file', 'app@file', 'GET', 'http', 200, 0.1, 10, 100);
  m.request('web', 'r@file', 'app@file', 'GET', 'http', 200, 0.5, 20, 200);
  m.request('web', 'r@file', 'app@file', 'GET', 'http', 200, 3, 0, 0);
  m.request('web', 'r@file', 'app@file', 'POST', 'http', 503, 0.01, 0, 0);
  const { resourceMetrics } = await m.collect();
  assert.equal(resourceMetrics.scopeMetrics[0]!.scope.name, 'github.com/traefik/traefik');
  const byName = new Map(resourceMetrics.scopeMetrics[0]!.metrics.map((x) => [x.descriptor.name, x]));
  assert.deepEqual([...byName.keys()].sort(), [
    'traefik_entrypoint_request_duration_seconds', 'traefik_entrypoint_requests_bytes_total', 'traefik_entrypoint_requests_total', 'traefik_entrypoint_responses_bytes_total',
    'traefik_service_request_duration_seconds', 'traefik_service_requests_bytes_total', 'traefik_service_requests_total', 'traefik_service_responses_bytes_total',
  ]);
  const requests = byName.get('traefik_entrypoint_requests_total') as SumMetricData;
  assert.equal(requests.isMonotonic, true);
  assert.deepEqual(requests.dataPoints.map((p) => [p.attributes, p.value]), [
    [{ entrypoint: 'web', code: '200', method: 'GET', protocol: 'http' }, 3],
    [{ entrypoint: 'web', code: '503', method: 'POST', protocol: 'http' }, 1],
  ]);
  assert.equal((byName.get('traefik_service_requests_bytes_total') as SumMetricData).dataPoints[0]!.value, 30);
  const duration = byName.get('traefik_service_request_duration_seconds') as HistogramMetricData;
  assert.equal(duration.dataPointType, DataPointType.HISTOGRAM);
  assert.equal(duration.descriptor.unit, 's');
  const h = duration.dataPoints[0]!.value;
  // 0.1 falls in the first bucket (≤ 0.1), 0.5 in the second, 3 above every bound.
  assert.deepEqual(h.buckets, { boundaries: [0.1, 1], counts: [1, 1, 1] });
  assert.deepEqual([h.count, h.sum, h.min, h.max], [3, 3.6, 0.1, 3]);
  // Cumulative: a second collection still holds the totals.
  const again = await m.collect();
  const requests2 = again.resourceMetrics.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'traefik_entrypoint_requests_total') as SumMetricData;
  assert.equal(requests2.dataPoints[0]!.value, 3);
});

test('OTLP request metrics: past the SDK\'s 2000 attribute sets a metric counts in one otel.metric.overflow series', async () => {
  const m = new OtlpRequestMetrics('s', resource, { entryPoint: true, router: false, service: false }, [1]);
  for (let i = 0; i < SERIES_LIMIT + 10; i++) m.request(`ep-${i}`, undefined, undefined, 'GET', 'http', 200, 0.01, 0, 0);
  const { resourceMetrics } = await m.collect();
  const requests = resourceMetrics.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'traefik_entrypoint_requests_total') as SumMetricData;
  assert.equal(requests.dataPoints.length, SERIES_LIMIT + 1);
  assert.deepEqual(requests.dataPoints.at(-1)!.attributes, { 'otel.metric.overflow': true });
  assert.equal(requests.dataPoints.at(-1)!.value, 10);
});

test('OTLP request metrics: nothing recorded, nothing exported', async () => {
  const m = new OtlpRequestMetrics('s', resource, { entryPoint: true, router: true, service: true }, [1]);
  assert.deepEqual((await m.collect()).resourceMetrics.scopeMetrics, []);
});

// Traefik counts a request over TLS in each scope's requests_tls_total (pkg/middlewares/metrics/metrics.go ServeHTTP)
// with the scope's labels and tls_version / tls_cipher; the instruments are pkg/metrics/otel.go's Int64Counters.
test('OTLP TLS request counters are counted by the producer too, not by SDK instruments: names, labels, descriptions, overflow', async () => {
  const m = new OtlpRequestMetrics('github.com/traefik/traefik', resource, { entryPoint: true, router: true, service: true }, [1]);
  const cipher = 'TLS_AES_128_GCM_SHA256';
  m.tlsRequest('websecure', 'r@file', 'app@file', '1.3', cipher);
  m.tlsRequest('websecure', 'r@file', 'app@file', '1.3', cipher);
  m.tlsRequest('websecure', undefined, undefined, '1.2', cipher);
  const { resourceMetrics } = await m.collect();
  const byName = new Map(resourceMetrics.scopeMetrics[0]!.metrics.map((x) => [x.descriptor.name, x]));
  // Only TLS counts so far: the request metrics are not exported empty.
  assert.deepEqual([...byName.keys()].sort(), ['traefik_entrypoint_requests_tls_total', 'traefik_router_requests_tls_total', 'traefik_service_requests_tls_total']);
  const ep = byName.get('traefik_entrypoint_requests_tls_total') as SumMetricData;
  assert.equal(ep.isMonotonic, true);
  assert.equal(ep.descriptor.unit, '1');
  assert.equal(ep.descriptor.description, 'How many HTTP requests with TLS processed on an entrypoint, partitioned by TLS Version and TLS cipher Used.');
  assert.deepEqual(ep.dataPoints.map((p) => [p.attributes, p.value]), [
    [{ entrypoint: 'websecure', tls_version: '1.3', tls_cipher: cipher }, 2],
    [{ entrypoint: 'websecure', tls_version: '1.2', tls_cipher: cipher }, 1],
  ]);
  assert.deepEqual((byName.get('traefik_router_requests_tls_total') as SumMetricData).dataPoints.map((p) => [p.attributes, p.value]),
    [[{ router: 'r@file', service: 'app@file', tls_version: '1.3', tls_cipher: cipher }, 2]]);
  assert.deepEqual((byName.get('traefik_service_requests_tls_total') as SumMetricData).dataPoints.map((p) => [p.attributes, p.value]),
    [[{ service: 'app@file', tls_version: '1.3', tls_cipher: cipher }, 2]]);

  const bounded = new OtlpRequestMetrics('s', resource, { entryPoint: true, router: false, service: false }, [1]);
  for (let i = 0; i < SERIES_LIMIT + 3; i++) bounded.tlsRequest(`ep-${i}`, undefined, undefined, '1.3', cipher);
  const tls = (await bounded.collect()).resourceMetrics.scopeMetrics[0]!.metrics[0] as SumMetricData;
  assert.equal(tls.dataPoints.length, SERIES_LIMIT + 1);
  assert.deepEqual([tls.dataPoints.at(-1)!.attributes, tls.dataPoints.at(-1)!.value], [{ 'otel.metric.overflow': true }, 3]);
});
