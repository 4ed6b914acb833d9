/**
 * CPU per request of each push metrics backend's request path, in process: the sink's `request` (as GatewayMetrics
 * calls it for a request on an entry point, router and service) in a loop over a few label sets, no network (the
 * push interval is an hour; nothing is exported). Prints µs/request, the minimum of several runs (less moved by a
 * busy host than a mean). Run: `node bench/gateway/push-metrics.ts` (under `nice -n -20` on a shared host).
 */
import { loadPushMetrics } from '../../src/gateway/metrics/load.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import type { MetricsSink } from '../../src/gateway/metrics/sink.ts';

const REQUESTS = 200_000;
const RUNS = 5;
const METHODS = ['GET', 'POST'];
const CODES = [200, 404, 503];

function loop(sink: MetricsSink): number {
  const start = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) {
    sink.request('web', 'app@file', 'app@file', METHODS[i & 1]!, 'http', CODES[i % 3]!, 0.001 * (i % 7), 120, 2048);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / REQUESTS;
}

const backends: Record<string, unknown> = {
  statsD: { address: '127.0.0.1:9', pushInterval: '1h' },
  datadog: { address: '127.0.0.1:9', addRoutersLabels: true, pushInterval: '1h' },
  influxDB2: { address: 'http://127.0.0.1:9', token: 't', org: 'o', bucket: 'b', pushInterval: '1h' },
  otlp: { addRoutersLabels: true, pushInterval: '1h', http: { endpoint: 'http://127.0.0.1:9' } },
};

for (const [name, config] of Object.entries(backends)) {
  const metrics = validateStaticConfig({ metrics: { [name]: config } }).metrics;
  const sink = (await loadPushMetrics(metrics, silentLogger()))!;
  loop(sink); // warm-up: JIT and the label sets' first sight
  const runs = Array.from({ length: RUNS }, () => loop(sink));
  console.log(`${name.padEnd(10)} ${Math.min(...runs).toFixed(3)} µs/request (min of ${RUNS} × ${REQUESTS}; all: ${runs.map((r) => r.toFixed(2)).join(' ')})`);
  // Nothing reaches port 9: the close's last push fails quietly.
  await Promise.race([sink.close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
}
process.exit(0);
