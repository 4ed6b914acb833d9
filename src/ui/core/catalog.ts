/**
 * The catalog as the services pages need it, from public endpoints only: `/v1/catalog/services` (blocking) says
 * which services exist, `/v1/health/state/any` (blocking) carries every check, and on each change of the service
 * list the instances of every service are read once (`/v1/catalog/service/<name>`, a few at a time) for their
 * kind, meta and proxy upstreams. That fan-out runs only when the catalog index moves — never on a timer.
 */
import { useEffect, useMemo, useState } from 'react';
import type { CatalogService, HealthCheck } from '../../api/types.ts';
import { useBlocking, type Live } from './blocking.ts';
import { ApiError, consulJson, enc } from './http.ts';
import { useToken } from './token.ts';
import { worst, type Health } from './health.ts';

export interface ServiceSummary {
  readonly name: string;
  readonly tags: string[];
  /** `typical` for ordinary services, else Consul's Kind (`connect-proxy`, `mesh-gateway`, …). */
  readonly kinds: string[];
  /** Environments the instances come from: `kubernetes`, `external`, `agent`, or another `external-source`. */
  readonly sources: string[];
  readonly instances: CatalogService[];
  readonly health: Health;
  readonly counts: { passing: number; warning: number; critical: number };
}

/**
 * Where an instance lives, from Consul's conventions: consul-k8s's catalog sync and other syncs set `external-source`,
 * its endpoints controller marks injected pods with `k8s-namespace`, ESM nodes carry `external-node`.
 */
export function sourceOf(instance: CatalogService): string {
  const source = instance.ServiceMeta?.['external-source'];
  if (source) return source;
  if (instance.ServiceMeta?.['k8s-namespace']) return 'kubernetes';
  if (instance.NodeMeta?.['external-node'] === 'true') return 'external';
  return 'agent';
}

export function kindOf(instance: CatalogService): string {
  return instance.ServiceKind && instance.ServiceKind !== '' ? instance.ServiceKind : 'typical';
}

/** Every check, live; node checks (empty ServiceID) count for every instance on the node, as in Consul's UI. */
export function useChecks(): Live<HealthCheck[]> {
  return useBlocking<HealthCheck[]>('/v1/health/state/any');
}

export function instanceHealth(checks: readonly HealthCheck[], node: string, serviceId: string): Health {
  return worst(checks.filter((c) => c.Node === node && (c.ServiceID === serviceId || c.ServiceID === '')).map((c) => c.Status));
}

async function pool<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

export interface Catalog {
  readonly names: Live<Record<string, string[]>>;
  readonly instances: Map<string, CatalogService[]> | undefined;
  readonly instancesError: ApiError | undefined;
}

export function useCatalog(): Catalog {
  const names = useBlocking<Record<string, string[]>>('/v1/catalog/services');
  const token = useToken()?.secretId;
  const [instances, setInstances] = useState<Map<string, CatalogService[]>>();
  const [instancesError, setError] = useState<ApiError>();
  useEffect(() => {
    if (names.data === undefined) return undefined;
    const controller = new AbortController();
    const list = Object.keys(names.data).sort();
    pool(list, 4, (name) => consulJson<CatalogService[]>(`/v1/catalog/service/${enc(name)}`, { signal: controller.signal }))
      .then((rows) => {
        if (controller.signal.aborted) return;
        setInstances(new Map(list.map((name, i) => [name, rows[i] ?? []])));
        setError(undefined);
      })
      .catch((err: unknown) => {
        if (!controller.signal.aborted) setError(err instanceof ApiError ? err : new ApiError(0, String(err), '/v1/catalog/service'));
      });
    return () => controller.abort();
  }, [names.index, names.data, token]);
  return { names, instances, instancesError };
}

export function summarize(catalog: Catalog, checks: readonly HealthCheck[] | undefined): ServiceSummary[] | undefined {
  const names = catalog.names.data;
  if (names === undefined) return undefined;
  return Object.keys(names).sort().map((name) => {
    const instances = catalog.instances?.get(name) ?? [];
    const counts = { passing: 0, warning: 0, critical: 0 };
    const healths: Health[] = [];
    for (const c of checks ?? []) {
      if (c.ServiceName !== name) continue;
      if (c.Status === 'passing' || c.Status === 'warning' || c.Status === 'critical') counts[c.Status]++;
    }
    for (const i of instances) healths.push(instanceHealth(checks ?? [], i.Node, i.ServiceID));
    return {
      name,
      tags: names[name] ?? [],
      kinds: [...new Set(instances.map(kindOf))],
      sources: [...new Set(instances.map(sourceOf))],
      instances,
      health: worst(healths.length > 0 ? healths : ['passing']),
      counts,
    };
  });
}

export function useServiceSummaries(): { catalog: Catalog; checks: Live<HealthCheck[]>; summaries: ServiceSummary[] | undefined } {
  const catalog = useCatalog();
  const checks = useChecks();
  const summaries = useMemo(() => summarize(catalog, checks.data), [catalog, checks.data]);
  return { catalog, checks, summaries };
}
