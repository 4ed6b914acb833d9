/**
 * Walking a compiled discovery chain (the server's `/v1/discovery-chain/:service`) for one request: the router's
 * first matching route (path exact/prefix/regex, headers, methods, query parameters — Consul's ServiceRouteHTTPMatch),
 * then a weighted pick among a splitter's splits, ending at a resolver: its target, its failover targets in order,
 * its connect and request timeouts. Route destinations add request timeouts, retries and a prefix rewrite. Pure: the
 * caller brings the chain, the request facts and the random source, so a test can drive every branch.
 */
import type { CompiledDiscoveryChain, DiscoveryGraphNode, DiscoveryTarget } from '../api/types.ts';
import { parseDuration } from '../lib/duration.ts';
import { compileGoRegexp, type GoRegexp } from '../lib/go-regexp/index.ts';
import { permissionMatches, type HttpRequestFacts, type IntentionHTTPPermission } from '../lib/intentions/index.ts';

/** What the chain decided for one request (or, for a tcp chain, for every connection). */
export interface RoutePlan {
  /** Targets to try, in failover order: the resolver's own first. */
  readonly targets: readonly DiscoveryTarget[];
  readonly connectTimeoutMs: number;
  /** 0: none (wait for the upstream as long as the client does). */
  readonly requestTimeoutMs: number;
  readonly numRetries: number;
  readonly retryOnConnectFailure: boolean;
  readonly retryOnStatusCodes: readonly number[];
  readonly prefixRewrite?: { readonly prefix: string; readonly replacement: string } | undefined;
}

interface QueryParamMatch { Name?: string; Present?: boolean; Exact?: string; Regex?: string }
interface RouteMatch { HTTP?: IntentionHTTPPermission & { QueryParam?: QueryParamMatch[] } }
interface RouteDestination {
  RequestTimeout?: string; NumRetries?: number; RetryOnConnectFailure?: boolean; RetryOnStatusCodes?: number[]; PrefixRewrite?: string;
}
interface RouteDefinition { Match?: RouteMatch; Destination?: RouteDestination }

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

export interface RequestFacts extends HttpRequestFacts {
  /** The query string without `?` ('' when none). */
  readonly query: string;
}

/** The plan for a connection of a tcp chain: its start node must be a resolver (the server refuses routers for tcp). */
export function planConnection(chain: CompiledDiscoveryChain): RoutePlan {
  return planFrom(chain, chain.StartNode, undefined, Math.random);
}

/**
 * The plan every request and connection gets when the chain starts at a resolver (no router, no splitter: nothing
 * depends on the request or on chance), else undefined. The caller computes it once per chain version, so the
 * common single-target upstream does no chain walk and no duration parsing per request.
 */
export function fixedPlan(chain: CompiledDiscoveryChain): RoutePlan | undefined {
  if (chain.Nodes[chain.StartNode]?.Type !== 'resolver') return undefined;
  return planFrom(chain, chain.StartNode, undefined, Math.random);
}

/** The plan for one HTTP request. */
export function planRequest(chain: CompiledDiscoveryChain, facts: RequestFacts, random: () => number = Math.random): RoutePlan {
  let key = chain.StartNode;
  let route: RouteDefinition | undefined;
  const start = chain.Nodes[key];
  if (start?.Type === 'router') {
    const hit = (start.Routes ?? []).find((r) => routeMatches((r.Definition ?? {}) as RouteDefinition, facts));
    if (!hit) throw new Error(`no route of ${chain.ServiceName} matched`); // the compiler always appends a catch-all
    route = hit.Definition as RouteDefinition;
    key = hit.NextNode;
  }
  return planFrom(chain, key, route, random);
}

function planFrom(chain: CompiledDiscoveryChain, key: string, route: RouteDefinition | undefined, random: () => number): RoutePlan {
  let node = chain.Nodes[key];
  if (node?.Type === 'splitter') node = chain.Nodes[pickSplit(node, random)];
  if (node?.Type !== 'resolver' || !node.Resolver) throw new Error(`discovery chain of ${chain.ServiceName} has no resolver at ${key}`);
  const r = node.Resolver;
  const ids = [r.Target, ...(r.Failover?.Targets ?? [])];
  const targets = ids.map((id) => chain.Targets[id]).filter((t): t is DiscoveryTarget => t !== undefined);
  const dest = route?.Destination ?? {};
  const resolverTimeoutMs = r.RequestTimeout ? r.RequestTimeout / 1e6 : 0;
  return {
    targets,
    connectTimeoutMs: r.ConnectTimeout ? parseDuration(r.ConnectTimeout) : DEFAULT_CONNECT_TIMEOUT_MS,
    // A route's own timeout wins over the resolver's (Consul: route destination RequestTimeout, else the resolver's).
    requestTimeoutMs: dest.RequestTimeout ? parseDuration(dest.RequestTimeout) : resolverTimeoutMs,
    numRetries: dest.NumRetries ?? 0,
    retryOnConnectFailure: dest.RetryOnConnectFailure ?? false,
    retryOnStatusCodes: dest.RetryOnStatusCodes ?? [],
    prefixRewrite: dest.PrefixRewrite !== undefined && route?.Match?.HTTP
      ? { prefix: route.Match.HTTP.PathExact ?? route.Match.HTTP.PathPrefix ?? '', replacement: dest.PrefixRewrite }
      : undefined,
  };
}

/** A weighted pick: weights are percentages (two decimals) summing to 100, as the compiler leaves them. */
function pickSplit(node: DiscoveryGraphNode, random: () => number): string {
  const splits = node.Splits ?? [];
  const total = splits.reduce((s, x) => s + x.Weight, 0);
  let point = random() * total;
  for (const s of splits) {
    if (point < s.Weight) return s.NextNode;
    point -= s.Weight;
  }
  return splits[splits.length - 1]?.NextNode ?? '';
}

/** ServiceRouteMatch: every criterion it names must hold; no HTTP block matches everything. */
export function routeMatches(route: RouteDefinition, facts: RequestFacts): boolean {
  const http = route.Match?.HTTP;
  if (!http) return true;
  // Path, header and method criteria share their field names and semantics with intention permissions.
  if (!permissionMatches({ HTTP: http }, facts)) return false;
  for (const q of http.QueryParam ?? []) if (!queryParamMatches(q, facts.query)) return false;
  return true;
}

const regexCache = new Map<string, GoRegexp>();

function queryParamMatches(m: QueryParamMatch, query: string): boolean {
  const values = new URLSearchParams(query).getAll(m.Name ?? '');
  if (values.length === 0) return false;
  const value = values[0]!;
  if (m.Present) return true;
  if (m.Exact !== undefined && m.Exact !== '') return value === m.Exact;
  if (m.Regex) {
    let re = regexCache.get(m.Regex);
    if (!re) {
      re = compileGoRegexp(`^(?:${m.Regex})$`);
      if (regexCache.size > 256) regexCache.clear();
      regexCache.set(m.Regex, re);
    }
    return re.test(value);
  }
  return false;
}
