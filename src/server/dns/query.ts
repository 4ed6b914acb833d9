/**
 * `<query>.query.<domain>`: a prepared query run as Consul's DNS runs one (agent/dns.go preparedQueryLookup): the
 * name resolves as the HTTP API's execute does (ID, name, template prefix), its instances are the query's answer —
 * healthy only, as execute filters them — and the query's `DNS.TTL`, when set, is the records' TTL. There is no
 * agent source over DNS here, so a query's `Near: "_agent"` does not sort.
 */
import type { StoreReader } from '../store/types.ts';
import { runQuery } from '../query/execute.ts';
import { tryParseGoDuration } from '../query/duration.ts';
import { resolveQuery } from '../query/resolve.ts';
import type { Instance } from './resolve.ts';

export function preparedQueryInstances(store: StoreReader, name: string, datacenter: string): { instances: Instance[]; ttl?: number } | undefined {
  const resolved = resolveQuery(store, name);
  if (!resolved) return undefined;
  const matches = runQuery(store, resolved.query, { datacenter, agentNode: '' });
  const instances = matches.map((m): Instance => {
    const warning = m.checks.some((c) => c.value.Status === 'warning');
    return {
      node: m.node.value,
      service: m.service.value,
      address: m.service.value.Address || m.node.value.Address,
      weight: (warning ? m.service.value.Weights?.Warning : m.service.value.Weights?.Passing) ?? 1,
    };
  });
  const ttlMs = resolved.query.DNS.TTL !== '' ? tryParseGoDuration(resolved.query.DNS.TTL) : undefined;
  return { instances, ...(ttlMs !== undefined ? { ttl: Math.floor(ttlMs / 1000) } : {}) };
}
