/**
 * Traefik v3 `http.services` and `http.serversTransports` as zod schemas, with Traefik's own camelCase keys and
 * defaults (pkg/config/dynamic/http_config.go). Every object is `.strict()`, so a key Meshgate does not support is
 * an error whose path names that key. Durations accept Traefik's two forms (a Go duration string such as "10s", or
 * an integer number of seconds) and come out as milliseconds.
 */
import { z } from 'zod';
import { parseDuration } from '../../../lib/duration.ts';

/**
 * Traefik's ptypes.Duration: "1m30s", "250ms", or an integer that means seconds. Parsed to milliseconds. Give its
 * defaults with `.prefault(seconds)`: zod 4's `.default()` returns the value as the output without the transform,
 * so `.default(30)` meant 30 ms (a 5 ms health-check timeout marked every server down).
 */
export const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      ctx.addIssue({ code: 'custom', message: `invalid duration ${value}` });
      return z.NEVER;
    }
    return value * 1000;
  }
  const trimmed = value.trim();
  // Traefik accepts a bare integer string as seconds too ("10" in a label).
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  try {
    return parseDuration(trimmed);
  } catch {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${value}" (expected e.g. "10s" or seconds)` });
    return z.NEVER;
  }
});

/** Default values Traefik applies (SetDefaults in http_config.go), in milliseconds where they are durations. */
export const SERVICE_DEFAULTS = {
  healthCheckInterval: 30_000,
  healthCheckTimeout: 5_000,
  flushInterval: 100,
  maxIdleConnsPerHost: 200,
  dialTimeout: 30_000,
  idleConnTimeout: 90_000,
} as const;

export const serverSchema = z
  .object({
    url: z.string().min(1),
    weight: z.number().int().min(0).optional(),
    preservePath: z.boolean().optional(),
  })
  .strict();

export const healthCheckSchema = z
  .object({
    scheme: z.string().optional(),
    mode: z.enum(['http', 'grpc']).default('http'),
    path: z.string().optional(),
    method: z.string().default('GET'),
    status: z.number().int().min(100).max(599).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    interval: durationSchema.prefault(SERVICE_DEFAULTS.healthCheckInterval / 1000),
    unhealthyInterval: durationSchema.optional(),
    timeout: durationSchema.prefault(SERVICE_DEFAULTS.healthCheckTimeout / 1000),
    hostname: z.string().optional(),
    followRedirects: z.boolean().default(true),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/**
 * Traefik v3.5's passive health check (pkg/healthcheck PassiveServiceHealthChecker): `maxFailedAttempts` failed
 * requests within `failureWindow` take a server out for `failureWindow`. The docs write the count as a string
 * ("3") in one example; Traefik's loader accepts it, so a decimal string is read as the number.
 */
export const passiveHealthCheckSchema = z
  .object({
    failureWindow: durationSchema.prefault(10),
    maxFailedAttempts: z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().min(1)).default(1),
  })
  .strict();

export const cookieSchema = z
  .object({
    name: z.string().optional(),
    secure: z.boolean().default(false),
    httpOnly: z.boolean().default(false),
    sameSite: z.enum(['none', 'lax', 'strict', '']).optional(),
    maxAge: z.number().int().optional(),
    path: z.string().optional(),
    domain: z.string().optional(),
  })
  .strict();

export const stickySchema = z.object({ cookie: cookieSchema.optional() }).strict();

export const responseForwardingSchema = z
  .object({ flushInterval: durationSchema.prefault(SERVICE_DEFAULTS.flushInterval / 1000) })
  .strict();

export const loadBalancerSchema = z
  .object({
    servers: z.array(serverSchema).default([]),
    healthCheck: healthCheckSchema.optional(),
    sticky: stickySchema.optional(),
    passHostHeader: z.boolean().default(true),
    responseForwarding: responseForwardingSchema.optional(),
    serversTransport: z.string().optional(),
    /** Traefik v3.7's load-balancing strategy (`wrr`, the default; `p2c`, `hrw`, `leasttime`). */
    strategy: z.enum(['wrr', 'p2c', 'hrw', 'leasttime']).default('wrr'),
    passiveHealthCheck: passiveHealthCheckSchema.optional(),
  })
  .strict();

/** `healthCheck: {}` on weighted/mirroring/failover turns on status propagation from children (Traefik v2.7+). */
const propagateHealthSchema = z.object({}).strict();

export const weightedSchema = z
  .object({
    services: z.array(z.object({ name: z.string().min(1), weight: z.number().int().min(0).optional() }).strict()).min(1),
    sticky: stickySchema.optional(),
    healthCheck: propagateHealthSchema.optional(),
  })
  .strict();

export const mirroringSchema = z
  .object({
    service: z.string().min(1),
    mirrorBody: z.boolean().default(true),
    /** Bytes; -1 (Traefik's default) means no limit. */
    maxBodySize: z.number().int().default(-1),
    mirrors: z.array(z.object({ name: z.string().min(1), percent: z.number().int().min(0).max(100).default(0) }).strict()).default([]),
    healthCheck: propagateHealthSchema.optional(),
  })
  .strict();

/**
 * Traefik v3.7's `failover.errors`: a main-service answer whose status is in `status` (ranges such as "500-504") is
 * discarded and the request goes to the fallback; the body is kept in memory up to `maxRequestBodyBytes` so it can
 * be sent twice (-1, the default here, means no limit).
 */
export const failoverErrorsSchema = z
  .object({
    status: z.array(z.string()).min(1),
    maxRequestBodyBytes: z.number().int().default(-1),
  })
  .strict();

export const failoverSchema = z
  .object({
    service: z.string().min(1),
    fallback: z.string().min(1),
    healthCheck: propagateHealthSchema.optional(),
    errors: failoverErrorsSchema.optional(),
  })
  .strict();

const SERVICE_KINDS = ['loadBalancer', 'weighted', 'mirroring', 'failover'] as const;

export const serviceSchema = z
  .object({
    loadBalancer: loadBalancerSchema.optional(),
    weighted: weightedSchema.optional(),
    mirroring: mirroringSchema.optional(),
    failover: failoverSchema.optional(),
    /** Traefik v3.7 service middlewares: run for every request the service handles, after the router's. */
    middlewares: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .superRefine((service, ctx) => {
    const kinds = SERVICE_KINDS.filter((k) => service[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: kinds.length === 0
          ? `a service needs exactly one of ${SERVICE_KINDS.join(', ')}`
          : `a service may have only one of ${kinds.join(', ')}`,
      });
    }
  });

export const forwardingTimeoutsSchema = z
  .object({
    dialTimeout: durationSchema.prefault(SERVICE_DEFAULTS.dialTimeout / 1000),
    responseHeaderTimeout: durationSchema.prefault(0),
    idleConnTimeout: durationSchema.prefault(SERVICE_DEFAULTS.idleConnTimeout / 1000),
    readIdleTimeout: durationSchema.optional(),
    pingTimeout: durationSchema.optional(),
  })
  .strict();

const tlsVersionSchema = z.enum(['VersionTLS10', 'VersionTLS11', 'VersionTLS12', 'VersionTLS13']);

/** Traefik's `spiffe` of a servers transport (HTTP, and TCP under `tls`): which backend SPIFFE IDs are accepted. */
export const spiffeSchema = z.object({ ids: z.array(z.string()).optional(), trustDomain: z.string().optional() }).strict();

export const serversTransportSchema = z
  .object({
    serverName: z.string().optional(),
    insecureSkipVerify: z.boolean().default(false),
    rootCAs: z.array(z.string()).optional(),
    certificates: z.array(z.object({ certFile: z.string(), keyFile: z.string() }).strict()).optional(),
    maxIdleConnsPerHost: z.number().int().default(SERVICE_DEFAULTS.maxIdleConnsPerHost),
    forwardingTimeouts: forwardingTimeoutsSchema.optional(),
    disableHTTP2: z.boolean().optional(),
    peerCertURI: z.string().optional(),
    /** Traefik v3.7: the upstream's certificate must carry one of these SANs (services/upstream/peer-sans.ts). */
    peerCertSANs: z.array(z.object({ type: z.enum(['DNSName', 'URI']), value: z.string().min(1) }).strict()).optional(),
    /** Traefik's `spiffe`: mTLS with the gateway's SVID (static `spiffe`), backends judged by their SPIFFE ID. */
    spiffe: spiffeSchema.optional(),
    /** Traefik v3.7: the TLS versions and (Go-named) cipher suites offered to the servers. */
    cipherSuites: z.array(z.string()).optional(),
    minVersion: tlsVersionSchema.optional(),
    maxVersion: tlsVersionSchema.optional(),
  })
  .strict();

export const servicesSchema = z.record(z.string(), serviceSchema);
export const serversTransportsSchema = z.record(z.string(), serversTransportSchema);

export type ServerConfig = z.infer<typeof serverSchema>;
export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;
export type CookieConfig = z.infer<typeof cookieSchema>;
export type StickyConfig = z.infer<typeof stickySchema>;
export type LoadBalancerConfig = z.infer<typeof loadBalancerSchema>;
export type WeightedConfig = z.infer<typeof weightedSchema>;
export type MirroringConfig = z.infer<typeof mirroringSchema>;
export type FailoverConfig = z.infer<typeof failoverSchema>;
export type PassiveHealthCheckConfig = z.infer<typeof passiveHealthCheckSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type ServiceConfigInput = z.input<typeof serviceSchema>;
export type ForwardingTimeouts = z.infer<typeof forwardingTimeoutsSchema>;
export type ServersTransportConfig = z.infer<typeof serversTransportSchema>;
export type ServersTransportConfigInput = z.input<typeof serversTransportSchema>;
