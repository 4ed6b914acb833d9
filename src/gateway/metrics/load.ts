/**
 * Builds the push metrics backends the static configuration names (`metrics.statsD`, `datadog`, `influxDB2`,
 * `otlp`), importing each one's module — and with it hot-shots, the InfluxDB client or the OpenTelemetry SDK — only
 * when it is configured, so a gateway without them never loads those packages (test/gateway/startup-modules.test.ts).
 */
import type { Logger } from '../../lib/logger.ts';
import type { StaticConfig } from '../config/static.ts';
import { GatewayMetrics, prometheusOptions } from './metrics.ts';
import type { PushMetricsConfig } from '../config/schema/metrics.ts';
import type { MetricsSink } from './sink.ts';

export function hasPushMetrics(metrics: PushMetricsConfig | undefined): boolean {
  return metrics !== undefined && (metrics.statsD !== undefined || metrics.datadog !== undefined || metrics.influxDB2 !== undefined || metrics.otlp !== undefined);
}

/**
 * Where the sinks run: `worker` in a node:cluster worker — OTLP names the process in its resource, and the
 * gateway-wide series are left to the primary (cluster-push.ts).
 */
export interface PushOptions { worker?: boolean }

/** How often a cluster worker sends its gateway-wide values to the primary: the shortest configured pushInterval. */
export function pushGaugesIntervalMs(metrics: PushMetricsConfig | undefined): number | undefined {
  if (!hasPushMetrics(metrics)) return undefined;
  const intervals = [metrics!.statsD, metrics!.datadog, metrics!.influxDB2, metrics!.otlp].flatMap((backend) => (backend ? [backend.pushInterval] : []));
  return Math.max(1, Math.min(...intervals));
}

/** One sink for every configured backend (a MultiSink when there are several), or undefined when there is none. */
export async function loadPushMetrics(metrics: PushMetricsConfig | undefined, logger: Logger, options: PushOptions = {}): Promise<MetricsSink | undefined> {
  if (!hasPushMetrics(metrics)) return undefined;
  const log = logger.child({ component: 'metrics' });
  const sinks: MetricsSink[] = [];
  try {
    if (metrics!.statsD) sinks.push((await import('./statsd.ts')).createStatsdSink(metrics!.statsD, log));
    if (metrics!.datadog) sinks.push((await import('./statsd.ts')).createDatadogSink(metrics!.datadog, log));
    if (metrics!.influxDB2) {
      const sink = (await import('./influxdb2.ts')).createInfluxDB2Sink(metrics!.influxDB2, log);
      if (sink) sinks.push(sink);
    }
    if (metrics!.otlp) sinks.push(await (await import('./otlp.ts')).createOtlpSink(metrics!.otlp, options));
  } catch (err) {
    // A backend that cannot be set up stops the start; the ones already built must not keep timers or sockets.
    await Promise.allSettled(sinks.map((s) => s.close()));
    throw err;
  }
  if (sinks.length === 0) return undefined;
  if (sinks.length === 1) return sinks[0];
  const { MultiSink } = await import('./sink.ts');
  return new MultiSink(sinks);
}

/** The request path's recorder: Prometheus when configured, and the push backends fed through it; undefined without either. */
export async function metricsFor(staticConfig: StaticConfig, logger: Logger, options: PushOptions = {}): Promise<GatewayMetrics | undefined> {
  const prom = staticConfig.metrics?.prometheus;
  const push = hasPushMetrics(staticConfig.metrics);
  if (!prom && !push) return undefined;
  const metrics = new GatewayMetrics(prom ? prometheusOptions(prom) : { prometheus: false });
  const sink = await loadPushMetrics(staticConfig.metrics, logger, options);
  if (sink) metrics.attachPush(sink, { gatewayWide: options.worker !== true });
  return metrics;
}
