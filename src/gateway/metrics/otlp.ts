/**
 * Traefik's OpenTelemetry metrics (pkg/metrics/otel.go) on @opentelemetry/sdk-metrics: a MeterProvider with
 * Traefik's meter name, a periodic reader every `pushInterval`, one OTLP exporter (HTTP, which sends OTLP/JSON to
 * `<endpoint>/v1/metrics` when the endpoint has no path, or gRPC), and the instruments under Traefik's Prometheus
 * names: counters (unit "1"), duration histograms in seconds with `explicitBoundaries`, and observable gauges for
 * open connections, server state and the last reload time (Traefik's gaugeCollector). The resource is built as
 * Traefik's (SDK attributes, then OTEL_RESOURCE_ATTRIBUTES, then `service.name` and `resourceAttributes`); a cluster
 * worker adds `service.instance.id` = host:pid, since each worker exports its own cumulative request series; the
 * gauges of a cluster come from the primary's sink, which has none (cluster-push.ts).
 */
import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { hostname } from 'node:os';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { defineError } from '../../lib/errors.ts';
import type { CertificateExpiry, MetricsSink } from './sink.ts';
import { OtlpRequestMetrics } from './otlp-requests.ts';
import { DEFAULT_OTLP_METRICS_HTTP_ENDPOINT, type OtlpMetricsConfig } from '../config/schema/metrics.ts';
import { grpcExporterOptions, httpAgentOptions } from '../tracing/otlp-client.ts';

export const OtlpMetricsErrors = {
  /** A `metrics.otlp.*.tls` file cannot be read, or the gRPC endpoint is not host:port. */
  setup: defineError('MG_GATEWAY_METRICS_SETUP', 400, (message: string) => `metrics.otlp: ${message}`),
};

/** Traefik's instrumentation scope (otel.Meter("github.com/traefik/traefik")). */
const SCOPE = 'github.com/traefik/traefik';

/** The full OTLP/HTTP URL: Traefik's exporter keeps a configured path and uses /v1/metrics otherwise. */
export function otlpHttpMetricsUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/v1/metrics';
  return url.toString();
}

async function createExporter(config: OtlpMetricsConfig): Promise<PushMetricExporter> {
  // As Traefik's newOpenTelemetryMeterProvider: gRPC when configured, HTTP otherwise (its defaults when absent).
  if (config.grpc) {
    const options = grpcExporterOptions(config.grpc, 'grpc', OtlpMetricsErrors.setup);
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-grpc');
    return new OTLPMetricExporter(options);
  }
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
  const http = config.http;
  return new OTLPMetricExporter({
    url: otlpHttpMetricsUrl(http?.endpoint ?? DEFAULT_OTLP_METRICS_HTTP_ENDPOINT),
    headers: { ...http?.headers },
    ...httpAgentOptions(http?.tls, 'http', OtlpMetricsErrors.setup),
  });
}

/** Gauge values by name, then by attribute key; read by the observable gauges at each collection. */
class GaugeValues {
  readonly values = new Map<string, { attributes: Attributes; value: number }>();

  add(key: string, attributes: Attributes, delta: number): void {
    const v = this.values.get(key);
    if (v === undefined) this.values.set(key, { attributes, value: delta });
    else v.value += delta;
  }

  set(key: string, attributes: Attributes, value: number): void {
    this.values.set(key, { attributes, value });
  }
}

class OtlpSink implements MetricsSink {
  readonly #provider: MeterProvider;
  readonly #config: OtlpMetricsConfig;
  readonly #requests: OtlpRequestMetrics;
  readonly #retries: Counter | undefined;
  readonly #reloads: Counter;
  readonly #openConnections = new GaugeValues();
  readonly #serverUp = new GaugeValues();
  readonly #lastReload = new GaugeValues();
  readonly #certsNotAfter = new GaugeValues();

  constructor(config: OtlpMetricsConfig, exporter: PushMetricExporter, resource: Resource) {
    this.#config = config;
    // The request metrics (TLS counters included) are counted outside the SDK and handed to the reader at each collection (otlp-requests.ts).
    this.#requests = new OtlpRequestMetrics(SCOPE, resource, {
      entryPoint: config.addEntryPointsLabels, router: config.addRoutersLabels, service: config.addServicesLabels,
    }, config.explicitBoundaries);
    this.#provider = new MeterProvider({
      resource,
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: Math.max(config.pushInterval, 1), metricProducers: [this.#requests] })],
    });
    const meter = this.#provider.getMeter(SCOPE);
    this.#retries = config.addServicesLabels ? meter.createCounter('traefik_service_retries_total', { unit: '1', description: 'How many request retries happened on a service.' }) : undefined;
    this.#reloads = meter.createCounter('traefik_config_reloads_total', { unit: '1', description: 'Config reloads' });
    this.#gauge(meter, 'traefik_config_last_reload_success', 'Last config reload success', 'ms', this.#lastReload);
    // Traefik's unit for it is "ms" though the value is in seconds (pkg/metrics/otel.go); kept as Traefik sends it.
    this.#gauge(meter, 'traefik_tls_certs_not_after', 'Certificate expiration timestamp', 'ms', this.#certsNotAfter);
    this.#gauge(meter, 'traefik_open_connections', 'How many open connections exist, by entryPoint and protocol', '1', this.#openConnections);
    if (config.addServicesLabels) this.#gauge(meter, 'traefik_service_server_up', 'service server is up, described by gauge value of 0 or 1.', '1', this.#serverUp);
  }

  #gauge(meter: Meter, name: string, description: string, unit: string, values: GaugeValues): void {
    const gauge = meter.createObservableGauge(name, { description, unit });
    gauge.addCallback((result) => {
      for (const { attributes, value } of values.values.values()) result.observe(value, attributes);
    });
  }

  request(entryPoint: string | undefined, router: string | undefined, service: string | undefined,
    method: string, protocol: string, code: number, seconds: number, requestBytes: number, responseBytes: number): void {
    this.#requests.request(entryPoint, router, service, method, protocol, code, seconds, requestBytes, responseBytes);
  }

  openConnection(entryPoint: string, protocol: string, delta: number): void {
    this.#openConnections.add(`${entryPoint}\u0000${protocol}`, { entrypoint: entryPoint, protocol }, delta);
  }

  serverUp(service: string, url: string, up: boolean): void {
    if (this.#config.addServicesLabels) this.#serverUp.set(`${service}\u0000${url}`, { service, url }, up ? 1 : 0);
  }

  retry(service: string): void {
    this.#retries?.add(1, { service });
  }

  tlsRequest(entryPoint: string | undefined, router: string | undefined, service: string | undefined, version: string, cipher: string): void {
    this.#requests.tlsRequest(entryPoint, router, service, version, cipher);
  }

  certificates(certs: readonly CertificateExpiry[]): void {
    for (const c of certs) this.#certsNotAfter.set(`${c.cn}\u0000${c.serial}\u0000${c.sans}`, { cn: c.cn, serial: c.serial, sans: c.sans }, c.notAfter);
  }

  configReload(success: boolean, atMs: number): void {
    if (!success) return;
    this.#reloads.add(1);
    this.#lastReload.set('', {}, Math.floor(atMs / 1000));
  }

  /** Shutting the provider down exports what was recorded since the last push; at most 5s, as Traefik's StopOpenTelemetry. */
  async close(): Promise<void> {
    await this.#provider.shutdown({ timeoutMillis: 5000 }).catch(() => {});
  }
}

/** Later sources win, as in Traefik's resource.New: the SDK's, the environment's, then the configuration's. */
function resourceFor(config: OtlpMetricsConfig, worker: boolean): Resource {
  return defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({
      ...(worker ? { 'service.instance.id': `${hostname()}:${process.pid}` } : {}),
      'service.name': config.serviceName,
      ...config.resourceAttributes,
    }));
}

export async function createOtlpSink(config: OtlpMetricsConfig, options: { worker?: boolean } = {}): Promise<MetricsSink> {
  return new OtlpSink(config, await createExporter(config), resourceFor(config, options.worker ?? false));
}
