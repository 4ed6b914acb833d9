/**
 * Traefik v3's dynamic configuration (pkg/config/dynamic) in the shape every provider emits: `http.routers`,
 * `http.services`, `http.middlewares`, `http.serversTransports` and `tls`. Values are kept as written (JSON-safe), so
 * the same object is merged, persisted as the last good configuration, sent to workers and shown by the dashboard
 * API; validation here proves every value parses, and the runtime parses each one again when it builds.
 */
import { z } from 'zod';
import type { ZodType } from 'zod';
import { serviceSchema, serversTransportSchema } from './schema/services.ts';
import type { ServiceConfigInput, ServersTransportConfigInput } from './schema/services.ts';
// Kinds register their schemas there when the runtime loads them (middlewares/index.ts); this layer imports no
// middleware implementation.
import { getMiddlewareSchema, listMiddlewareSchemas } from './schema/middlewares.ts';
import { TCP_SECTION_SCHEMAS, UDP_SECTION_SCHEMAS, type TcpSection, type UdpSection } from './schema/tcp.ts';
import { ConfigErrors } from './errors.ts';
import { formatPath, formatZodError } from './parse.ts';
import { canonicalKeys, type CanonicalOptions } from './schema/walk.ts';
import { ruleSyntaxSchema } from './schema/rule-syntax.ts';
import { isTraefikDynamicKey } from './traefik-keys.ts';

export interface RouterTlsConfig {
  /** A `certificatesResolvers.<name>` of the static configuration (gateway/acme) orders this router's certificate. */
  certResolver?: string;
  options?: string;
  domains?: Array<{ main?: string; sans?: string[] }>;
}

export interface RouterConfig {
  rule?: string;
  /** `v2` runs the rule with Traefik v2's matchers (gateway/rules/matchers-v2.ts); default: static `core.defaultRuleSyntax`. */
  ruleSyntax?: 'v2' | 'v3';
  priority?: number;
  entryPoints?: string[];
  middlewares?: string[];
  service?: string;
  /** Traefik v3.6+ multi-layer routing: the routers this one is a child of (runtime/router-layers.ts). */
  parentRefs?: string[];
  tls?: RouterTlsConfig;
  observability?: { accessLogs?: boolean; metrics?: boolean; tracing?: boolean; traceVerbosity?: 'minimal' | 'detailed' };
}

/** A middleware as written: exactly one key, the kind (`rateLimit`, `headers`, `plugin`, …). */
export type MiddlewareConfig = Record<string, unknown>;

export interface TlsCertificateConfig {
  certFile: string;
  keyFile: string;
  stores?: string[];
}

export interface DynamicConfig {
  http: {
    routers: Record<string, RouterConfig>;
    services: Record<string, ServiceConfigInput>;
    middlewares: Record<string, MiddlewareConfig>;
    serversTransports: Record<string, ServersTransportConfigInput>;
  };
  tls: {
    certificates: TlsCertificateConfig[];
    options: Record<string, unknown>;
    stores: Record<string, unknown>;
  };
  /** Traefik's `tcp` and `udp` sections (gateway/tcp, gateway/udp); absent when a provider has none. */
  tcp?: TcpSection;
  udp?: UdpSection;
}

export function emptyDynamicConfig(): DynamicConfig {
  return { http: { routers: {}, services: {}, middlewares: {}, serversTransports: {} }, tls: { certificates: [], options: {}, stores: {} } };
}

const nullAsEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === null ? undefined : v), schema);

export const routerSchema = z
  .object({
    rule: z.string().optional(),
    ruleSyntax: ruleSyntaxSchema.optional(),
    priority: z.number().int().optional(),
    entryPoints: z.array(z.string().min(1)).optional(),
    middlewares: z.array(z.string().min(1)).optional(),
    service: z.string().min(1).optional(),
    parentRefs: z.array(z.string().min(1)).optional(),
    tls: nullAsEmpty(
      z
        .object({
          certResolver: z.string().optional(),
          options: z.string().optional(),
          domains: z.array(z.object({ main: z.string().optional(), sans: z.array(z.string()).optional() }).strict()).optional(),
        })
        .strict()
        .default({}),
    ).optional(),
    observability: z
      .object({
        accessLogs: z.boolean().optional(), metrics: z.boolean().optional(), tracing: z.boolean().optional(),
        traceVerbosity: z.enum(['minimal', 'detailed']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const tlsOptionsSchema = z
  .object({
    minVersion: z.enum(['VersionTLS10', 'VersionTLS11', 'VersionTLS12', 'VersionTLS13']).optional(),
    maxVersion: z.enum(['VersionTLS10', 'VersionTLS11', 'VersionTLS12', 'VersionTLS13']).optional(),
    cipherSuites: z.array(z.string()).optional(),
    curvePreferences: z.array(z.string()).optional(),
    clientAuth: z
      .object({
        caFiles: z.array(z.string()).optional(),
        clientAuthType: z
          .enum(['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'])
          .optional(),
      })
      .strict()
      .optional(),
    sniStrict: z.boolean().optional(),
    alpnProtocols: z.array(z.string()).optional(),
    /** Traefik v3.7: no TLS session tickets for connections using this option set (entrypoints/tls-options.ts). */
    disableSessionTickets: z.boolean().optional(),
  })
  .strict();

const certificateSchema = z.object({ certFile: z.string().min(1), keyFile: z.string().min(1), stores: z.array(z.string()).optional() }).strict();

const tlsSchema = z
  .object({
    certificates: nullAsEmpty(z.array(certificateSchema).default([])),
    options: nullAsEmpty(z.record(z.string(), tlsOptionsSchema).default({})),
    stores: nullAsEmpty(
      z.record(z.string(), z.object({
        defaultCertificate: certificateSchema.omit({ stores: true }).optional(),
        /** Traefik: the store's default certificate ordered from an ACME resolver (acme/domains.ts, entrypoints/tls-configuration.ts). */
        defaultGeneratedCert: z.object({
          resolver: z.string().min(1),
          domain: z.object({ main: z.string().min(1), sans: z.array(z.string()).optional() }).strict(),
        }).strict().optional(),
      }).strict()).default({}),
    ),
  })
  .strict();

/** Structure only; services, transports and middlewares are checked one by one below so errors name the element. */
const documentSchema = z
  .object({
    http: nullAsEmpty(
      z
        .object({
          routers: nullAsEmpty(z.record(z.string(), routerSchema).default({})),
          services: nullAsEmpty(z.record(z.string(), z.record(z.string(), z.unknown())).default({})),
          middlewares: nullAsEmpty(z.record(z.string(), z.record(z.string(), z.unknown())).default({})),
          serversTransports: nullAsEmpty(z.record(z.string(), z.record(z.string(), z.unknown())).default({})),
        })
        .strict()
        .default({ routers: {}, services: {}, middlewares: {}, serversTransports: {} }),
    ),
    tls: nullAsEmpty(tlsSchema.default({ certificates: [], options: {}, stores: {} })),
    tcp: nullAsEmpty(
      z
        .object({
          routers: nullAsEmpty(z.record(z.string(), z.unknown()).default({})),
          services: nullAsEmpty(z.record(z.string(), z.unknown()).default({})),
          middlewares: nullAsEmpty(z.record(z.string(), z.unknown()).default({})),
          serversTransports: nullAsEmpty(z.record(z.string(), z.unknown()).default({})),
        })
        .strict()
        .optional(),
    ),
    udp: nullAsEmpty(
      z
        .object({
          routers: nullAsEmpty(z.record(z.string(), z.unknown()).default({})),
          services: nullAsEmpty(z.record(z.string(), z.unknown()).default({})),
        })
        .strict()
        .optional(),
    ),
  })
  .strict();

/** Resolves the kind of a middleware block. `plugin: {name: {...}}` looks up `plugin:<name>`, then a generic `plugin`. */
export interface MiddlewareKind {
  kind: string;
  key: string;
  value: unknown;
  definition: { schema: ZodType<unknown> } | undefined;
  error?: string;
}

export function middlewareKindOf(config: MiddlewareConfig, read: CanonicalOptions = {}): MiddlewareKind {
  const keys = Object.keys(config);
  if (keys.length !== 1) {
    return { kind: '', key: '', value: undefined, definition: undefined, error: keys.length === 0 ? 'a middleware needs exactly one kind, found none' : `a middleware needs exactly one kind, found ${keys.join(', ')}` };
  }
  const key = keys[0]!;
  const value = config[key] ?? {};
  if (key.toLowerCase() === 'plugin') {
    const names = value && typeof value === 'object' ? Object.keys(value) : [];
    if (names.length !== 1) return { kind: key, key, value, definition: undefined, error: 'plugin: exactly one plugin name is required' };
    const pluginName = names[0]!;
    const specific = getMiddlewareSchema(`plugin:${pluginName}`);
    if (specific) return { kind: `plugin:${pluginName}`, key, value: (value as Record<string, unknown>)[pluginName] ?? {}, definition: { schema: specific } };
    const generic = getMiddlewareSchema('plugin');
    if (generic) return { kind: 'plugin', key, value, definition: { schema: generic } };
    return { kind: `plugin:${pluginName}`, key, value, definition: undefined, error: `plugin "${pluginName}" is not installed` };
  }
  // Kinds match without regard to case, as every Traefik key does (`stripprefix` is `stripPrefix`).
  const kind = getMiddlewareSchema(key) ? key : listMiddlewareSchemas().find((k) => !k.startsWith('plugin') && k.toLowerCase() === key.toLowerCase());
  const schema = kind === undefined ? undefined : getMiddlewareSchema(kind);
  if (!kind || !schema) return { kind: key, key, value, definition: undefined, error: `unknown middleware kind "${key}"` };
  return { kind, key, value: canonicalKeys(value, schema, read), definition: { schema } };
}

/** Parses one middleware; returns its kind and parsed config, or the problems naming keys under `prefix`. */
export function parseMiddleware(config: MiddlewareConfig, prefix: string, read: CanonicalOptions = {}): { kind: string; config: unknown } | { error: string } {
  const found = middlewareKindOf(config, read);
  if (found.error || !found.definition) return { error: `${prefix}${found.key ? `.${found.key}` : ''}: ${found.error}` };
  const keyPrefix = found.kind.startsWith('plugin:') ? `${prefix}.plugin.${found.kind.slice('plugin:'.length)}` : `${prefix}.${found.key}`;
  const result = found.definition.schema.safeParse(found.value);
  if (!result.success) return { error: formatZodError(result.error, keyPrefix) };
  return { kind: found.kind, config: result.data };
}

export interface ValidateOptions {
  /**
   * Check each middleware against its kind (default true). The off-thread reader passes false: plugin kinds are
   * registered only on the main thread, which then calls `validateMiddlewares`.
   */
  middlewares?: boolean;
  /** Every value was read from text, lists comma-separated (KV providers: walk.ts CanonicalOptions.textLists). */
  textLists?: boolean;
}

/**
 * Validates a whole dynamic document as a provider received it. Any problem rejects the document (the running
 * configuration stays); the error lists every bad key path.
 */
export function validateDynamicConfig(raw: unknown, source: string, options: ValidateOptions = {}): DynamicConfig {
  // Keys in Traefik's spelling first (its loader ignores case); the document returned is the canonical one.
  const read: CanonicalOptions = { textLists: options.textLists === true };
  const doc = documentSchema.safeParse(hideProtoNames(canonicalKeys(raw ?? {}, documentSchema, read)));
  if (!doc.success) throw ConfigErrors.invalid(source, showProtoNames(formatZodError(doc.error, '', isTraefikDynamicKey)));
  const problems: string[] = [];
  const http = doc.data.http;
  for (const [name, written] of Object.entries(http.services)) {
    const service = canonicalKeys(written, serviceSchema, read) as Record<string, unknown>;
    http.services[name] = service;
    const r = serviceSchema.safeParse(service);
    if (!r.success) problems.push(formatZodError(r.error, formatPath(['http', 'services', name]), (p) => isTraefikDynamicKey(['http', 'services', name, ...p])));
  }
  for (const [name, written] of Object.entries(http.serversTransports)) {
    const transport = canonicalKeys(written, serversTransportSchema, read) as Record<string, unknown>;
    http.serversTransports[name] = transport;
    const r = serversTransportSchema.safeParse(transport);
    if (!r.success) {
      problems.push(formatZodError(r.error, formatPath(['http', 'serversTransports', name]), (p) => isTraefikDynamicKey(['http', 'serversTransports', name, ...p])));
    }
  }
  if (options.middlewares !== false) problems.push(...middlewareProblems(http.middlewares, read));
  const { tcp, udp } = doc.data;
  if (tcp !== undefined) problems.push(...sectionProblems('tcp', tcp, TCP_SECTION_SCHEMAS, read));
  if (udp !== undefined) problems.push(...sectionProblems('udp', udp, UDP_SECTION_SCHEMAS, read));
  for (const section of [http.routers, http.services, http.middlewares]) {
    for (const name in section) if (name.includes('@')) problems.push(`${name}: names may not contain "@" (the provider qualifies them)`);
  }
  if (problems.length > 0) throw ConfigErrors.invalid(source, showProtoNames(problems.join('; ')));
  restoreProtoNames(doc.data);
  // The raw values (durations as written) are kept; routers go through the parsed form to drop nulls.
  return {
    http: {
      routers: http.routers as Record<string, RouterConfig>,
      services: http.services as Record<string, ServiceConfigInput>,
      middlewares: http.middlewares,
      serversTransports: http.serversTransports as Record<string, ServersTransportConfigInput>,
    },
    tls: doc.data.tls,
    ...(tcp !== undefined ? { tcp } : {}),
    ...(udp !== undefined ? { udp } : {}),
  };
}

// A router, service, middleware, transport or TLS option named `__proto__` is a name like any other in Traefik (a Go
// map key). zod's records skip that key (so it cannot become the output's prototype), which would drop the element
// without a word; so it travels through validation under a stand-in name no YAML, TOML, KV key or label produces, and
// is put back as an own property (defined, never assigned) — names are qualified `__proto__@provider` after this.
const PROTO = '__proto__';
const PROTO_STAND_IN = '\u0000__proto__';
const NAMED_MAPS: ReadonlyArray<readonly [string, string]> = [
  ['http', 'routers'], ['http', 'services'], ['http', 'middlewares'], ['http', 'serversTransports'], ['tls', 'options'], ['tls', 'stores'],
  ['tcp', 'routers'], ['tcp', 'services'], ['tcp', 'middlewares'], ['tcp', 'serversTransports'], ['udp', 'routers'], ['udp', 'services'],
];

function namedMap(doc: unknown, section: string, kind: string): Record<string, unknown> | undefined {
  const s = doc !== null && typeof doc === 'object' ? (doc as Record<string, unknown>)[section] : undefined;
  const m = s !== null && typeof s === 'object' ? (s as Record<string, unknown>)[kind] : undefined;
  return m !== null && typeof m === 'object' && !Array.isArray(m) ? (m as Record<string, unknown>) : undefined;
}

/** The document with each named map's `__proto__` entry under the stand-in name (maps copied only where one is). */
function hideProtoNames(doc: unknown): unknown {
  let out = doc;
  for (const [section, kind] of NAMED_MAPS) {
    const map = namedMap(out, section, kind);
    if (map === undefined || !Object.hasOwn(map, PROTO)) continue;
    const renamed = Object.fromEntries(Object.entries(map).map(([k, v]) => [k === PROTO ? PROTO_STAND_IN : k, v]));
    const top = out as Record<string, Record<string, unknown>>;
    out = { ...top, [section]: { ...top[section], [kind]: renamed } };
  }
  return out;
}

/** The validated document with each stand-in entry back under its own name. */
function restoreProtoNames(doc: unknown): void {
  for (const [section, kind] of NAMED_MAPS) {
    const map = namedMap(doc, section, kind);
    if (map === undefined || !Object.hasOwn(map, PROTO_STAND_IN)) continue;
    Object.defineProperty(map, PROTO, { value: map[PROTO_STAND_IN], enumerable: true, writable: true, configurable: true });
    delete map[PROTO_STAND_IN];
  }
}

const showProtoNames = (message: string): string => message.replaceAll(PROTO_STAND_IN, PROTO);

/** Each element of a `tcp`/`udp` section against its schema, errors naming `tcp.routers.<name>.<key>`. */
function sectionProblems(root: string, section: Record<string, Record<string, unknown>>, schemas: Record<string, ZodType<unknown>>, read: CanonicalOptions): string[] {
  const problems: string[] = [];
  for (const [kind, schema] of Object.entries(schemas)) {
    const elements = section[kind] ?? {};
    for (const [name, written] of Object.entries(elements)) {
      // Traefik's case-insensitive keys, as for http (the canonical spelling is what is kept).
      const value = canonicalKeys(written ?? {}, schema, read);
      elements[name] = value;
      const r = schema.safeParse(value);
      if (!r.success) problems.push(formatZodError(r.error, formatPath([root, kind, name]), (p) => isTraefikDynamicKey([root, kind, name, ...p])));
      if (name.includes('@')) problems.push(`${name}: names may not contain "@" (the provider qualifies them)`);
    }
  }
  return problems;
}

function middlewareProblems(middlewares: Record<string, MiddlewareConfig>, read: CanonicalOptions = {}): string[] {
  const problems: string[] = [];
  for (const [name, middleware] of Object.entries(middlewares)) {
    const r = parseMiddleware(middleware, formatPath(['http', 'middlewares', name]), read);
    if ('error' in r) problems.push(r.error);
    // Text lists are split once here; the runtime parses the kept document again without knowing it came from text.
    else if (read.textLists === true) middlewares[name] = withOptions(middleware, read);
  }
  return problems;
}

/** A middleware with its options as `middlewareKindOf` reads them (keys canonical, text lists split). */
function withOptions(middleware: MiddlewareConfig, read: CanonicalOptions): MiddlewareConfig {
  const found = middlewareKindOf(middleware, read);
  if (!found.kind.startsWith('plugin')) return { [found.kind]: found.value };
  if (found.kind === 'plugin') return { [found.key]: found.value };
  const pluginName = found.kind.slice('plugin:'.length);
  return { [found.key]: { [pluginName]: found.value } };
}

/** The middleware half of `validateDynamicConfig`, for a document validated with `{ middlewares: false }`. */
export function validateMiddlewares(middlewares: Record<string, MiddlewareConfig>, source: string): void {
  const problems = middlewareProblems(middlewares);
  if (problems.length > 0) throw ConfigErrors.invalid(source, problems.join('; '));
}
