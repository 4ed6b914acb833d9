/**
 * Options and metadata shared by every endpoint: the query-string knobs of a read (blocking index and wait,
 * consistency mode, filter) and what Consul reports back in its X-Consul-* headers.
 */

/** Per-request options of a read. Names follow the Go client's QueryOptions; wire names are in the comments. */
export interface QueryOptions {
  /** `?dc=` — target datacenter; defaults to the client's. */
  datacenter?: string;
  /** `?index=` — blocking query: wait until the result's index exceeds this. */
  index?: number;
  /** `?wait=` — maximum wait of a blocking query, milliseconds (sent as a Go duration, e.g. "5m"). Consul caps at 10m. */
  waitMs?: number;
  /** `X-Consul-Token` header; overrides the client's token. */
  token?: string;
  /** `?filter=` — bexpr filter expression. */
  filter?: string;
  /** `?stale` — any server may answer. */
  stale?: boolean;
  /** `?consistent` — leader verifies its leadership before answering. */
  consistent?: boolean;
  /** `?near=` — sort by round-trip time from this node (`_agent` for the agent). */
  near?: string;
  /** `?cached` — agent-cached result where supported. */
  cached?: boolean;
  /** `Cache-Control: max-age=` for cached reads, seconds. */
  maxAgeSeconds?: number;
  /** `?node-meta=key:value` pairs. */
  nodeMeta?: Record<string, string>;
  /** `?ns=` — namespace (Enterprise; passed through). */
  namespace?: string;
  /** `?partition=` (Enterprise; passed through). */
  partition?: string;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/** Per-request options of a write. */
export interface WriteOptions {
  datacenter?: string;
  token?: string;
  namespace?: string;
  partition?: string;
  signal?: AbortSignal;
}

/** What a read learns from the response headers. */
export interface QueryMeta {
  /** `X-Consul-Index`: the index to pass as `index` for the next blocking query. 0 when absent. */
  LastIndex: number;
  /** `X-Consul-KnownLeader`. */
  KnownLeader: boolean;
  /** `X-Consul-LastContact`, milliseconds since the answering server last heard from the leader. */
  LastContact: number;
  /** `X-Consul-Translate-Addresses`. */
  AddressTranslationEnabled: boolean;
  /** `X-Cache: HIT` (agent cache). */
  CacheHit: boolean;
  /** `Age` header with `?cached`, seconds. */
  CacheAge: number;
  /** `X-Consul-Default-ACL-Policy` ("allow" | "deny"), when sent. */
  DefaultACLPolicy?: string;
  /** `X-Consul-Results-Filtered-By-ACLs`. */
  ResultsFilteredByACLs: boolean;
  /** Wall-clock milliseconds the request took (client side). */
  RequestTime: number;
}

/** What a write learns. */
export interface WriteMeta {
  RequestTime: number;
}

/** A read's answer: the decoded body and its metadata. */
export interface QueryResult<T> {
  value: T;
  meta: QueryMeta;
}

/** Health states of a check, as Consul spells them. `any` is a filter value only. */
export const HealthStatus = {
  Any: 'any',
  Passing: 'passing',
  Warning: 'warning',
  Critical: 'critical',
  Maintenance: 'maintenance',
} as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];
/** A check's actual status (not a filter). */
export type CheckStatus = 'passing' | 'warning' | 'critical';
