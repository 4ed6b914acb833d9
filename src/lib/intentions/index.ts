/**
 * Intention evaluation: the one function the server's `/v1/agent/connect/authorize` and `/v1/connect/intentions/check`
 * and the sidecar proxy all use to decide whether a source service may reach a destination — at L4 (a connection)
 * and at L7 (an HTTP request against `Permissions`). Pure and typed; the caller supplies the intentions (as the
 * server stores them, or as the proxy fetched them over the HTTP API) and the default decision.
 *
 * Consul's rules, by source:
 * - precedence (agent/structs/config_entry_intentions.go computeIntentionPrecedence): exact destination 9 / 8
 *   (exact / wildcard source), wildcard destination 6 / 5 — in Community Edition the namespace is always exact;
 * - order (agent/structs/intention.go IntentionPrecedenceSorter): precedence descending, then source name,
 *   then destination name;
 * - the decision (agent/agent_endpoint.go AgentConnectAuthorize): the first intention in that order whose source
 *   matches decides; an L4 intention by its Action, an L7 one (with Permissions) denies the connection-level
 *   check; with no match, the default (ACL default policy, or the agent's default intention policy);
 * - L7 (SourceIntention.Permissions comment in config_entry_intentions.go): permissions are interpreted in order,
 *   a deny subtracted from every later allow, so the first permission the request matches decides; a request that
 *   matches none gets the default decision.
 */
import { compilePattern, type CompiledPattern } from './regexp-adapter.ts';

export const WILDCARD = '*';

export type IntentionAction = 'allow' | 'deny';

export interface IntentionHeaderMatch {
  Name?: string | undefined;
  Present?: boolean | undefined;
  Exact?: string | undefined;
  Prefix?: string | undefined;
  Suffix?: string | undefined;
  Regex?: string | undefined;
  Invert?: boolean | undefined;
}

export interface IntentionHTTPPermission {
  PathExact?: string | undefined;
  PathPrefix?: string | undefined;
  PathRegex?: string | undefined;
  Header?: IntentionHeaderMatch[] | undefined;
  Methods?: string[] | undefined;
}

export interface IntentionPermission {
  Action?: string | undefined;
  HTTP?: IntentionHTTPPermission | undefined;
}

/** One intention in Consul's flat form (structs.Intention): what the evaluation needs of it. */
export interface IntentionRule {
  ID?: string | undefined;
  SourceName: string;
  DestinationName: string;
  Action?: string | undefined;
  Permissions?: IntentionPermission[] | undefined;
  Precedence?: number | undefined;
}

/** computeIntentionPrecedence for the default namespace: 9, 8, 6 or 5. */
export function intentionPrecedence(destination: string, source: string): number {
  const max = destination === WILDCARD ? 6 : 9;
  return max - (source === WILDCARD ? 1 : 0);
}

const precedenceOf = (r: IntentionRule): number => r.Precedence ?? intentionPrecedence(r.DestinationName, r.SourceName);

/** IntentionPrecedenceSorter: highest precedence first, ties by source then destination name. */
export function sortByPrecedence<R extends IntentionRule>(rules: readonly R[]): R[] {
  return [...rules].sort((a, b) => {
    const d = precedenceOf(b) - precedenceOf(a);
    if (d !== 0) return d;
    if (a.SourceName !== b.SourceName) return a.SourceName < b.SourceName ? -1 : 1;
    if (a.DestinationName !== b.DestinationName) return a.DestinationName < b.DestinationName ? -1 : 1;
    return 0;
  });
}

/** `/v1/connect/intentions/match`: the intentions that apply to `name` on the given side, in precedence order. */
export function matchIntentions<R extends IntentionRule>(rules: readonly R[], by: 'source' | 'destination', name: string): R[] {
  const side = (r: R): string => (by === 'source' ? r.SourceName : r.DestinationName);
  return sortByPrecedence(rules.filter((r) => side(r) === name || side(r) === WILDCARD));
}

/** The first intention (precedence order) that governs `source` → `destination`, if any. */
export function governingIntention<R extends IntentionRule>(rules: readonly R[], source: string, destination: string): R | undefined {
  for (const r of matchIntentions(rules, 'destination', destination)) {
    if (r.SourceName === source || r.SourceName === WILDCARD) return r;
  }
  return undefined;
}

/** Intention.String() in Consul's format, as it appears in authorize reasons. */
export function describeIntention(r: IntentionRule): string {
  const id = r.ID ? `ID: ${r.ID}, ` : '';
  const detail = (r.Permissions ?? []).length > 0 ? `Permissions: ${r.Permissions!.length}` : `Action: ${(r.Action ?? '').toUpperCase()}`;
  return `${r.SourceName} => ${r.DestinationName} (${id}Precedence: ${precedenceOf(r)}, ${detail})`;
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
  /** The intention that decided, when one did. */
  readonly intention?: IntentionRule;
}

export interface DefaultDecision {
  readonly allow: boolean;
  /** Consul's reason text for a default decision. */
  readonly reason: string;
}

/** With ACLs disabled Consul allows what no intention governs ("Default behavior configured by ACLs"). */
export const DEFAULT_ALLOW: DefaultDecision = { allow: true, reason: 'Default behavior configured by ACLs' };

/** The L4 (connection) decision of AgentConnectAuthorize. */
export function authorizeConnection(rules: readonly IntentionRule[], source: string, destination: string, fallback: DefaultDecision = DEFAULT_ALLOW): Decision {
  const r = governingIntention(rules, source, destination);
  if (!r) return { allowed: fallback.allow, reason: fallback.reason };
  if ((r.Permissions ?? []).length === 0) return { allowed: r.Action === 'allow', reason: `Matched L4 intention: ${describeIntention(r)}`, intention: r };
  return { allowed: false, reason: `Matched L7 intention: ${describeIntention(r)}`, intention: r };
}

/** What an L7 decision looks at in an HTTP request. Header names are matched case-insensitively. */
export interface HttpRequestFacts {
  readonly method: string;
  /** The request path; a query string, if present, is ignored as Envoy's path matchers ignore it. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** The L7 decision for one request: the governing intention's Action (L4) or its first matching permission. */
export function authorizeRequest(
  rules: readonly IntentionRule[],
  source: string,
  destination: string,
  request: HttpRequestFacts,
  fallback: DefaultDecision = DEFAULT_ALLOW,
): Decision {
  const r = governingIntention(rules, source, destination);
  if (!r) return { allowed: fallback.allow, reason: fallback.reason };
  const permissions = r.Permissions ?? [];
  if (permissions.length === 0) return { allowed: r.Action === 'allow', reason: `Matched L4 intention: ${describeIntention(r)}`, intention: r };
  for (let i = 0; i < permissions.length; i++) {
    const p = permissions[i]!;
    if (permissionMatches(p, request)) {
      return { allowed: p.Action === 'allow', reason: `Matched permission ${i} of L7 intention: ${describeIntention(r)}`, intention: r };
    }
  }
  return { allowed: fallback.allow, reason: `No permission of L7 intention matched (${describeIntention(r)}); ${fallback.reason}`, intention: r };
}

const patternCache = new Map<string, CompiledPattern | null>();

/** A pattern that does not compile matches nothing (the server refuses such entries; a proxy must not crash). */
function fullMatch(pattern: string, input: string): boolean {
  let compiled = patternCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = compilePattern(pattern);
    } catch {
      compiled = null;
    }
    if (patternCache.size > 1024) patternCache.clear();
    patternCache.set(pattern, compiled);
  }
  return compiled !== null && compiled.fullMatch(input);
}

/** Whether a pattern compiles, for validation at write time. */
export function patternProblem(pattern: string): string | undefined {
  try {
    compilePattern(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Every criterion the permission names must hold (path, each header, method). */
export function permissionMatches(p: IntentionPermission, request: HttpRequestFacts): boolean {
  const http = p.HTTP;
  if (!http) return false;
  const q = request.path.indexOf('?');
  const path = q === -1 ? request.path : request.path.slice(0, q);
  if (http.PathExact && path !== http.PathExact) return false;
  if (http.PathPrefix && !path.startsWith(http.PathPrefix)) return false;
  if (http.PathRegex && !fullMatch(http.PathRegex, path)) return false;
  for (const h of http.Header ?? []) if (!headerMatches(h, request.headers)) return false;
  const methods = http.Methods ?? [];
  if (methods.length > 0 && !methods.includes(request.method.toUpperCase())) return false;
  return true;
}

/** Envoy's HeaderMatcher: several values of one header are joined with "," before matching; Invert negates. */
function headerMatches(h: IntentionHeaderMatch, headers: HttpRequestFacts['headers']): boolean {
  const name = (h.Name ?? '').toLowerCase();
  let raw: string | readonly string[] | undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name && v !== undefined) raw = v;
  const value = raw === undefined ? undefined : typeof raw === 'string' ? raw : raw.join(',');
  let matched: boolean;
  if (value === undefined) matched = false;
  else if (h.Present) matched = true;
  else if (h.Exact !== undefined && h.Exact !== '') matched = value === h.Exact;
  else if (h.Prefix) matched = value.startsWith(h.Prefix);
  else if (h.Suffix) matched = value.endsWith(h.Suffix);
  else if (h.Regex) matched = fullMatch(h.Regex, value);
  else matched = false;
  return h.Invert ? !matched : matched;
}
