/**
 * One OpenTelemetry LoggerProvider per `otlp` block (Traefik's OTelLog.NewLoggerProvider): a batch processor in
 * front of one OTLP exporter — gRPC when `grpc` is present, else HTTP (OTLP/JSON) — and Traefik's resource:
 * host, OS and process attributes, `service.name` (default `traefik`) and `service.version`, then
 * `resourceAttributes`, then `OTEL_RESOURCE_ATTRIBUTES`, each overriding the one before. Loaded only when a
 * configuration has `log.otlp` or `accessLog.otlp` (load.ts): the SDK stays out of a plain gateway's memory.
 */
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordExporter } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { defaultResource, detectResources, envDetector, hostDetector, osDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { defineError } from '../../lib/errors.ts';
import { GATEWAY_VERSION } from '../api/handler.ts';
import { grpcExporterOptions, httpAgentOptions } from '../tracing/otlp-client.ts';
import type { OtelLogConfig } from './schema.ts';

export const OtlpLogsErrors = {
  /** A `log.otlp` / `accessLog.otlp` exporter cannot be built: a TLS file cannot be read, a bad gRPC endpoint. */
  setup: defineError('MG_GATEWAY_OTLP_LOGS_SETUP', 400, (message: string) => message),
};

/** The OTLP logs path, which Traefik's exporter uses when the endpoint has none (`https://collector:4318`). */
const LOGS_PATH = '/v1/logs';

/** `endpoint` as the exporter's full URL: Traefik keeps a path that is written, and adds `/v1/logs` otherwise. */
export function logsUrl(endpoint: string): string {
  const url = new URL(endpoint);
  const written = endpoint.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  if (written === '' || written.startsWith('?') || written.startsWith('#')) url.pathname = LOGS_PATH;
  return url.toString();
}

export function createLogExporter(config: OtelLogConfig, key: string): LogRecordExporter {
  const fail = (message: string) => OtlpLogsErrors.setup(`${key}: ${message}`);
  if (config.grpc) return new GrpcLogExporter(grpcExporterOptions(config.grpc, 'grpc', fail));
  const http = config.http;
  return new HttpLogExporter({
    url: logsUrl(http?.endpoint ?? 'https://localhost:4318'),
    headers: { ...http?.headers },
    ...httpAgentOptions(http?.tls, 'http', fail),
  });
}

export async function createLoggerProvider(config: OtelLogConfig, key: string, exporter = createLogExporter(config, key)): Promise<LoggerProvider> {
  const detected = detectResources({ detectors: [hostDetector, osDetector, processDetector] });
  await detected.waitForAsyncAttributes?.();
  const resource = defaultResource()
    .merge(detected)
    .merge(resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': GATEWAY_VERSION }))
    .merge(resourceFromAttributes({ ...config.resourceAttributes }))
    // Traefik reads OTEL_RESOURCE_ATTRIBUTES last, so the environment overrides the file (resource.WithFromEnv).
    .merge(detectResources({ detectors: [envDetector] }));
  return new LoggerProvider({ resource, processors: [new BatchLogRecordProcessor({ exporter })] });
}
