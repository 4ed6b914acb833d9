/**
 * Traefik's static `tracing` block (pkg/tracing/tracing.go and pkg/observability/types.go; reference page
 * "Tracing"): OpenTelemetry over OTLP/HTTP or OTLP/gRPC, parent-based sampling at `sampleRate`, resource attributes,
 * captured headers and the query parameters kept unredacted. Without `otlp`, Traefik exports over HTTP to its
 * default endpoint, and so does Meshgate.
 */
import { z } from 'zod';

/** A section written with no value is YAML null (`http:`); Traefik treats it as present. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);

export const otlpTlsSchema = z
  .object({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    insecureSkipVerify: z.boolean().default(false),
  })
  .strict();

/** Traefik's OTelHTTP defaults: `https://localhost:4318/v1/traces`. */
export const DEFAULT_OTLP_HTTP_ENDPOINT = 'https://localhost:4318/v1/traces';
/** Traefik's OTelGRPC defaults: `localhost:4317`, TLS unless `insecure`. */
export const DEFAULT_OTLP_GRPC_ENDPOINT = 'localhost:4317';

export const otlpHttpSchema = z
  .object({
    endpoint: z.string().url().default(DEFAULT_OTLP_HTTP_ENDPOINT),
    headers: z.record(z.string(), z.string()).optional(),
    tls: otlpTlsSchema.optional(),
  })
  .strict();

export const otlpGrpcSchema = z
  .object({
    endpoint: z.string().min(1).default(DEFAULT_OTLP_GRPC_ENDPOINT),
    insecure: z.boolean().default(false),
    headers: z.record(z.string(), z.string()).optional(),
    tls: otlpTlsSchema.optional(),
  })
  .strict();

export const tracingSchema = z
  .object({
    serviceName: z.string().min(1).default('traefik'),
    sampleRate: z.number().min(0).max(1).default(1),
    addInternals: z.boolean().default(false),
    resourceAttributes: z.record(z.string(), z.string()).optional(),
    /** Deprecated in Traefik v3.3 for resourceAttributes; still loads, and is set on every span as Traefik did. */
    globalAttributes: z.record(z.string(), z.string()).optional(),
    capturedRequestHeaders: z.array(z.string()).default([]),
    capturedResponseHeaders: z.array(z.string()).default([]),
    safeQueryParams: z.array(z.string()).default([]),
    otlp: section(
      z
        .object({ http: section(otlpHttpSchema).optional(), grpc: section(otlpGrpcSchema).optional() })
        .strict()
        .refine((v) => v.http === undefined || v.grpc === undefined, { message: 'set one of otlp.http or otlp.grpc, not both' }),
    ).optional(),
  })
  .strict();

export type TracingConfig = z.infer<typeof tracingSchema>;

