/**
 * Traefik's push metrics backends in the static configuration (pkg/types/metrics.go: Statsd, Datadog, InfluxDB2,
 * OTLP, with their SetDefaults; reference page "Metrics"): addresses, push interval, prefix, which scopes are
 * exported, and the OTLP exporter's transport. Defaults are Traefik's, so `datadog: {}` or `otlp: {}` load as
 * in Traefik.
 */
import { z } from 'zod';
import { durationSchema } from './services.ts';
import { otlpGrpcSchema, otlpHttpSchema as tracingOtlpHttpSchema } from '../../tracing/schema.ts';

/** `datadog:` with no value (YAML null, or TOML's bare `[metrics.datadog]`) is present with its defaults. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

/** Traefik's push interval default: 10s. */
export const DEFAULT_PUSH_INTERVAL_MS = 10_000;
/** Traefik's OTLP explicitBoundaries default (types.OTLP.SetDefaults). */
export const DEFAULT_OTLP_BOUNDARIES = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] as const;
/** Traefik's OTelHTTP default endpoint; the exporter appends `/v1/metrics` when it has no path. */
export const DEFAULT_OTLP_METRICS_HTTP_ENDPOINT = 'https://localhost:4318';

const scopes = {
  addEntryPointsLabels: z.boolean().default(true),
  addRoutersLabels: z.boolean().default(false),
  addServicesLabels: z.boolean().default(true),
  pushInterval: durationSchema.prefault(DEFAULT_PUSH_INTERVAL_MS / 1000),
};

/** statsD and datadog take the same keys; Datadog's address may also be `unix://`, `unixgram://` or `unixstream://` + a path. */
const agentSchema = z
  .object({
    address: z.string().min(1).default('localhost:8125'),
    prefix: z.string().default('traefik'),
    ...scopes,
  })
  .strict();
export const statsdSchema = agentSchema;
export const datadogSchema = agentSchema;

export const influxDB2Schema = z
  .object({
    address: z.string().url().default('http://localhost:8086'),
    token: z.string().default(''),
    org: z.string().default(''),
    bucket: z.string().default(''),
    additionalLabels: z.record(z.string(), z.string()).optional(),
    ...scopes,
  })
  .strict();

/** The OTLP transports are tracing's (same keys, same gRPC default); only the HTTP endpoint's default differs. */
const otlpHttpSchema = tracingOtlpHttpSchema.extend({ endpoint: z.string().url().default(DEFAULT_OTLP_METRICS_HTTP_ENDPOINT) });

export const otlpMetricsSchema = z
  .object({
    http: section(otlpHttpSchema).optional(),
    grpc: section(otlpGrpcSchema).optional(),
    serviceName: z.string().min(1).default('traefik'),
    resourceAttributes: z.record(z.string(), z.string()).optional(),
    explicitBoundaries: z.array(z.number()).default([...DEFAULT_OTLP_BOUNDARIES]),
    ...scopes,
  })
  .strict();

/** The four push backends as keys of static `metrics` (prometheus and addInternals stay in config/static.ts). */
export const pushMetricsSchemas = {
  statsD: section(statsdSchema).optional(),
  datadog: section(datadogSchema).optional(),
  influxDB2: section(influxDB2Schema).optional(),
  otlp: section(otlpMetricsSchema).optional(),
};

export type StatsdConfig = z.infer<typeof statsdSchema>;
export type DatadogConfig = z.infer<typeof datadogSchema>;
export type InfluxDB2Config = z.infer<typeof influxDB2Schema>;
export type OtlpMetricsConfig = z.infer<typeof otlpMetricsSchema>;
export interface PushMetricsConfig {
  statsD?: StatsdConfig | undefined;
  datadog?: DatadogConfig | undefined;
  influxDB2?: InfluxDB2Config | undefined;
  otlp?: OtlpMetricsConfig | undefined;
}
