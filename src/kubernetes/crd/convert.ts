/**
 * A CRD's `spec` (camelCase, as consul-k8s's Go types serialise) → a configuration entry (Consul's PascalCase).
 * consul-k8s converts each type by hand (api/v1alpha1/*_types.go ToConsul); the field names map one to one, so
 * Meshgate converts generically, with the exceptions those files make: acronyms Consul spells in capitals (HTTP, TLS,
 * SNI, …), maps whose keys are the user's data and must stay as written (resolver `subsets`, `meta`, proxy `config`,
 * header `add`/`set`), and ServiceIntentions' `destination` becoming the entry's `Name`. The entry carries the meta
 * consul-k8s writes: `external-source: kubernetes` and `consul.hashicorp.com/source-datacenter`, which is how the
 * controller knows an entry is its own.
 */
import type { CrdKind } from './kinds.ts';

export const SOURCE_DATACENTER_KEY = 'consul.hashicorp.com/source-datacenter';

const ACRONYMS: Record<string, string> = {
  http: 'HTTP', https: 'HTTPS', tls: 'TLS', sni: 'SNI', externalSNI: 'ExternalSNI', id: 'ID', ttl: 'TTL', grpc: 'GRPC',
  mutualTLSMode: 'MutualTLSMode', localRequestTimeoutMs: 'LocalRequestTimeoutMs', jwt: 'JWT', tcp: 'TCP',
};
/** Keys whose values are maps keyed by the user's own names. */
const DATA_MAPS = new Set(['subsets', 'meta', 'config', 'add', 'set', 'envoyExtensions']);

function pascal(key: string): string {
  return ACRONYMS[key] ?? key.charAt(0).toUpperCase() + key.slice(1);
}

export function toPascal(value: unknown, keepKeys = false): unknown {
  if (Array.isArray(value)) return value.map((v) => toPascal(v));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (keepKeys) out[k] = k === 'config' ? v : toPascal(v);
    else out[pascal(k)] = DATA_MAPS.has(k) ? (k === 'config' ? v : toPascal(v, true)) : toPascal(v);
  }
  return out;
}

export function toConfigEntry(kind: CrdKind, object: { metadata?: { name?: string }; spec?: Record<string, unknown> }, datacenter: string): Record<string, unknown> {
  const spec = { ...(object.spec ?? {}) };
  if (kind.kind === 'ServiceIntentions') delete spec['destination'];
  const body = toPascal(spec) as Record<string, unknown>;
  const meta = { ...((body['Meta'] as Record<string, string> | undefined) ?? {}), 'external-source': 'kubernetes', [SOURCE_DATACENTER_KEY]: datacenter };
  return { ...body, Kind: kind.entryKind, Name: kind.entryName(object), Meta: meta };
}
