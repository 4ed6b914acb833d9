/**
 * Each kind's `Normalize` and `Validate`, in Consul's order and words (agent/structs/config_entry.go,
 * config_entry_discoverychain.go, config_entry_intentions.go, config_entry_mesh.go, config_entry_gateways.go).
 * Normalizing never fails on a valid entry; the first rule broken is thrown as MG_CONFIG_ENTRY_INVALID (400).
 */
import { defineError } from '../../lib/errors.ts';
import { parseDuration } from '../../lib/duration.ts';
import { intentionPrecedence } from '../../lib/intentions/index.ts';
import { parseFilter } from '../filter/index.ts';
import type {
  IngressGatewayEntry, MeshEntry, ProxyDefaultsEntry, ServiceDefaultsEntry, ServiceIntentionsEntry, ServiceResolverEntry,
  ServiceRouterEntry, ServiceSplitterEntry, TerminatingGatewayEntry,
} from './schemas.ts';

export const ErrEntryInvalid = defineError('MG_CONFIG_ENTRY_INVALID', 400, (message: string) => message);

const fail = (message: string): never => {
  throw ErrEntryInvalid(message);
};

const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;
const WILDCARD = '*';

/** validateConfigEntryMeta. */
export function validateMeta(meta: Record<string, string> | undefined): void {
  if (!meta) return;
  if (Object.keys(meta).length > META_MAX_PAIRS) fail(`Meta exceeds maximum element count ${META_MAX_PAIRS}`);
  for (const [k, v] of Object.entries(meta)) {
    if (k.length > META_KEY_MAX) fail(`Meta key ${JSON.stringify(k)} exceeds maximum length ${META_KEY_MAX}`);
    if (v.length > META_VALUE_MAX) fail(`Meta value for key ${JSON.stringify(k)} exceeds maximum length ${META_VALUE_MAX}`);
  }
}

/** Community Edition: only the default namespace and partition exist. */
function validateEnterpriseMeta(e: { Namespace?: string | undefined; Partition?: string | undefined }, where = ''): void {
  if (e.Namespace && e.Namespace !== 'default' && e.Namespace !== WILDCARD) fail(`${where}Namespaces are a Consul Enterprise feature`);
  if (e.Partition && e.Partition !== 'default') fail(`${where}Partitions are a Consul Enterprise feature`);
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']);
const RETRY_CONDITIONS = new Set([
  '5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx', 'refused-stream', 'cancelled',
  'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);
const CONNECTION_BALANCE = new Set(['', 'exact_balance']);
const MUTUAL_TLS_MODES = new Set(['', 'strict', 'permissive']);
const PROXY_MODES = new Set(['', 'direct', 'transparent']);
const MESH_GATEWAY_MODES = new Set(['', 'none', 'local', 'remote']);
const TLS_VERSIONS = new Set(['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3']);

type Opt<T> = T | undefined;

function validateProxyFields(e: { Mode?: Opt<string>; MutualTLSMode?: Opt<string>; MeshGateway?: Opt<{ Mode?: Opt<string> }> }): void {
  if (!PROXY_MODES.has(e.Mode ?? '')) fail(`invalid proxy mode: ${JSON.stringify(e.Mode)}`);
  if (!MUTUAL_TLS_MODES.has(e.MutualTLSMode ?? '')) {
    fail(`Invalid MutualTLSMode ${JSON.stringify(e.MutualTLSMode)}. Must be one of "", "strict", or "permissive".`);
  }
  if (!MESH_GATEWAY_MODES.has(e.MeshGateway?.Mode ?? '')) fail(`Invalid Mesh Gateway mode ${JSON.stringify(e.MeshGateway?.Mode)}`);
}

// --- service-defaults / proxy-defaults / mesh ---------------------------------------------------------------

export function normalizeServiceDefaults(e: ServiceDefaultsEntry): void {
  if (e.Protocol !== undefined) e.Protocol = e.Protocol.toLowerCase();
  for (const o of e.UpstreamConfig?.Overrides ?? []) if (o.Protocol) o.Protocol = o.Protocol.toLowerCase();
  if (e.UpstreamConfig?.Defaults?.Protocol) e.UpstreamConfig.Defaults.Protocol = e.UpstreamConfig.Defaults.Protocol.toLowerCase();
}

export function validateServiceDefaults(e: ServiceDefaultsEntry): void {
  if (!e.Name) fail('Name is required');
  if (e.Name === WILDCARD) fail('service-defaults name must be the name of a service, and not a wildcard');
  validateMeta(e.Meta);
  validateProxyFields(e);
  if (!CONNECTION_BALANCE.has(e.BalanceInboundConnections ?? '')) {
    fail(`invalid value for balance_inbound_connections: ${e.BalanceInboundConnections}`);
  }
  if (e.UpstreamConfig && e.Destination) fail('UpstreamConfig and Destination are mutually exclusive for service defaults');
  for (const o of e.UpstreamConfig?.Overrides ?? []) {
    const problem = upstreamConfigProblem(o, true);
    if (problem) fail(`error in upstream override for ${o.Name ?? ''}: ${problem}`);
  }
  if (e.UpstreamConfig?.Defaults) {
    const problem = upstreamConfigProblem(e.UpstreamConfig.Defaults, false);
    if (problem) fail(`error in upstream defaults: ${problem}`);
  }
  if (e.Destination) {
    const addresses = e.Destination.Addresses ?? [];
    if (addresses.length === 0) fail('Destination must contain at least one valid address');
    const seen = new Set<string>();
    for (const a of addresses) {
      if (seen.has(a)) fail(`Duplicate address '${a}' is not allowed`);
      seen.add(a);
    }
    const port = e.Destination.Port ?? 0;
    if (port < 1 || port > 65535) fail(`Invalid Port number ${port}`);
  }
}

type UpstreamConfig = NonNullable<NonNullable<ServiceDefaultsEntry['UpstreamConfig']>['Defaults']>;

/** UpstreamConfig.validate(named). */
function upstreamConfigProblem(c: UpstreamConfig, named: boolean): string | undefined {
  if (named) {
    if (!c.Name) return 'Name is required';
    if (c.Name === WILDCARD) return 'Wildcard name is not supported';
    if (c.Namespace === WILDCARD) return 'Wildcard namespace is not supported';
  } else {
    if (c.Name) return 'Name must be empty';
    if (c.Namespace) return 'Namespace must be empty';
    if (c.Partition) return 'Partition must be empty';
  }
  if (c.PassiveHealthCheck?.Interval && parseDuration(c.PassiveHealthCheck.Interval) < 0) return 'passive health check interval cannot be negative';
  const l = c.Limits;
  if (l?.MaxConnections !== undefined && l.MaxConnections < 0) return 'max connections cannot be negative';
  if (l?.MaxPendingRequests !== undefined && l.MaxPendingRequests < 0) return 'max pending requests cannot be negative';
  if (l?.MaxConcurrentRequests !== undefined && l.MaxConcurrentRequests < 0) return 'max concurrent requests cannot be negative';
  if (!CONNECTION_BALANCE.has(c.BalanceOutboundConnections ?? '')) return `invalid value for balance_outbound_connections: ${c.BalanceOutboundConnections}`;
  return undefined;
}

/** proxy-defaults accepts only the name "global" (ProxyConfigEntry.Normalize fills it in when empty). */
export function normalizeProxyDefaults(e: ProxyDefaultsEntry): void {
  if (e.Name && e.Name !== 'global') fail(`invalid name (${JSON.stringify(e.Name)}), only "global" is supported`);
  e.Name = 'global';
}

export function validateProxyDefaults(e: ProxyDefaultsEntry): void {
  if (e.Name !== 'global') fail(`invalid name (${JSON.stringify(e.Name)}), only "global" is supported`);
  validateMeta(e.Meta);
  validateProxyFields(e);
}

/** The mesh entry is a singleton named "mesh" (MeshConfigEntry.GetName). */
export function normalizeMesh(e: MeshEntry): void {
  if (e.Name && e.Name !== 'mesh') fail(`invalid name (${JSON.stringify(e.Name)}), only "mesh" is supported`);
  e.Name = 'mesh';
}

export function validateMesh(e: MeshEntry): void {
  validateMeta(e.Meta);
  for (const [dir, tls] of [['Incoming', e.TLS?.Incoming], ['Outgoing', e.TLS?.Outgoing]] as const) {
    if (!tls) continue;
    for (const v of [tls.TLSMinVersion, tls.TLSMaxVersion]) {
      if (v && !TLS_VERSIONS.has(v)) fail(`error parsing ${dir} TLS config: TLS version ${JSON.stringify(v)} is not supported`);
    }
  }
}

// --- discovery chain kinds ----------------------------------------------------------------------------------

export function normalizeRouter(e: ServiceRouterEntry): void {
  for (const r of e.Routes ?? []) {
    const m = r.Match?.HTTP;
    if (m?.Methods) m.Methods = m.Methods.map((x) => x.toUpperCase());
  }
}

export function validateRouter(e: ServiceRouterEntry): void {
  if (!e.Name) fail('Name is required');
  validateMeta(e.Meta);
  (e.Routes ?? []).forEach((route, i) => {
    let prefixRewriteOk = false;
    const http = route.Match?.HTTP;
    if (http) {
      let pathParts = 0;
      if (http.PathExact) {
        prefixRewriteOk = true;
        pathParts++;
        if (!http.PathExact.startsWith('/')) fail(`Route[${i}] PathExact doesn't start with '/': ${JSON.stringify(http.PathExact)}`);
      }
      if (http.PathPrefix) {
        prefixRewriteOk = true;
        pathParts++;
        if (!http.PathPrefix.startsWith('/')) fail(`Route[${i}] PathPrefix doesn't start with '/': ${JSON.stringify(http.PathPrefix)}`);
      }
      if (http.PathRegex) pathParts++;
      if (pathParts > 1) fail(`Route[${i}] should only contain at most one of PathExact, PathPrefix, or PathRegex`);
      (http.Header ?? []).forEach((h, j) => {
        if (!h.Name) fail(`Route[${i}] Header[${j}] missing required Name field`);
        if (headerParts(h) !== 1) fail(`Route[${i}] Header[${j}] should only contain one of Present, Exact, Prefix, Suffix, or Regex`);
      });
      (http.QueryParam ?? []).forEach((q, j) => {
        if (!q.Name) fail(`Route[${i}] QueryParam[${j}] missing required Name field`);
        const parts = (q.Present ? 1 : 0) + (q.Exact ? 1 : 0) + (q.Regex ? 1 : 0);
        if (parts !== 1) fail(`Route[${i}] QueryParam[${j}] should only contain one of Present, Exact, or Regex`);
      });
      const seen = new Set<string>();
      for (const m of http.Methods ?? []) {
        if (!HTTP_METHODS.has(m)) fail(`Route[${i}] Methods contains an invalid method ${JSON.stringify(m)}`);
        if (seen.has(m)) fail(`Route[${i}] Methods contains ${JSON.stringify(m)} more than once`);
        seen.add(m);
      }
    }
    const dest = route.Destination;
    if (dest) {
      if (dest.PrefixRewrite && !prefixRewriteOk) fail(`Route[${i}] cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix`);
      for (const r of dest.RetryOn ?? []) if (!RETRY_CONDITIONS.has(r)) fail(`Route[${i}] contains an invalid retry condition: ${JSON.stringify(r)}`);
    }
  });
}

function headerParts(h: { Present?: Opt<boolean>; Exact?: Opt<string>; Prefix?: Opt<string>; Suffix?: Opt<string>; Regex?: Opt<string> }): number {
  return (h.Present ? 1 : 0) + (h.Exact ? 1 : 0) + (h.Regex ? 1 : 0) + (h.Prefix ? 1 : 0) + (h.Suffix ? 1 : 0);
}

/** Weights in 1/100 percent, as Consul's scaleWeight rounds them. */
export const scaleWeight = (w: number): number => Math.round(w * 100);

export function normalizeSplitter(e: ServiceSplitterEntry): void {
  for (const s of e.Splits ?? []) s.Weight = scaleWeight(s.Weight ?? 0) / 100;
}

export function validateSplitter(e: ServiceSplitterEntry): void {
  if (!e.Name) fail('Name is required');
  const splits = e.Splits ?? [];
  if (splits.length === 0) fail('no splits configured');
  validateMeta(e.Meta);
  const seen = new Set<string>();
  for (const s of splits) {
    const service = s.Service || e.Name!;
    const key = JSON.stringify([service, s.ServiceSubset ?? '', s.Namespace ?? '', s.Partition ?? '']);
    if (seen.has(key)) {
      fail(`split destination occurs more than once: service=${JSON.stringify(service)}, subset=${JSON.stringify(s.ServiceSubset ?? '')}, namespace=${JSON.stringify(s.Namespace ?? '')}, partition=${JSON.stringify(s.Partition ?? '')}`);
    }
    seen.add(key);
  }
  const sum = splits.reduce((acc, s) => acc + scaleWeight(s.Weight ?? 0), 0);
  if (sum !== 10000) fail(`the sum of all split weights must be 100, not ${(sum / 100).toFixed(6)}`);
}

const SUBSET_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function validateResolver(e: ServiceResolverEntry): void {
  if (!e.Name) fail('Name is required');
  validateMeta(e.Meta);
  const subsets = e.Subsets ?? {};
  for (const [name, subset] of Object.entries(subsets)) {
    if (name === '') fail('Subset defined with empty name');
    if (name.length > 63 || !SUBSET_NAME.test(name)) {
      fail(`Subset ${JSON.stringify(name)} is invalid: must be non-empty and composed of lowercase alphanumerics and dashes, at most 63 characters`);
    }
    if (subset.Filter) {
      try {
        parseFilter(subset.Filter);
      } catch (err) {
        fail(`Filter for subset ${JSON.stringify(name)} is not a valid expression: ${(err as Error).message}`);
      }
    }
  }
  const isSubset = (s: string): boolean => Object.hasOwn(subsets, s);
  if (e.DefaultSubset && !isSubset(e.DefaultSubset)) fail(`DefaultSubset ${JSON.stringify(e.DefaultSubset)} is not a valid subset`);
  const r = e.Redirect;
  if (r) {
    if (Object.keys(e.Failover ?? {}).length > 0) fail('Redirect and Failover cannot both be set');
    if (!r.Service && !r.ServiceSubset && !r.Namespace && !r.Partition && !r.Datacenter && !r.Peer) fail('Redirect is empty');
    if (r.Peer && r.ServiceSubset) fail('Redirect.Peer cannot be set with Redirect.ServiceSubset');
    if (r.Peer && r.Partition) fail('Redirect.Partition cannot be set with Redirect.Peer');
    if (r.Peer && r.Datacenter) fail('Redirect.Peer cannot be set with Redirect.Datacenter');
    if (!r.Service) {
      if (r.ServiceSubset) fail('Redirect.ServiceSubset defined without Redirect.Service');
      if (r.Namespace) fail('Redirect.Namespace defined without Redirect.Service');
      if (r.Partition) fail('Redirect.Partition defined without Redirect.Service');
      if (r.Peer) fail('Redirect.Peer defined without Redirect.Service');
    } else if (r.ServiceSubset && r.Service === e.Name && !isSubset(r.ServiceSubset)) {
      fail(`Redirect.ServiceSubset ${JSON.stringify(r.ServiceSubset)} is not a valid subset of ${JSON.stringify(e.Name)}`);
    }
  }
  for (const [subset, f] of Object.entries(e.Failover ?? {})) {
    const prefix = `Bad Failover[${JSON.stringify(subset)}]: `;
    if (subset !== WILDCARD && !isSubset(subset)) fail(`${prefix}not a valid subset subset`);
    const targets = f.Targets ?? [];
    const datacenters = f.Datacenters ?? [];
    if (!f.Service && !f.ServiceSubset && !f.Namespace && datacenters.length === 0 && targets.length === 0) {
      fail(`${prefix}one of Service, ServiceSubset, Namespace, Targets, or Datacenters is required`);
    }
    const mode = f.Policy?.Mode ?? '';
    if (!['', 'default', 'order-by-locality'].includes(mode)) fail(`${prefix}Policy must be one of '', 'default', or 'order-by-locality'`);
    if (f.ServiceSubset && (!f.Service || f.Service === e.Name) && !isSubset(f.ServiceSubset)) {
      fail(`${prefix}ServiceSubset ${JSON.stringify(f.ServiceSubset)} is not a valid subset of ${JSON.stringify(f.Service ?? '')}`);
    }
    if (datacenters.length > 0 && targets.length > 0) fail(`${prefix}Targets cannot be set with Datacenters`);
    if (f.ServiceSubset && targets.length > 0) fail(`${prefix}Targets cannot be set with ServiceSubset`);
    if (f.Service && targets.length > 0) fail(`${prefix}Targets cannot be set with Service`);
    targets.forEach((t, i) => {
      const tp = `Bad Failover[${JSON.stringify(subset)}].Targets[${i}]: `;
      if (t.Peer && t.ServiceSubset) fail(`${tp}Peer cannot be set with ServiceSubset`);
      if (t.Peer && t.Partition) fail(`${tp}Partition cannot be set with Peer`);
      if (t.Peer && t.Datacenter) fail(`${tp}Peer cannot be set with Datacenter`);
      if (t.Partition && t.Datacenter) fail(`${tp}Partition cannot be set with Datacenter`);
      if (t.ServiceSubset && (!t.Service || t.Service === e.Name) && !isSubset(t.ServiceSubset)) {
        fail(`${tp}ServiceSubset ${JSON.stringify(t.ServiceSubset)} is not a valid subset of ${JSON.stringify(e.Name)}`);
      }
    });
    for (const dc of datacenters) if (dc === '') fail(`Bad Failover[${JSON.stringify(subset)}].Datacenters: found empty datacenter`);
  }
  if (e.ConnectTimeout && parseDuration(e.ConnectTimeout) < 0) fail(`Bad ConnectTimeout '${e.ConnectTimeout}', must be >= 0`);
  if (e.RequestTimeout && parseDuration(e.RequestTimeout) < 0) fail(`Bad RequestTimeout '${e.RequestTimeout}', must be >= 0`);
  const lb = e.LoadBalancer;
  if (lb) {
    const policy = lb.Policy ?? '';
    if (!['', 'random', 'round_robin', 'least_request', 'ring_hash', 'maglev'].includes(policy)) fail(`Bad LoadBalancer policy: ${JSON.stringify(policy)} is not supported`);
    if (policy !== 'ring_hash' && lb.RingHashConfig) fail(`Bad LoadBalancer configuration. RingHashConfig specified for incompatible load balancing policy ${JSON.stringify(policy)}`);
    if (policy !== 'least_request' && lb.LeastRequestConfig) fail(`Bad LoadBalancer configuration. LeastRequestConfig specified for incompatible load balancing policy ${JSON.stringify(policy)}`);
    const hashBased = policy === 'ring_hash' || policy === 'maglev';
    if (!hashBased && (lb.HashPolicies ?? []).length > 0) fail(`Bad LoadBalancer configuration: HashPolicies specified for non-hash-based Policy: ${JSON.stringify(policy)}`);
    (lb.HashPolicies ?? []).forEach((hp, i) => {
      const p = `Bad LoadBalancer HashPolicy[${i}]: `;
      if (hp.Field && !['header', 'cookie', 'query_parameter'].includes(hp.Field)) fail(`${p}${JSON.stringify(hp.Field)} is not a supported field`);
      if (hp.SourceIP && hp.Field) fail(`${p}A single hash policy cannot hash both a source address and a ${JSON.stringify(hp.Field)}`);
      if (hp.SourceIP && hp.FieldValue) fail(`${p}A FieldValue cannot be specified when hashing SourceIP`);
      if (hp.Field && !hp.FieldValue) fail(`${p}Field ${JSON.stringify(hp.Field)} was specified without a FieldValue`);
      if (hp.FieldValue && !hp.Field) fail(`${p}FieldValue requires a Field to apply to`);
      if (hp.CookieConfig) {
        if (hp.Field !== 'cookie') fail(`${p}cookie_config provided for ${JSON.stringify(hp.Field ?? '')}`);
        if (hp.CookieConfig.Session && hp.CookieConfig.TTL && parseDuration(hp.CookieConfig.TTL) !== 0) fail(`${p}a session cookie cannot have an associated TTL`);
      }
    });
  }
}

// --- service-intentions ---------------------------------------------------------------------------------------

/**
 * ServiceIntentionsConfigEntry.normalize: Type defaults to "consul", Methods upper-cased, Precedence computed, and
 * the sources sorted by precedence (highest first, stable). A non-legacy write clears the legacy ID and times.
 */
export function normalizeIntentions(e: ServiceIntentionsEntry, legacyWrite = false): void {
  for (const src of e.Sources ?? []) {
    if (!src.Type) src.Type = 'consul';
    src.Precedence = intentionPrecedence(e.Name ?? '', src.Name ?? '');
    if (legacyWrite) src.LegacyMeta ??= {};
    else {
      delete src.LegacyID;
      delete src.LegacyCreateTime;
      delete src.LegacyUpdateTime;
    }
    for (const perm of src.Permissions ?? []) if (perm.HTTP?.Methods) perm.HTTP.Methods = perm.HTTP.Methods.map((m) => m.toUpperCase());
  }
  if (e.Sources) {
    const sorted = e.Sources.map((s, i) => ({ s, i })).sort((a, b) => (b.s.Precedence ?? 0) - (a.s.Precedence ?? 0) || a.i - b.i);
    e.Sources = sorted.map(({ s }) => s);
  }
}

function wildcardProblem(name: string, namespace: string | undefined): string | undefined {
  const ns = namespace || 'default';
  if (ns !== WILDCARD && ns.includes(WILDCARD)) return "Namespace: wildcard character '*' cannot be used with partial values";
  if (name !== WILDCARD) {
    if (name.includes(WILDCARD)) return "Name: wildcard character '*' cannot be used with partial values";
    if (ns === WILDCARD) return 'Name: exact value cannot follow wildcard namespace';
  }
  return undefined;
}

export function validateIntentions(e: ServiceIntentionsEntry, legacyWrite = false): void {
  if (!e.Name) fail('Name is required');
  const destProblem = wildcardProblem(e.Name!, e.Namespace);
  if (destProblem) fail(destProblem);
  const destIsWild = e.Name === WILDCARD || e.Namespace === WILDCARD;
  if (legacyWrite) {
    if (Object.keys(e.Meta ?? {}).length > 0) fail('Meta must be omitted for legacy intention writes');
  } else validateMeta(e.Meta);
  const sources = e.Sources ?? [];
  if (sources.length === 0) fail('At least one source is required');
  const seen = new Set<string>();
  sources.forEach((src, i) => {
    if (!src.Name) fail(`Sources[${i}].Name is required`);
    const problem = wildcardProblem(src.Name!, src.Namespace);
    if (problem) fail(`Sources[${i}].${problem}`);
    validateEnterpriseMeta(src, `Sources[${i}].`);
    if (src.Peer && src.Partition) fail(`Sources[${i}].Peer: cannot set Peer and Partition at the same time.`);
    if (src.SamenessGroup && src.Partition) fail(`Sources[${i}].SamenessGroup: cannot set SamenessGroup and Partition at the same time`);
    if (src.SamenessGroup && src.Peer) fail(`Sources[${i}].SamenessGroup: cannot set SamenessGroup and Peer at the same time`);
    if ((src.Description ?? '').length > META_VALUE_MAX) fail(`Sources[${i}].Description exceeds maximum length ${META_VALUE_MAX}`);
    if (legacyWrite) {
      if (src.Peer) fail(`Sources[${i}].Peer cannot be set by legacy intentions`);
      if (src.SamenessGroup) fail(`Sources[${i}].SamenessGroup cannot be set by legacy intentions`);
      const lm = src.LegacyMeta ?? {};
      if (Object.keys(lm).length > META_MAX_PAIRS) fail(`Sources[${i}].Meta exceeds maximum element count ${META_MAX_PAIRS}`);
      for (const [k, v] of Object.entries(lm)) {
        if (k.length > META_KEY_MAX) fail(`Sources[${i}].Meta key ${JSON.stringify(k)} exceeds maximum length ${META_KEY_MAX}`);
        if (v.length > META_VALUE_MAX) fail(`Sources[${i}].Meta value for key ${JSON.stringify(k)} exceeds maximum length ${META_VALUE_MAX}`);
      }
      if (!src.LegacyCreateTime) fail(`Sources[${i}].LegacyCreateTime must be set`);
      if (!src.LegacyUpdateTime) fail(`Sources[${i}].LegacyUpdateTime must be set`);
      if (!src.LegacyID) fail(`Sources[${i}].LegacyID must be set`);
    } else {
      if (Object.keys(src.LegacyMeta ?? {}).length > 0) fail(`Sources[${i}].LegacyMeta must be omitted`);
      delete src.LegacyMeta;
      if (src.LegacyCreateTime) fail(`Sources[${i}].LegacyCreateTime must be omitted`);
      if (src.LegacyUpdateTime) fail(`Sources[${i}].LegacyUpdateTime must be omitted`);
      if (src.LegacyID) fail(`Sources[${i}].LegacyID must be omitted`);
    }
    const permissions = src.Permissions ?? [];
    if ((legacyWrite || permissions.length === 0) && src.Action !== 'allow' && src.Action !== 'deny') {
      fail(`Sources[${i}].Action must be set to 'allow' or 'deny'`);
    }
    if (permissions.length > 0 && src.Action) fail(`Sources[${i}].Action must be omitted if Permissions are specified`);
    if (destIsWild && permissions.length > 0) fail(`Sources[${i}].Permissions cannot be specified on intentions with wildcarded destinations`);
    if (src.Type !== 'consul') fail(`Sources[${i}].Type must be set to 'consul'`);
    permissions.forEach((perm, j) => {
      if (perm.Action !== 'allow' && perm.Action !== 'deny') fail(`Sources[${i}].Permissions[${j}].Action must be set to 'allow' or 'deny'`);
      const p = `Sources[${i}].Permissions[${j}].HTTP`;
      const http = perm.HTTP;
      if (!http) return fail(`${p} is required`);
      let parts = 0;
      if (http.PathExact) {
        parts++;
        if (!http.PathExact.startsWith('/')) fail(`${p}.PathExact doesn't start with '/': ${JSON.stringify(http.PathExact)}`);
      }
      if (http.PathPrefix) {
        parts++;
        if (!http.PathPrefix.startsWith('/')) fail(`${p}.PathPrefix doesn't start with '/': ${JSON.stringify(http.PathPrefix)}`);
      }
      if (http.PathRegex) parts++;
      if (parts > 1) fail(`${p} should only contain at most one of PathExact, PathPrefix, or PathRegex`);
      (http.Header ?? []).forEach((h, k) => {
        if (!h.Name) fail(`${p}.Header[${k}] missing required Name field`);
        if (headerParts(h) !== 1) fail(`${p}.Header[${k}] should only contain one of Present, Exact, Prefix, Suffix, or Regex`);
        parts++;
      });
      const methods = http.Methods ?? [];
      const seenMethods = new Set<string>();
      for (const m of methods) {
        if (!HTTP_METHODS.has(m)) fail(`${p}.Methods contains an invalid method ${JSON.stringify(m)}`);
        if (seenMethods.has(m)) fail(`${p}.Methods contains ${JSON.stringify(m)} more than once`);
        seenMethods.add(m);
      }
      if (methods.length > 0) parts++;
      if (parts === 0) fail(`${p} should not be empty`);
    });
    const key = JSON.stringify([src.Peer ?? '', src.SamenessGroup ?? '', src.Namespace || 'default', src.Name]);
    if (seen.has(key)) {
      if (src.Peer) fail(`Sources[${i}] defines peer(${JSON.stringify(src.Peer)}) ${JSON.stringify(src.Name)} more than once`);
      if (src.SamenessGroup) fail(`Sources[${i}] defines sameness-group(${JSON.stringify(src.SamenessGroup)}) ${JSON.stringify(src.Name)} more than once`);
      fail(`Sources[${i}] defines ${JSON.stringify(src.Name)} more than once`);
    }
    seen.add(key);
  });
}

// --- gateways -------------------------------------------------------------------------------------------------

const INGRESS_PROTOCOLS = new Set(['tcp', 'http', 'http2', 'grpc']);
export const isHttpLike = (p: string): boolean => p === 'http' || p === 'http2' || p === 'grpc';

export function normalizeIngress(e: IngressGatewayEntry): void {
  for (const l of e.Listeners ?? []) l.Protocol = (l.Protocol || 'tcp').toLowerCase();
}

function validateGatewayTLS(tls: { TLSMinVersion?: string | undefined; TLSMaxVersion?: string | undefined } | undefined): void {
  for (const v of [tls?.TLSMinVersion, tls?.TLSMaxVersion]) if (v && !TLS_VERSIONS.has(v)) fail(`TLS version ${JSON.stringify(v)} is not supported`);
}

export function validateIngress(e: IngressGatewayEntry): void {
  if (!e.Name) fail('Name is required');
  validateMeta(e.Meta);
  validateGatewayTLS(e.TLS);
  const ports = new Set<number>();
  for (const l of e.Listeners ?? []) {
    const port = l.Port ?? 0;
    if (ports.has(port)) fail(`port ${port} declared on two listeners`);
    ports.add(port);
    const protocol = l.Protocol ?? 'tcp';
    if (!INGRESS_PROTOCOLS.has(protocol)) fail(`protocol must be 'tcp', 'http', 'http2', or 'grpc'. '${protocol}' is an unsupported protocol`);
    const services = l.Services ?? [];
    if (services.length === 0) fail(`No service declared for listener with port ${port}`);
    if (!isHttpLike(protocol) && services.length > 1) {
      fail(`Multiple services per listener are only supported for L7 protocols, 'http', 'grpc' and 'http2' (listener on port ${port})`);
    }
    validateGatewayTLS(l.TLS);
    const hosts = new Set<string>();
    const names = new Set<string>();
    for (const s of services) {
      if (protocol === 'tcp') {
        if (s.Name === WILDCARD) fail(`Wildcard service name is only valid for protocol = 'http' (listener on port ${port})`);
        if ((s.Hosts ?? []).length > 0) fail(`Associating hosts to a service is not supported for the ${protocol} protocol (listener on port ${port})`);
      }
      if (!s.Name) fail(`Service name cannot be blank (listener on port ${port})`);
      if (s.Name === WILDCARD && (s.Hosts ?? []).length > 0) fail(`Associating hosts to a wildcard service is not supported (listener on port ${port})`);
      if (s.Namespace === WILDCARD) fail(`Wildcard namespace is not supported for ingress services (listener on port ${port})`);
      if (names.has(s.Name!)) fail(`Service ${s.Name} cannot be added multiple times (listener on port ${port})`);
      names.add(s.Name!);
      for (const h of s.Hosts ?? []) {
        if (hosts.has(h)) fail(`Hosts must be unique within a specific listener (listener on port ${port})`);
        hosts.add(h);
        if (h === '*') {
          if (e.TLS?.Enabled) fail("Host '*' is not allowed when TLS is enabled, all hosts must be valid DNS records to add as a DNSSAN");
          continue;
        }
        if (!/^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?(:\d+)?$/.test(h)) {
          if (h.replace(/^\*\./, '').includes('*')) fail(`Host ${JSON.stringify(h)} is not valid, a wildcard specifier is only allowed as the leftmost label`);
          fail(`Host ${JSON.stringify(h)} must be a valid DNS hostname`);
        }
      }
    }
  }
}

export function validateTerminating(e: TerminatingGatewayEntry): void {
  if (!e.Name) fail('Name is required');
  validateMeta(e.Meta);
  const seen = new Set<string>();
  for (const s of e.Services ?? []) {
    if (!s.Name) fail('Service name cannot be blank.');
    if (s.Namespace === WILDCARD) fail('Wildcard namespace is not supported for terminating gateway services');
    if (seen.has(s.Name!)) fail(`Service ${JSON.stringify(s.Name)} was specified more than once within a namespace`);
    seen.add(s.Name!);
    if ((s.CertFile || s.KeyFile) && !(s.CAFile && s.CertFile && s.KeyFile)) {
      fail(`Service ${JSON.stringify(s.Name)} must have a CertFile, CAFile, and KeyFile specified for TLS origination`);
    }
  }
}

export { validateEnterpriseMeta };
