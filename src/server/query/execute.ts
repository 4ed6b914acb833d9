/**
 * Running a resolved query against the catalog, as Consul's PreparedQuery.execute and Execute do
 * (agent/consul/prepared_query_endpoint.go): the service's instances (or, with `Connect`, its Connect-capable
 * ones: proxies for it and native instances), FilterIgnore (a critical check drops an instance; with OnlyPassing,
 * anything but passing does; IgnoreCheckIDs are not counted), NodeMeta, ServiceMeta, Tags (all required, none of
 * the `!`-prefixed, case-insensitive), a shuffle, the distance sort from the source (`?near=` beats the query's
 * Near; `_agent` is this agent, `_ip` the node with the caller's address), the source node moved first when it
 * is among the first ten, then Limit. With one datacenter, failover finds no other to try: Failovers is 0.
 */
import type { ServiceEntry } from '../../api/types.ts';
import { getNode, instanceChecks, listNodes, listServiceInstances, listServices } from '../catalog/index.ts';
import type { StoredCheck, StoredNode, StoredService } from '../catalog/tables.ts';
import { serviceEntryToWire } from '../catalog/wire.ts';
import { sortByNear } from '../coordinate/near.ts';
import type { StoreReader, StoredRow } from '../store/types.ts';
import type { StoredQuery } from './tables.ts';

/** structs.PreparedQueryExecuteResponse as the HTTP API sends it. */
export interface ExecuteResponse {
  Service: string;
  Nodes: ServiceEntry[];
  DNS: { TTL: string };
  Datacenter: string;
  Failovers: number;
}

export interface ExecuteOptions {
  datacenter: string;
  /** This agent's node (for `_agent`). */
  agentNode: string;
  /** `?near=`, which takes priority over the query's Near. */
  near?: string;
  /** The caller's address (for `_ip`). */
  sourceIp?: string;
  /** `?limit=`; 0 for none. */
  limit?: number;
  /** `?connect=true` forces a Connect lookup. */
  connect?: boolean;
}

/** One instance a query answers, as rows (the HTTP answer and DNS records are made from these). */
export interface QueryMatch {
  node: StoredRow<StoredNode>;
  service: StoredRow<StoredService>;
  checks: StoredRow<StoredCheck>[];
}

export function executeQuery(store: StoreReader, query: StoredQuery, options: ExecuteOptions): ExecuteResponse {
  const nodes = runQuery(store, query, options).map((m) => serviceEntryToWire(m.node, m.service, m.checks));
  return { Service: query.Service.Service, Nodes: nodes, DNS: { TTL: query.DNS.TTL }, Datacenter: options.datacenter, Failovers: 0 };
}

/** The instances a query answers, in answer order. */
export function runQuery(store: StoreReader, query: StoredQuery, options: ExecuteOptions): QueryMatch[] {
  const s = query.Service;
  const ignore = new Set(s.IgnoreCheckIDs ?? []);
  const tags = (s.Tags ?? []).map((t) => t.toLowerCase());
  const must = tags.filter((t) => !t.startsWith('!'));
  const not = tags.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  let nodes: QueryMatch[] = [];
  for (const svc of candidates(store, s.Service, s.Connect || options.connect === true)) {
    const node = getNode(store, svc.value.Node);
    if (!node) continue;
    const checks = instanceChecks(store, svc.value.Node, svc.value.ID);
    const unhealthy = checks.some((c) => !ignore.has(c.value.CheckID) && (c.value.Status === 'critical' || (s.OnlyPassing && c.value.Status !== 'passing')));
    if (unhealthy) continue;
    if (!satisfies(node.value.Meta, s.NodeMeta) || !satisfies(svc.value.Meta, s.ServiceMeta)) continue;
    const have = new Set(svc.value.Tags.map((t) => t.toLowerCase()));
    if (!must.every((t) => have.has(t)) || not.some((t) => have.has(t))) continue;
    nodes.push({ node, service: svc, checks });
  }
  shuffle(nodes);
  let source = options.near !== undefined && options.near !== '' ? options.near : s.Near;
  if (source === '_agent') source = options.agentNode;
  else if (source === '_ip') source = listNodes(store).find((n) => options.sourceIp !== undefined && n.value.Address === options.sourceIp)?.value.Node ?? '';
  if (source !== '') {
    nodes = sortByNear(store, source, nodes, (m) => m.node.value.Node);
    const at = nodes.slice(0, 10).findIndex((m) => m.node.value.Node === source);
    if (at > 0) [nodes[0], nodes[at]] = [nodes[at]!, nodes[0]!];
  }
  if (options.limit && options.limit > 0) nodes = nodes.slice(0, options.limit);
  return nodes;
}

/** Instances of the service (its memdb index folds case: exact first, then a case-insensitive scan). */
function candidates(store: StoreReader, name: string, connect: boolean): StoredRow<StoredService>[] {
  if (connect) {
    const lower = name.toLowerCase();
    return listServices(store).filter((r) =>
      (r.value.Kind === 'connect-proxy' && r.value.Proxy?.DestinationServiceName?.toLowerCase() === lower) ||
      (r.value.Connect?.Native === true && r.value.Service.toLowerCase() === lower));
  }
  const exact = listServiceInstances(store, name);
  if (exact.length > 0) return exact;
  const lower = name.toLowerCase();
  return listServices(store).filter((r) => r.value.Service.toLowerCase() === lower);
}

/** structs.SatisfiesMetaFilters. */
function satisfies(meta: Record<string, string>, filters: Record<string, string> | null): boolean {
  if (!filters) return true;
  return Object.entries(filters).every(([k, v]) => Object.hasOwn(meta, k) && meta[k] === v);
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
