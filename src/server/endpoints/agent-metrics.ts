/**
 * GET /v1/agent/metrics: the server's prom-client registry in Consul's JSON shape (go-metrics' in-memory sink
 * summary: Timestamp, Gauges, Points, Counters, Samples) or, with ?format=prometheus, Prometheus text exposition.
 * Counters and histograms are cumulative since start (Consul reports the current 10 s interval).
 */
import type { Registry } from 'prom-client';
import type { ApiResponse } from '../http/router.ts';
import { CONSUL_JSON_NAMES } from '../metrics.ts';

interface MetricJson {
  name: string;
  type: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

interface Aggregate {
  Name: string;
  Count: number;
  Rate: number;
  Sum: number;
  Min: number;
  Max: number;
  Mean: number;
  Stddev: number;
  Labels: Record<string, string>;
}

export async function metricsResponse(registry: Registry, format: string | null): Promise<ApiResponse> {
  if (format === 'prometheus') {
    return { body: await registry.metrics(), text: true, headers: { 'Content-Type': registry.contentType } };
  }
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const gauges: Array<{ Name: string; Value: number; Labels: Record<string, string> }> = [];
  const counters: Aggregate[] = [];
  const samples: Aggregate[] = [];
  for (const raw of metrics) {
    // Consul's in-memory sink names metrics with dots (consul.kvs.apply); its Prometheus form uses underscores.
    const m = { ...raw, name: CONSUL_JSON_NAMES[raw.name] ?? raw.name };
    if (m.type === 'gauge') {
      for (const v of m.values) gauges.push({ Name: m.name, Value: v.value, Labels: labels(v.labels) });
    } else if (m.type === 'counter') {
      for (const v of m.values) counters.push(aggregate(m.name, v.value, v.value, labels(v.labels)));
    } else if (m.type === 'histogram' || m.type === 'summary') {
      // One sample per label set, from its _count and _sum series.
      const byLabels = new Map<string, { count: number; sum: number; labels: Record<string, string> }>();
      for (const v of m.values) {
        const name = v.metricName ?? '';
        if (!name.endsWith('_count') && !name.endsWith('_sum')) continue;
        const l = labels(v.labels);
        const key = JSON.stringify(l);
        const entry = byLabels.get(key) ?? { count: 0, sum: 0, labels: l };
        if (name.endsWith('_count')) entry.count = v.value;
        else entry.sum = v.value;
        byLabels.set(key, entry);
      }
      for (const e of byLabels.values()) samples.push(aggregate(m.name, e.count, e.sum, e.labels));
    }
  }
  return { body: { Timestamp: goTimestamp(new Date()), Gauges: gauges, Points: [], Counters: counters, Samples: samples } };
}

function aggregate(name: string, count: number, sum: number, l: Record<string, string>): Aggregate {
  const mean = count > 0 ? sum / count : 0;
  return { Name: name, Count: count, Rate: sum / 10, Sum: sum, Min: 0, Max: 0, Mean: mean, Stddev: 0, Labels: l };
}

function labels(input: Record<string, string | number>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>; // label names and values come from metric labels
  for (const [k, v] of Object.entries(input)) if (k !== 'quantile' && k !== 'le') out[k] = String(v);
  return out;
}

/** Go's time.Time.String() at second precision, as Consul prints the interval start: "2024-05-01 10:00:00 +0000 UTC". */
function goTimestamp(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}
