/**
 * Request bodies decoded the way Consul decodes them, because real clients lean on it:
 *
 * - field names match case-insensitively, as Go's encoding/json does (python-consul sends `name`, `ttl`,
 *   `behavior`); an exact match wins over a case-folded one, and among case-folded ones the last in the body wins;
 * - the snake_case aliases Consul accepts are translated (its structs' UnmarshalJSON methods in agent/structs —
 *   ServiceDefinition, CheckType, CheckDefinition, ConnectProxyConfig, Upstream, ... — and lib/decode's
 *   HookTranslateKeys): the canonical field wins when both are present (agent/http_decode_test.go);
 * - `null` for a field that cannot hold null is "absent", as encoding/json leaves such a field at its zero value;
 * - unknown fields are ignored (Consul itself rejects them with `json: unknown field "X"`: pass
 *   `{ unknownFields: 'reject' }` for that);
 * - keys inside free-form maps (`Meta`, `NodeMeta`, `Header`, the keys of `TaggedAddresses`) are never touched,
 *   while map values that are structs are decoded as structs.
 *
 * The endpoint declares the target with a zod schema whose keys are Consul's PascalCase names; `decodeBody` first
 * canonicalizes keys by walking that schema, then validates. Failures are 400s in Consul's voice:
 * "Request decode failed: ...".
 */
import { z } from 'zod';
import { defineError } from '../../lib/errors.ts';
import { MAX_GO_DURATION_MS, parseDuration } from '../../lib/duration.ts';

/**
 * A body that is not what the endpoint reads. Consul's wording is "Request decode failed: …" on most endpoints and
 * "Failed to parse body: …" on /v1/txn (its txnEndpoint); `lead` picks the latter.
 */
export const ErrRequestDecode = defineError(
  'MG_REQUEST_DECODE',
  400,
  (detail: string, lead: DecodeFailureLead = 'Request decode failed') => `${lead}: ${detail}`,
);

export type DecodeFailureLead = 'Request decode failed' | 'Failed to parse body';

/**
 * Consul's snake_case spellings, lower-cased alias → canonical field. An alias applies only in an object whose
 * schema has the canonical field, so e.g. `args` means ScriptArgs only inside a check.
 */
export const CONSUL_KEY_ALIASES: Readonly<Record<string, string>> = {
  // CheckType / CheckDefinition / HealthCheckDefinition
  args: 'ScriptArgs',
  script_args: 'ScriptArgs',
  deregister_critical_service_after: 'DeregisterCriticalServiceAfter',
  docker_container_id: 'DockerContainerID',
  tls_server_name: 'TLSServerName',
  tls_skip_verify: 'TLSSkipVerify',
  grpc_use_tls: 'GRPCUseTLS',
  h2ping_use_tls: 'H2PingUseTLS',
  disable_redirects: 'DisableRedirects',
  service_id: 'ServiceID',
  // ServiceDefinition / catalog registration
  enable_tag_override: 'EnableTagOverride',
  tagged_addresses: 'TaggedAddresses',
  service_meta: 'ServiceMeta',
  node_meta: 'NodeMeta',
  sidecar_service: 'SidecarService',
  // ConnectProxyConfig
  destination_service_name: 'DestinationServiceName',
  destination_service_id: 'DestinationServiceID',
  local_service_address: 'LocalServiceAddress',
  local_service_port: 'LocalServicePort',
  local_service_socket_path: 'LocalServiceSocketPath',
  mesh_gateway: 'MeshGateway',
  transparent_proxy: 'TransparentProxy',
  access_logs: 'AccessLogs',
  // Upstream
  destination_type: 'DestinationType',
  destination_partition: 'DestinationPartition',
  destination_namespace: 'DestinationNamespace',
  destination_peer: 'DestinationPeer',
  destination_name: 'DestinationName',
  local_bind_address: 'LocalBindAddress',
  local_bind_port: 'LocalBindPort',
  local_bind_socket_path: 'LocalBindSocketPath',
  local_bind_socket_mode: 'LocalBindSocketMode',
  // ExposePath / TransparentProxyConfig
  local_path_port: 'LocalPathPort',
  listener_port: 'ListenerPort',
  outbound_listener_port: 'OutboundListenerPort',
  dialed_directly: 'DialedDirectly',
};

export interface DecodeOptions {
  /** More alias → canonical translations for this endpoint (alias compared case-insensitively). */
  readonly aliases?: Readonly<Record<string, string>>;
  /** 'ignore' (default) drops fields the schema does not name; 'reject' answers like Consul's strict decoder. */
  readonly unknownFields?: 'ignore' | 'reject';
  /** How the 400's text begins (default Consul's "Request decode failed"). */
  readonly lead?: DecodeFailureLead;
}

/**
 * Parses a request body as JSON; malformed or empty input is a 400 in Consul's words. A string or object key that
 * is not well-formed UTF-16 (a lone surrogate, which JSON's `\ud800` escape can spell) is refused too: it cannot be
 * stored as UTF-8, so the store would hand back U+FFFD after a restart instead of what was acknowledged.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw ErrRequestDecode('EOF');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw ErrRequestDecode(`invalid JSON: ${(err as Error).message}`);
  }
  // Only an escape can produce a lone surrogate (raw bytes were already decoded with U+FFFD for bad UTF-8).
  if (text.includes('\\u')) refuseIllFormed(value, []);
  return value;
}

function refuseIllFormed(value: unknown, path: (string | number)[]): void {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw ErrRequestDecode(`${formatPath(path) || 'body'}: string is not valid Unicode (lone UTF-16 surrogate)`);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) refuseIllFormed(value[i], [...path, i]);
  } else if (isRecord(value)) {
    for (const key of Object.keys(value)) {
      if (!key.isWellFormed()) throw ErrRequestDecode(`${formatPath(path) || 'body'}: field name is not valid Unicode (lone UTF-16 surrogate)`);
      refuseIllFormed(value[key], [...path, key]);
    }
  }
}

/** Canonicalizes `raw`'s keys against `schema`, then validates; throws ErrRequestDecode naming the field path. */
export function decodeBody<S extends z.ZodType>(schema: S, raw: unknown, options: DecodeOptions = {}): z.output<S> {
  const aliases = aliasTable(options.aliases);
  const lead = options.lead ?? 'Request decode failed';
  const canonical = canonicalize(schema, raw, [], { aliases, reject: options.unknownFields === 'reject', keepUnknown: false, lead });
  const result = schema.safeParse(canonical);
  if (result.success) return result.data;
  throw ErrRequestDecode(describeIssue(result.error.issues[0]!, canonical), lead);
}

/** The key canonicalization alone (exported for endpoints that validate by other means). */
export function canonicalizeKeys(schema: z.ZodType, raw: unknown, options: DecodeOptions = {}): unknown {
  return canonicalize(schema, raw, [], {
    aliases: aliasTable(options.aliases),
    reject: options.unknownFields === 'reject',
    keepUnknown: false,
    lead: options.lead ?? 'Request decode failed',
  });
}

/**
 * A Go time.Duration field: a duration string ("10s", "1m30s", "1.9067416191101074s") or a number of nanoseconds
 * (encoding/json's form of time.Duration). Output: milliseconds.
 */
export function goDuration(): z.ZodType<number, unknown> {
  return z.unknown().transform((v, ctx): number => {
    if (typeof v === 'number' && Number.isFinite(v)) {
      // Nanoseconds beyond int64 do not fit a Go time.Duration; encoding/json refuses them.
      if (Math.abs(v / 1e6) <= MAX_GO_DURATION_MS) return v / 1e6;
      ctx.addIssue({ code: 'custom', message: `json: cannot unmarshal number ${String(v)} into Go value of type time.Duration` });
      return z.NEVER;
    }
    if (typeof v === 'string') {
      const ms = tryParseDuration(v);
      if (ms !== undefined) return ms;
      const missingUnit = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(v.trim()) && !/^[+-]?0$/.test(v.trim());
      ctx.addIssue({
        code: 'custom',
        message: missingUnit ? `time: missing unit in duration ${JSON.stringify(v)}` : `time: invalid duration ${JSON.stringify(v)}`,
      });
      return z.NEVER;
    }
    ctx.addIssue({ code: 'custom', message: `invalid duration: expected a string such as "10s" or nanoseconds, got ${jsonType(v)}` });
    return z.NEVER;
  });
}

/** Value schemas of the maps made by goMap, so the key walk below can treat them as maps. */
const GO_MAPS = new WeakMap<z.ZodType, z.ZodType>();

/**
 * A Go map with string keys (`Meta`, `TaggedAddresses`, `Header`, ...): what zod's record is, except that every key
 * is kept, `__proto__` and `constructor` included — zod's record assigns into a plain object, where `__proto__` is
 * the prototype setter and the entry silently vanishes. The result is a prototype-free object.
 */
export function goMap<V extends z.ZodType>(value: V): z.ZodType<Record<string, z.output<V>>, unknown> {
  const schema = z.unknown().transform((input, ctx): Record<string, z.output<V>> => {
    if (!isRecord(input)) {
      ctx.addIssue({ code: 'invalid_type', expected: 'record', input });
      return z.NEVER;
    }
    const out = Object.create(null) as Record<string, z.output<V>>;
    for (const key of Object.keys(input)) {
      const parsed = value.safeParse(input[key]);
      if (parsed.success) {
        out[key] = parsed.data;
      } else {
        for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] } as z.core.$ZodRawIssue);
      }
    }
    return out;
  });
  GO_MAPS.set(schema, value);
  return schema;
}

function tryParseDuration(text: string): number | undefined {
  // parseDuration reports failure by throwing its own 400; here the failure becomes a zod issue with the
  // field's path instead, so the error is handled, not swallowed.
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

// -------------------------------------------------------------------------------------------------------------
// The walk over zod's schema definitions.

interface Ctx {
  readonly aliases: ReadonlyMap<string, string>;
  readonly reject: boolean;
  /** Inside an intersection each side sees only part of the shape, so keys it does not know are kept. */
  readonly keepUnknown: boolean;
  readonly lead: DecodeFailureLead;
}

/** The part of zod v4's internal definition this walk reads. */
interface Def {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly getter?: () => z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly catchall?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly left?: z.ZodType;
  readonly right?: z.ZodType;
  readonly items?: readonly z.ZodType[];
  readonly rest?: z.ZodType | null;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional', 'success']);

/** Peels optional/nullable/default/lazy/pipe wrappers down to the schema that gives the value its shape. */
function unwrap(schema: z.ZodType): z.ZodType {
  let cur = schema;
  for (let i = 0; i < 64; i++) {
    if (GO_MAPS.has(cur)) return cur;
    const def = defOf(cur);
    if (WRAPPERS.has(def.type) && def.innerType) cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else if (def.type === 'lazy' && def.getter) cur = def.getter();
    else return cur;
  }
  return cur;
}

function acceptsNull(schema: z.ZodType): boolean {
  let cur = schema;
  for (let i = 0; i < 64; i++) {
    const def = defOf(cur);
    if (def.type === 'nullable' || def.type === 'null' || def.type === 'any' || def.type === 'unknown') return true;
    if (WRAPPERS.has(def.type) && def.innerType) cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else if (def.type === 'lazy' && def.getter) cur = def.getter();
    else if (def.type === 'union' && def.options) return def.options.some(acceptsNull);
    else return false;
  }
  return false;
}

function canonicalize(schema: z.ZodType, value: unknown, path: (string | number)[], ctx: Ctx): unknown {
  const inner = unwrap(schema);
  const mapValue = GO_MAPS.get(inner);
  if (mapValue) return canonicalizeMap(mapValue, value, path, ctx);
  const def = defOf(inner);
  switch (def.type) {
    case 'object':
      return isRecord(value) ? canonicalizeObject(def, value, path, ctx) : value;
    case 'array':
      return Array.isArray(value) && def.element
        ? value.map((v, i) => canonicalize(def.element!, v, [...path, i], ctx))
        : value;
    case 'tuple':
      return Array.isArray(value)
        ? value.map((v, i) => {
            const item = def.items?.[i] ?? def.rest ?? undefined;
            return item ? canonicalize(item, v, [...path, i], ctx) : v;
          })
        : value;
    case 'record':
      return def.valueType ? canonicalizeMap(def.valueType, value, path, ctx) : value;
    case 'union': {
      if (!isRecord(value) || !def.options) return value;
      const best = bestObjectOption(def.options, value);
      return best ? canonicalize(best, value, path, ctx) : value;
    }
    case 'intersection': {
      if (!def.left || !def.right) return value;
      const keep = { ...ctx, keepUnknown: true };
      return canonicalize(def.right, canonicalize(def.left, value, path, keep), path, keep);
    }
    default:
      return value;
  }
}

/** A free-form map: its keys are data and stay exactly as sent (prototype-free); only struct-typed values are walked. */
function canonicalizeMap(valueType: z.ZodType, value: unknown, path: (string | number)[], ctx: Ctx): unknown {
  if (!isRecord(value)) return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) out[k] = canonicalize(valueType, v, [...path, k], ctx);
  return out;
}

function canonicalizeObject(def: Def, value: Record<string, unknown>, path: (string | number)[], ctx: Ctx): Record<string, unknown> {
  const shape = def.shape ?? {};
  const folded = new Map<string, string>();
  for (const key of Object.keys(shape)) folded.set(key.toLowerCase(), key);

  // Rank per canonical field: 3 exact spelling, 2 case-folded, 1 alias; ties go to the later key, as in Go.
  const chosen = new Map<string, { rank: number; value: unknown }>();
  const unknown: [string, unknown][] = [];
  for (const [key, v] of Object.entries(value)) {
    let canonical: string | undefined;
    let rank = 0;
    if (Object.hasOwn(shape, key)) {
      canonical = key;
      rank = 3;
    } else if (folded.has(key.toLowerCase())) {
      canonical = folded.get(key.toLowerCase());
      rank = 2;
    } else {
      const target = ctx.aliases.get(key.toLowerCase());
      const resolved = target === undefined ? undefined : (Object.hasOwn(shape, target) ? target : folded.get(target.toLowerCase()));
      if (resolved !== undefined) {
        canonical = resolved;
        rank = 1;
      }
    }
    if (canonical === undefined) {
      unknown.push([key, v]);
      continue;
    }
    const prev = chosen.get(canonical);
    if (prev === undefined || rank >= prev.rank) chosen.set(canonical, { rank, value: v });
  }

  // Prototype-free: unknown keys kept below are the client's, `__proto__` among them.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [key, { value: v }] of chosen) {
    const field = shape[key]!;
    // encoding/json leaves a field at its zero value when the body says null; zod would call it a type error.
    if (v === null && !acceptsNull(field)) continue;
    out[key] = canonicalize(field, v, [...path, key], ctx);
  }
  if (unknown.length > 0) {
    const catchall = def.catchall ? defOf(def.catchall).type : undefined;
    if (ctx.reject && !ctx.keepUnknown) {
      throw ErrRequestDecode(`json: unknown field ${JSON.stringify(unknown[0]![0])}${path.length ? ` in ${formatPath(path)}` : ''}`, ctx.lead);
    }
    if (ctx.keepUnknown || (catchall !== undefined && catchall !== 'never')) {
      for (const [k, v] of unknown) out[k] = v;
    } else if (catchall === 'never') {
      // A strict object: say it the way Consul's strict decoder does rather than with zod's wording.
      throw ErrRequestDecode(`json: unknown field ${JSON.stringify(unknown[0]![0])}${path.length ? ` in ${formatPath(path)}` : ''}`, ctx.lead);
    }
  }
  return out;
}

/** For a union of object shapes, the option whose fields (case-folded) cover the most keys of the value. */
function bestObjectOption(options: readonly z.ZodType[], value: Record<string, unknown>): z.ZodType | undefined {
  let best: z.ZodType | undefined;
  let bestScore = -1;
  const keys = Object.keys(value).map((k) => k.toLowerCase());
  for (const option of options) {
    const def = defOf(unwrap(option));
    if (def.type !== 'object') continue;
    const names = new Set(Object.keys(def.shape ?? {}).map((k) => k.toLowerCase()));
    const score = keys.filter((k) => names.has(k)).length;
    if (score > bestScore) {
      best = option;
      bestScore = score;
    }
  }
  return best;
}

function aliasTable(extra: Readonly<Record<string, string>> | undefined): ReadonlyMap<string, string> {
  const table = new Map<string, string>();
  for (const [k, v] of Object.entries(CONSUL_KEY_ALIASES)) table.set(k.toLowerCase(), v);
  for (const [k, v] of Object.entries(extra ?? {})) table.set(k.toLowerCase(), v);
  return table;
}

// -------------------------------------------------------------------------------------------------------------
// Errors.

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path as (string | number)[];
  const where = formatPath(path);
  const got = valueAt(input, path);
  if (issue.code === 'invalid_type') {
    if (got.found === false || got.value === undefined) return `missing required field ${JSON.stringify(where)}`;
    // encoding/json: "json: cannot unmarshal string into Go struct field ServiceDefinition.Port of type int"
    if (where === '') return `json: cannot unmarshal ${jsonType(got.value)} into Go value of type ${goType(issue.expected)}`;
    return `json: cannot unmarshal ${jsonType(got.value)} into Go struct field ${where} of type ${goType(issue.expected)}`;
  }
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}

function goType(expected: string): string {
  switch (expected) {
    case 'boolean': return 'bool';
    case 'record': return 'map';
    case 'object': return 'struct';
    case 'array': return 'slice';
    case 'int': return 'int';
    default: return expected;
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return `number ${String(v)}`;
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/** `Checks[1].Interval`, `Meta["a.b"]` for a key that is not an identifier. */
function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur) && typeof seg === 'number') cur = cur[seg];
    else if (isRecord(cur) && typeof seg === 'string' && Object.hasOwn(cur, seg)) cur = cur[seg];
    else return { found: false };
  }
  return { found: true, value: cur };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
