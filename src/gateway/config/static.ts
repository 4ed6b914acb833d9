/**
 * Traefik v3's static configuration (pkg/config/static) for the features Meshgate supports: entry points, providers,
 * api, metrics.prometheus, accessLog, ping, log. Keys are Traefik's own; every object is strict, so a key Meshgate
 * does not know is an error naming its path and a bad file never starts a gateway. Present-but-empty blocks
 * (`ping:` in YAML, `[ping]` in TOML) switch their feature on, as in Traefik.
 */
import { z } from 'zod';
import { DEFAULT_HTTP_ADDR } from '../../api/address.ts';
import { dirname, resolve } from 'node:path';
import { durationSchema } from './schema/services.ts';
import { entryPointSchema } from './schema/entrypoint.ts';
import { accessLogSchema } from '../accesslog/schema.ts';
import { tracingSchema } from '../tracing/schema.ts';
import { otlpLogsProblems, otlpSection } from '../otlp-logs/schema.ts';
import { ConfigErrors } from './errors.ts';
import { formatZodError, readConfigFile } from './parse.ts';
import { canonicalKeys } from './schema/walk.ts';
import { isTraefikStaticKey } from './traefik-keys.ts';
import { certificatesResolversSchema } from '../acme/schema.ts';
import { consulKvSchema, etcdKvSchema, httpProviderSchema, redisKvSchema } from './schema/providers.ts';
import { pushMetricsSchemas } from './schema/metrics.ts';
import { coreSchema } from './schema/rule-syntax.ts';

/** `ping:` with no value is YAML null; Traefik treats the section as present. */
const section = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? {} : v), schema);


/** Limits on dynamic configurations (Meshgate's own; Traefik has none): see docs/gateway's "Configuration limits". */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_ROUTERS = 100_000;
/** Keys under `providers` that are settings of the providers as a whole, not providers. */
export const PROVIDER_SETTINGS = new Set(['providersThrottleDuration', 'maxRouters']);

const fileProviderSchema = z
  .object({
    filename: z.string().optional(),
    directory: z.string().optional(),
    watch: z.boolean().default(true),
    debugLogGeneratedTemplate: z.boolean().optional(),
    /** Largest dynamic configuration file read (bytes); a larger one is rejected and the running one keeps serving. */
    maxFileBytes: z.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!v.filename === !v.directory) {
      ctx.addIssue({ code: 'custom', message: 'exactly one of filename or directory is required' });
    }
  });

export const CONSUL_CATALOG_DEFAULT_RULE = 'Host(`{{ normalize .Name }}`)';

/** Where the server's HTTP API is when no endpoint is configured (Traefik's consulCatalog default, Consul's own). */
export const DEFAULT_CONSUL_ENDPOINT = { address: DEFAULT_HTTP_ADDR, scheme: 'http' } as const;

/** How the gateway reaches the server's HTTP API (Traefik's consulCatalog `endpoint`; also `spiffe.mesh.endpoint`). */
const consulEndpointSchema = z
  .object({
    address: z.string().default(DEFAULT_CONSUL_ENDPOINT.address),
    scheme: z.enum(['http', 'https']).default('http'),
    datacenter: z.string().optional(),
    token: z.string().optional(),
    endpointWaitTime: durationSchema.optional(),
    tls: z
      .object({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        insecureSkipVerify: z.boolean().default(false),
      })
      .strict()
      .optional(),
    httpAuth: z.object({ username: z.string(), password: z.string() }).strict().optional(),
  })
  .strict()
  .default(() => ({ ...DEFAULT_CONSUL_ENDPOINT }));

const consulCatalogSchema = z
  .object({
    constraints: z.string().optional(),
    prefix: z.string().default('traefik'),
    /** Accepted for compatibility; unused, the catalog provider watches with blocking queries instead of polling. */
    refreshInterval: durationSchema.prefault(15),
    requireConsistent: z.boolean().default(false),
    stale: z.boolean().default(false),
    cache: z.boolean().default(false),
    exposedByDefault: z.boolean().default(true),
    defaultRule: z.string().default(CONSUL_CATALOG_DEFAULT_RULE),
    connectAware: z.boolean().default(false),
    connectByDefault: z.boolean().default(false),
    serviceName: z.string().default('traefik'),
    watch: z.boolean().default(false),
    strictChecks: z.array(z.enum(['passing', 'warning', 'critical', 'maintenance', 'any'])).default(['passing', 'warning']),
    /** A service with no usable instance keeps its routers with an empty load balancer: 503 instead of 404. */
    allowEmptyServices: z.boolean().default(false),
    namespaces: z.array(z.string()).optional(),
    endpoint: consulEndpointSchema,
  })
  .strict();



/**
 * Traefik's static `spiffe` block. `workloadAPIAddr`: SVIDs from a SPIFFE Workload API (`meshgate agent`'s
 * spiffe_workload_api, or SPIRE), as Traefik; the address is checked when the gateway starts, as Traefik's
 * NewX509Source does (gateway/spiffe/workload-source.ts). Meshgate's `mesh` takes them from the mesh's Connect CA
 * instead: the leaf of `serviceName` and the roots, through `endpoint` (default: `providers.consulCatalog.endpoint`,
 * else DEFAULT_CONSUL_ENDPOINT). One source at a time.
 */
const spiffeSchema = z
  .object({
    workloadAPIAddr: z.string().optional(),
    mesh: z
      .object({
        serviceName: z.string().min(1).default('traefik'),
        endpoint: consulEndpointSchema.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.workloadAPIAddr !== undefined && v.mesh !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['workloadAPIAddr'], message: 'workloadAPIAddr and mesh are two sources of the SVID: set one' });
    }
  });

export const staticConfigSchema = z
  .object({
    global: z.object({ checkNewVersion: z.boolean().optional(), sendAnonymousUsage: z.boolean().optional() }).strict().optional(),
    /** `core.defaultRuleSyntax`: the rule syntax of routers without their own `ruleSyntax` (applyEntryPointModels). */
    core: section(coreSchema).optional(),
    entryPoints: z.record(z.string(), entryPointSchema).optional(),
    providers: z
      .object({
        providersThrottleDuration: durationSchema.prefault(2),
        /** Most routers one merged dynamic configuration may hold; past it the configuration is rejected whole. */
        maxRouters: z.number().int().positive().default(DEFAULT_MAX_ROUTERS),
        file: section(fileProviderSchema).optional(),
        consulCatalog: section(consulCatalogSchema).optional(),
        // Traefik's KV providers and HTTP provider (providers/kv.ts, providers/http-provider.ts).
        consul: section(consulKvSchema).optional(),
        etcd: section(etcdKvSchema).optional(),
        redis: section(redisKvSchema).optional(),
        http: section(httpProviderSchema).optional(),
      })
      .strict()
      .default({ providersThrottleDuration: 2000, maxRouters: DEFAULT_MAX_ROUTERS }),
    api: section(
      z
        .object({
          dashboard: z.boolean().default(true),
          insecure: z.boolean().default(false),
          debug: z.boolean().default(false),
          basePath: z.string().default('/'),
          disableDashboardAd: z.boolean().optional(),
        })
        .strict(),
    ).optional(),
    metrics: z
      .object({
        prometheus: section(
          z
            .object({
              buckets: z.array(z.number()).default([0.1, 0.3, 1.2, 5.0]),
              addEntryPointsLabels: z.boolean().default(true),
              addRoutersLabels: z.boolean().default(false),
              addServicesLabels: z.boolean().default(true),
              entryPoint: z.string().default('traefik'),
              manualRouting: z.boolean().default(false),
              // Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*): Traefik stops serving metrics on a bad one; refused here.
              headerLabels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'not a Prometheus label name'), z.string().min(1)).optional(),
            })
            .strict(),
        ).optional(),
        ...pushMetricsSchemas,
        addInternals: z.boolean().optional(),
      })
      .strict()
      .optional(),
    accessLog: section(accessLogSchema).optional(),
    tracing: section(tracingSchema).optional(),
    ping: section(
      z
        .object({
          entryPoint: z.string().default('traefik'),
          manualRouting: z.boolean().default(false),
          terminatingStatusCode: z.number().int().default(503),
        })
        .strict(),
    ).optional(),
    log: section(
      z
        .object({
          level: z.string().transform((s) => s.toLowerCase()).pipe(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'panic'])).default('error'),
          format: z.enum(['common', 'json']).default('common'),
          filePath: z.string().optional(),
          noColor: z.boolean().optional(),
          /** Traefik v3.7 (experimental.otlpLogs): the log's records also go to an OpenTelemetry collector. */
          otlp: otlpSection.optional(),
        })
        .strict(),
    ).optional(),
    /** Middleware plugins (Traefik's `experimental.plugins` / `experimental.localPlugins`); entries are checked by loadPlugins. */
    experimental: z
      .object({
        plugins: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
        localPlugins: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
        /** Traefik's switch for `log.otlp` and `accessLog.otlp` (checked by otlpLogsProblems). */
        otlpLogs: z.boolean().optional(),
      })
      .strict()
      .optional(),
    spiffe: spiffeSchema.optional(),
    /**
     * Meshgate's own (cluster mode): replace a worker left holding a much larger replaced configuration's memory, and
     * build a configuration that grows by `growthElements` or more in fresh workers (runtime/worker-roll.ts).
     */
    workerRoll: z.object({
      enabled: z.boolean().optional(),
      thresholdMiB: z.number().positive().optional(),
      growthElements: z.number().int().positive().optional(),
    }).strict().optional(),
    /** OCSP stapling (gateway/entrypoints/ocsp.ts); `responderOverrides`: responder URL in the certificate → URL asked instead. */
    ocsp: section(z.object({ responderOverrides: z.record(z.string(), z.string()).optional() }).strict()).optional(),
    /** ACME resolvers (gateway/acme); keys Traefik has and Meshgate lacks (`dnsChallenge`) are "not supported". */
    certificatesResolvers: certificatesResolversSchema.optional(),
    serversTransport: z
      .object({
        spiffe: z.object({ ids: z.array(z.string()).optional(), trustDomain: z.string().optional() }).strict().optional(),
        insecureSkipVerify: z.boolean().optional(),
        rootCAs: z.array(z.string()).optional(),
        maxIdleConnsPerHost: z.number().int().optional(),
        forwardingTimeouts: z
          .object({
            dialTimeout: durationSchema.optional(),
            responseHeaderTimeout: durationSchema.optional(),
            idleConnTimeout: durationSchema.optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type StaticConfigInput = z.input<typeof staticConfigSchema>;
type ParsedStatic = z.infer<typeof staticConfigSchema>;
export type EntryPointConfig = z.infer<typeof entryPointSchema> & { name: string };
export type ConsulCatalogConfig = z.infer<typeof consulCatalogSchema>;
export type ConsulEndpointConfig = z.infer<typeof consulEndpointSchema>;
export type SpiffeConfig = z.infer<typeof spiffeSchema>;
export type FileProviderConfig = z.infer<typeof fileProviderSchema>;
export type { AccessLogConfig } from '../accesslog/schema.ts';
export type PrometheusConfig = NonNullable<NonNullable<ParsedStatic['metrics']>['prometheus']>;
export type ApiConfig = NonNullable<ParsedStatic['api']>;
export type PingConfig = NonNullable<ParsedStatic['ping']>;

/** The validated static configuration with Traefik's implicit entry points filled in. */
export interface StaticConfig extends Omit<ParsedStatic, 'entryPoints'> {
  entryPoints: Record<string, EntryPointConfig>;
  /** Absolute path of the file it came from (relative paths inside it resolve against its folder). */
  readonly file?: string;
  /** The configuration as written (plus overrides), for the dashboard's `/api/entrypoints` and debugging. */
  readonly raw: Record<string, unknown>;
}

/** Traefik's implicit `traefik` entry point, created when api.insecure, ping or prometheus need it. */
export const DEFAULT_INTERNAL_ENTRYPOINT = { name: 'traefik', address: ':8080' } as const;

/** Validates a parsed static document; throws MG_GATEWAY_CONFIG_INVALID naming every bad key. */
export function validateStaticConfig(written: Record<string, unknown>, file = 'static configuration'): StaticConfig {
  // Traefik's loader finds keys without regard to case (`entrypoints`, `entryPoints`); validate Traefik's spelling.
  const raw = canonicalKeys(written, staticConfigSchema) as Record<string, unknown>;
  const result = staticConfigSchema.safeParse(raw);
  if (!result.success) throw ConfigErrors.invalid(file, formatZodError(result.error, '', isTraefikStaticKey));
  const parsed = result.data;
  const entryPoints: Record<string, EntryPointConfig> = {};
  for (const [name, ep] of Object.entries(parsed.entryPoints ?? {})) entryPoints[name] = { ...ep, name };
  // Traefik: with no entry point at all, one named `http` listens on :80.
  if (Object.keys(entryPoints).length === 0) entryPoints.http = { name: 'http', address: ':80' };
  // Traefik's SetEffectiveConfiguration: the internal entry point exists when something routes to it by itself.
  const internalName = DEFAULT_INTERNAL_ENTRYPOINT.name;
  const needsInternal =
    parsed.api?.insecure === true ||
    (parsed.ping !== undefined && !parsed.ping.manualRouting && parsed.ping.entryPoint === internalName) ||
    (parsed.metrics?.prometheus !== undefined && !parsed.metrics.prometheus.manualRouting && parsed.metrics.prometheus.entryPoint === internalName);
  if (needsInternal && !entryPoints.traefik) entryPoints.traefik = { ...DEFAULT_INTERNAL_ENTRYPOINT };
  const problems: string[] = [];
  if (parsed.ping && !parsed.ping.manualRouting && !entryPoints[parsed.ping.entryPoint]) problems.push(`ping.entryPoint: entry point "${parsed.ping.entryPoint}" is not defined`);
  const prom = parsed.metrics?.prometheus;
  if (prom && !prom.manualRouting && !entryPoints[prom.entryPoint]) {
    problems.push(`metrics.prometheus.entryPoint: entry point "${prom.entryPoint}" is not defined`);
  }
  for (const ep of Object.values(entryPoints)) {
    const to = ep.http?.redirections?.entryPoint.to;
    if (to !== undefined && !entryPoints[to] && !/^:\d+$/.test(to)) {
      problems.push(`entryPoints.${ep.name}.http.redirections.entryPoint.to: entry point "${to}" is not defined`);
    }
  }
  for (const [name, { acme }] of Object.entries(parsed.certificatesResolvers ?? {})) {
    const ep = acme?.httpChallenge?.entryPoint;
    if (ep !== undefined && !entryPoints[ep]) problems.push(`certificatesResolvers.${name}.acme.httpChallenge.entryPoint: entry point "${ep}" is not defined`);
  }
  problems.push(...otlpLogsProblems(parsed));
  if (problems.length > 0) throw ConfigErrors.invalid(file, problems.join('; '));
  return { ...parsed, entryPoints, raw, ...(file !== 'static configuration' ? { file } : {}) };
}

/**
 * Applies CLI flags in Traefik's dotted form (`entryPoints.web.address=:8081`, `api.insecure=true`) onto the parsed
 * document before validation, so flags override the file and are validated the same way. Path segments match
 * existing keys case-insensitively, as Traefik's flag parser does.
 */
export function applyStaticOverrides(raw: Record<string, unknown>, overrides: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!overrides) return raw;
  const out = structuredClone(raw);
  for (const [flag, value] of Object.entries(overrides)) {
    const parts = flag.replace(/^--/, '').split('.').filter((p) => p !== '');
    if (parts.length === 0) throw ConfigErrors.override(flag, 'empty key');
    let node: Record<string, unknown> = out;
    for (let i = 0; i < parts.length; i++) {
      const wanted = parts[i]!;
      const key = Object.keys(node).find((k) => k.toLowerCase() === wanted.toLowerCase()) ?? wanted;
      if (i === parts.length - 1) {
        node[key] = coerceFlag(value, wanted);
      } else {
        const next = node[key];
        if (next === undefined || next === null) node[key] = {};
        else if (typeof next !== 'object' || Array.isArray(next)) throw ConfigErrors.override(flag, `"${parts.slice(0, i + 1).join('.')}" is not a section`);
        node = node[key] as Record<string, unknown>;
      }
    }
  }
  return out;
}

/** Static keys whose values are lists; their flags take comma-separated values as Traefik's do. */
const LIST_KEYS = new Set(['trustedips', 'buckets', 'statuscodes', 'strictchecks', 'sans', 'middlewares', 'namespaces', 'rootcas', 'endpoints']);

function coerceFlag(value: unknown, key: string): unknown {
  if (typeof value !== 'string') return value;
  if (LIST_KEYS.has(key.toLowerCase())) return value.split(',').map((s) => (key.toLowerCase() === 'buckets' ? Number(s.trim()) : s.trim()));
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

/** Reads, overrides and validates the static configuration file; a bad file throws and nothing starts. */
export async function loadStaticConfig(file: string | undefined, overrides?: Record<string, unknown>): Promise<StaticConfig> {
  const abs = file ? resolve(file) : undefined;
  const raw = applyStaticOverrides(abs ? await readConfigFile(abs) : {}, overrides);
  const config = validateStaticConfig(raw, abs);
  // Relative provider paths resolve against the static file's folder, so a config directory can be moved as a whole.
  const fileProvider = config.providers.file;
  if (abs && fileProvider) {
    if (fileProvider.filename) fileProvider.filename = resolve(dirname(abs), fileProvider.filename);
    if (fileProvider.directory) fileProvider.directory = resolve(dirname(abs), fileProvider.directory);
  }
  return config;
}
