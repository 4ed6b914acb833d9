/**
 * Consul's ACL rules language (acl/policy.go): a policy's `Rules` text, in HCL or JSON, decoded into exact and
 * prefix rules per resource plus the unnamed resources (`acl`, `operator`, `keyring`, `mesh`, `peering`). Parsing
 * is async (HCL goes through @cdktf/hcl2json) and happens when a policy is written; the decoded form is kept with
 * the policy so the resolver, which answers synchronously, never parses. Validation names the rule at fault.
 */
import { defineError } from '../../lib/errors.ts';

/** Consul's policy strings; `list` is valid on keys only (AccessLevelFromString, isPolicyValid). */
export type RuleAccess = 'read' | 'write' | 'list' | 'deny';

/** The resources whose rules are named and matched exactly or by prefix. */
export const SEGMENT_RESOURCES = ['agent', 'event', 'key', 'node', 'query', 'service', 'session'] as const;
export type SegmentResource = (typeof SEGMENT_RESOURCES)[number];

/** The resources with one rule each (`acl = "write"`). */
export const SINGLE_RESOURCES = ['acl', 'operator', 'keyring', 'mesh', 'peering'] as const;
export type SingleResource = (typeof SINGLE_RESOURCES)[number];

export interface NamedRule {
  readonly name: string;
  readonly policy: RuleAccess;
  /** service and service_prefix only: access to the service's intentions (Consul's `intentions`). */
  readonly intentions?: RuleAccess;
}

export interface SegmentRules {
  readonly exact: readonly NamedRule[];
  readonly prefix: readonly NamedRule[];
}

/** A decoded policy: plain data (kept in the store beside the policy's text). */
export interface PolicyRules {
  readonly segments: Readonly<Record<SegmentResource, SegmentRules>>;
  readonly single: Readonly<Partial<Record<SingleResource, RuleAccess>>>;
}

export const ErrInvalidRules = defineError('MG_ACL_INVALID_RULES', 400, (detail: string) => `Invalid Policy: ${detail}`);

const ACCESS: ReadonlySet<string> = new Set(['read', 'write', 'deny']);
const KEY_ACCESS: ReadonlySet<string> = new Set(['read', 'write', 'list', 'deny']);

export function emptyRules(): PolicyRules {
  const segments = {} as Record<SegmentResource, SegmentRules>;
  for (const r of SEGMENT_RESOURCES) segments[r] = { exact: [], prefix: [] };
  return { segments, single: {} };
}

/** Consul's precedence when two rules name the same thing (takesPrecedenceOver): deny, write, list, read. */
const RANK: Readonly<Record<RuleAccess, number>> = { deny: 4, write: 3, list: 2, read: 1 };
export function stronger(a: RuleAccess | undefined, b: RuleAccess | undefined): RuleAccess | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

const HCL2JSON = '@cdktf/hcl2json';
type HclParse = (filename: string, contents: string) => Promise<unknown>;
let hclParse: Promise<HclParse> | undefined;

/** Parsed policies by text: the same rules are written again and again (roles, clones, restarts). */
const cache = new Map<string, PolicyRules>();
const CACHE_LIMIT = 1024;

/** Parses a policy's Rules (HCL, or JSON when it starts with `{`); an empty text is a policy granting nothing. */
export async function parseRules(text: string): Promise<PolicyRules> {
  const hit = cache.get(text);
  if (hit) return hit;
  let raw: unknown;
  const trimmed = text.trim();
  if (trimmed === '') raw = {};
  else if (trimmed.startsWith('{')) {
    try {
      raw = JSON.parse(trimmed);
    } catch (err) {
      throw ErrInvalidRules(`Failed to parse ACL rules: ${(err as Error).message}`);
    }
  } else {
    // Loaded by a computed specifier: the package's declarations pull the DOM lib into the whole program.
    hclParse ??= import(HCL2JSON).then((m: { parse: HclParse }) => m.parse);
    try {
      raw = await (await hclParse)('rules.hcl', text);
    } catch (err) {
      throw ErrInvalidRules(`Failed to parse ACL rules: ${String((err as Error).message ?? err).trim()}`);
    }
  }
  const rules = decodeRules(raw);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(text, rules);
  return rules;
}

/** Decodes rules already in JSON form (hcl2json's output, or Consul's JSON rules), validating every policy. */
export function decodeRules(raw: unknown): PolicyRules {
  if (!isObject(raw)) throw ErrInvalidRules('Failed to parse ACL rules: expected an object at the top level');
  const segments = {} as Record<SegmentResource, { exact: NamedRule[]; prefix: NamedRule[] }>;
  for (const r of SEGMENT_RESOURCES) segments[r] = { exact: [], prefix: [] };
  const single: Partial<Record<SingleResource, RuleAccess>> = {};
  for (const [field, value] of Object.entries(raw)) {
    if ((SINGLE_RESOURCES as readonly string[]).includes(field)) {
      const v = Array.isArray(value) && value.length === 1 ? value[0] : value;
      if (typeof v !== 'string' || !ACCESS.has(v)) throw ErrInvalidRules(`Invalid ${field} policy: ${JSON.stringify(v)} (want "read", "write" or "deny")`);
      single[field as SingleResource] = v as RuleAccess;
      continue;
    }
    const prefix = field.endsWith('_prefix');
    const resource = (prefix ? field.slice(0, -'_prefix'.length) : field) as SegmentResource;
    if (!(SEGMENT_RESOURCES as readonly string[]).includes(resource)) {
      throw ErrInvalidRules(`Failed to parse ACL rules: unknown rule ${JSON.stringify(field)}`);
    }
    for (const [name, body] of blocks(field, value)) {
      segments[resource][prefix ? 'prefix' : 'exact'].push(decodeRule(field, resource, name, body));
    }
  }
  return { segments, single };
}

/** `key "a" { … }` comes out of hcl2json as `{ key: { a: [ {…} ] } }`; Consul's JSON form has `{ key: { a: {…} } }`. */
function* blocks(field: string, value: unknown): Generator<[string, Record<string, unknown>]> {
  const groups = Array.isArray(value) ? value : [value];
  for (const group of groups) {
    if (!isObject(group)) throw ErrInvalidRules(`Failed to parse ACL rules: ${field} must be blocks with a name, as ${field} "name" { policy = "read" }`);
    for (const [name, body] of Object.entries(group)) {
      for (const one of Array.isArray(body) ? body : [body]) {
        if (!isObject(one)) throw ErrInvalidRules(`Failed to parse ACL rules: ${field} ${JSON.stringify(name)} must be a block`);
        yield [name, one];
      }
    }
  }
}

function decodeRule(field: string, resource: SegmentResource, name: string, body: Record<string, unknown>): NamedRule {
  const allowed = resource === 'key' ? KEY_ACCESS : ACCESS;
  const want = resource === 'key' ? '"read", "write", "list" or "deny"' : '"read", "write" or "deny"';
  let policy: RuleAccess | undefined;
  let intentions: RuleAccess | undefined;
  for (const [k, v] of Object.entries(body)) {
    if (k === 'policy') {
      if (typeof v !== 'string' || !allowed.has(v)) throw ErrInvalidRules(`Invalid ${field} ${JSON.stringify(name)} policy: ${JSON.stringify(v)} (want ${want})`);
      policy = v as RuleAccess;
    } else if (k === 'intentions' && resource === 'service') {
      if (typeof v !== 'string' || !ACCESS.has(v)) {
        throw ErrInvalidRules(`Invalid ${field} ${JSON.stringify(name)} intentions policy: ${JSON.stringify(v)} (want "read", "write" or "deny")`);
      }
      intentions = v as RuleAccess;
    } else {
      throw ErrInvalidRules(`Failed to parse ACL rules: ${field} ${JSON.stringify(name)}: unknown field ${JSON.stringify(k)}`);
    }
  }
  // Every rule needs its policy, even one that only sets intentions (isPolicyValid refuses "").
  if (policy === undefined) throw ErrInvalidRules(`Invalid ${field} ${JSON.stringify(name)} policy: "" (want ${want})`);
  return { name, policy, ...(intentions ? { intentions } : {}) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
