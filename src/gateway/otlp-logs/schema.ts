/**
 * Traefik's `log.otlp` and `accessLog.otlp` blocks (pkg/observability/types/logs.go OTelLog, types/otel.go
 * OTelHTTP/OTelGRPC; reference page "Logs & Access Logs", OpenTelemetry): the service name and resource attributes
 * of the records, and one exporter, OTLP/HTTP by default. Both blocks need `experimental.otlpLogs: true`, which
 * `otlpLogsProblems` checks as Traefik's ValidateConfiguration and setupLogger do.
 */
import { z } from 'zod';
import { otlpTlsSchema } from '../tracing/schema.ts';

/** A section written with no value (YAML null, `http:`) or as a flag (`--log.otlp=true`) is present with its defaults, as in Traefik. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null || v === true ? {} : v), schema);

/**
 * Traefik's OTelHTTP default is `https://localhost:4318`; its exporter then posts to the OTLP logs path,
 * `/v1/logs`, as it does for any endpoint written without a path (exporterUrl).
 */
export const DEFAULT_OTLP_LOGS_HTTP_ENDPOINT = 'https://localhost:4318';
export const DEFAULT_OTLP_LOGS_GRPC_ENDPOINT = 'localhost:4317';

export const otelLogSchema = z
  .object({
    serviceName: z.string().min(1).default('traefik'),
    resourceAttributes: z.record(z.string(), z.string()).optional(),
    http: section(
      z
        .object({
          endpoint: z.string().url().default(DEFAULT_OTLP_LOGS_HTTP_ENDPOINT),
          headers: z.record(z.string(), z.string()).optional(),
          tls: otlpTlsSchema.optional(),
        })
        .strict(),
    ).optional(),
    // Traefik uses gRPC when this block is present, whether or not `http` is too (NewLoggerProvider).
    grpc: section(
      z
        .object({
          endpoint: z.string().min(1).default(DEFAULT_OTLP_LOGS_GRPC_ENDPOINT),
          insecure: z.boolean().default(false),
          headers: z.record(z.string(), z.string()).optional(),
          tls: otlpTlsSchema.optional(),
        })
        .strict(),
    ).optional(),
  })
  .strict();

export type OtelLogConfig = z.infer<typeof otelLogSchema>;

/** `otlp: {}` / `[log.otlp]` / `--log.otlp=true`: the block is present and takes every default. */
export const otlpSection = section(otelLogSchema);

interface OtlpLogsSettings {
  log?: { otlp?: OtelLogConfig | undefined } | undefined;
  accessLog?: { otlp?: OtelLogConfig | undefined } | undefined;
  experimental?: { otlpLogs?: boolean | undefined } | undefined;
}

/**
 * Traefik refuses to start when `log.otlp` or `accessLog.otlp` is set without `experimental.otlpLogs`
 * (static_config.go ValidateConfiguration, cmd/traefik/logger.go setupLogger), and when a gRPC exporter has both
 * `tls` and `insecure`. The messages are Traefik's, prefixed with the key they are about.
 */
export function otlpLogsProblems(config: OtlpLogsSettings): string[] {
  const problems: string[] = [];
  const enabled = config.experimental?.otlpLogs === true;
  const blocks = [
    ['accessLog.otlp', config.accessLog?.otlp, 'OTLP access logging', 'access logs OTLP GRPC'],
    ['log.otlp', config.log?.otlp, 'OTLP logging', 'logs OTLP GRPC'],
  ] as const;
  for (const [key, otlp, what, grpcName] of blocks) {
    if (otlp === undefined) continue;
    if (!enabled) problems.push(`${key}: the experimental OTLPLogs feature must be enabled to use ${what} (experimental.otlpLogs: true)`);
    if (otlp.grpc?.tls !== undefined && otlp.grpc.insecure) problems.push(`${key}.grpc: ${grpcName}: TLS and Insecure options are mutually exclusive`);
  }
  return problems;
}
