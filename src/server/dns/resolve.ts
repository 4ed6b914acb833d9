/**
 * Answers a parsed lookup from the state store's in-memory catalog view — the rows and checks that
 * `/v1/health/service` reads — as DNS records. Health follows Consul's DNS with `only_passing = false`: an
 * instance with any critical check (its own or its node's) is left out, a warning one stays. A service with no
 * instance left is NXDOMAIN, as Consul checks after filtering (hashicorp/consul#1143).
 *
 * ACLs: every lookup is judged by the DNS interface's token (`acl.tokens.dns`, else the default token, else the
 * anonymous one), resolved per query. Consul's DNS asks the same catalog and health RPCs as the HTTP API, so their
 * filters apply: an instance needs `service:read` and `node:read` on its node (filterCheckServiceNodes), a node
 * lookup `node:read` (filterNodeServices answers no node). What is filtered away is simply not there, so a name with
 * nothing readable left is NXDOMAIN, as for a name with no instances (agent/dns.go answers an empty result so).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Answer, SrvAnswer, StringAnswer } from 'dns-packet';
import { getNode, instanceChecks, listConnectInstances, listNodes, listServiceInstances, listServices } from '../catalog/index.ts';
import type { StoredNode, StoredService } from '../catalog/index.ts';
import type { StoreReader, StoredRow } from '../store/types.ts';
import { addressToHex, type Lookup } from './names.ts';
import { preparedQueryInstances } from './query.ts';
import { ALLOW_ALL_AUTHORIZER, type Authorizer } from '../acl/authorizer.ts';

export interface ResolveContext {
  readonly store: StoreReader;
  /** Normalized, e.g. `consul.` */
  readonly domain: string;
  readonly datacenter: string;
  readonly ttl: number;
  /** The DNS token's permissions, resolved for each query; absent = ACLs disabled. */
  readonly authorizer?: () => Authorizer;
}

export type QType = 'A' | 'AAAA' | 'SRV' | 'ANY' | string;

export type Resolution =
  | { rcode: 'NOERROR'; answers: Answer[]; additionals: Answer[] }
  | { rcode: 'NXDOMAIN' };

const NOTHING: Resolution = { rcode: 'NOERROR', answers: [], additionals: [] };

export function resolve(ctx: ResolveContext, qname: string, qtype: QType, lookup: Lookup): Resolution {
  const authz = ctx.authorizer?.() ?? ALLOW_ALL_AUTHORIZER;
  switch (lookup.kind) {
    case 'apex':
      return NOTHING;
    case 'unknown':
      return { rcode: 'NXDOMAIN' };
    case 'node': {
      if (!sameDatacenter(ctx, lookup.datacenter)) return { rcode: 'NXDOMAIN' };
      const node = findNode(ctx.store, lookup.node);
      if (!node || !authz.nodeRead(node.Node)) return { rcode: 'NXDOMAIN' };
      return { rcode: 'NOERROR', answers: addressRecords(ctx, qname, qtype, node.Address), additionals: [] };
    }
    case 'addr':
      if (!sameDatacenter(ctx, lookup.datacenter)) return { rcode: 'NXDOMAIN' };
      return { rcode: 'NOERROR', answers: addressRecords(ctx, qname, qtype, lookup.address), additionals: [] };
    case 'service':
      if (!sameDatacenter(ctx, lookup.datacenter)) return { rcode: 'NXDOMAIN' };
      return serviceRecords(ctx, authz, qname, qtype, lookup.service, lookup.tag, lookup.datacenter ?? ctx.datacenter);
    case 'connect': {
      if (!sameDatacenter(ctx, lookup.datacenter)) return { rcode: 'NXDOMAIN' };
      // Health.ServiceNodes with Connect=true: nothing at all without service:read on the destination.
      if (!authz.serviceRead(lookup.service)) return { rcode: 'NXDOMAIN' };
      const instances = readable(authz, healthy(ctx.store, connectRows(ctx.store, lookup.service)));
      if (instances.length === 0) return { rcode: 'NXDOMAIN' };
      return instanceRecords(ctx, qname, qtype, instances, lookup.datacenter ?? ctx.datacenter);
    }
    case 'virtual': {
      // Catalog.VirtualIPForService: the IP or nothing (NOERROR without an answer), never NXDOMAIN.
      if (!authz.serviceRead(lookup.service)) return NOTHING;
      const ip = virtualIp(ctx.store, lookup.service);
      return { rcode: 'NOERROR', answers: ip ? addressRecords(ctx, qname, qtype, ip) : [], additionals: [] };
    }
    case 'query': {
      if (!sameDatacenter(ctx, lookup.datacenter)) return { rcode: 'NXDOMAIN' };
      const answer = preparedQueryInstances(ctx.store, lookup.query, ctx.datacenter);
      const instances = answer ? readable(authz, answer.instances) : [];
      if (!answer || instances.length === 0) return { rcode: 'NXDOMAIN' };
      const withTtl = answer.ttl !== undefined ? { ...ctx, ttl: answer.ttl } : ctx;
      return instanceRecords(withTtl, qname, qtype, instances, lookup.datacenter ?? ctx.datacenter);
    }
  }
}

function sameDatacenter(ctx: ResolveContext, dc: string | undefined): boolean {
  return dc === undefined || dc === ctx.datacenter.toLowerCase();
}

export interface Instance {
  readonly node: StoredNode;
  readonly service: StoredService;
  readonly address: string;
  readonly weight: number;
}

/** The healthy instances of `name` (optionally with `tag`), in random order: Consul shuffles every answer. */
export function healthyInstances(store: StoreReader, name: string, tag?: string): Instance[] {
  const rows = serviceRows(store, name).filter((row) => tag === undefined || row.value.Tags.some((t) => t.toLowerCase() === tag));
  return healthy(store, rows);
}

/** The instances among `rows` without a critical check (their own or their node's), shuffled. */
function healthy(store: StoreReader, rows: readonly StoredRow<StoredService>[]): Instance[] {
  const out: Instance[] = [];
  for (const row of rows) {
    const svc = row.value;
    const node = getNode(store, svc.Node)?.value;
    if (!node) continue;
    const statuses = instanceChecks(store, svc.Node, svc.ID).map((c) => c.value.Status);
    if (statuses.includes('critical')) continue;
    const warning = statuses.includes('warning');
    out.push({
      node,
      service: svc,
      address: svc.Address || node.Address,
      weight: (warning ? svc.Weights?.Warning : svc.Weights?.Passing) ?? 1,
    });
  }
  return shuffle(out);
}

/** Service names match case-insensitively in Consul's DNS; the store's index is exact, so fall back to a scan. */
function serviceRows(store: StoreReader, name: string) {
  const exact = listServiceInstances(store, name);
  if (exact.length > 0) return exact;
  return listServices(store).filter((r) => r.value.Service.toLowerCase() === name);
}

/** The connect-capable instances of `name`; the name matches case-insensitively, as service names do here. */
function connectRows(store: StoreReader, name: string): StoredRow<StoredService>[] {
  const exact = listConnectInstances(store, name);
  if (exact.length > 0) return exact;
  const canonical = listServices(store).find((r) => r.value.Service.toLowerCase() === name)?.value.Service;
  return canonical ? listConnectInstances(store, canonical) : [];
}

/**
 * The service's virtual IP: the `consul-virtual` tagged address its instances carry (what Consul's catalog sets on
 * the services it assigned one), else a `virtual` one (what consul-k8s registers for a ClusterIP). Meshgate's
 * catalog does not assign virtual IPs itself; a service without such an address has none.
 */
function virtualIp(store: StoreReader, name: string): string | undefined {
  for (const tag of ['consul-virtual', 'virtual']) {
    for (const row of serviceRows(store, name)) {
      const address = row.value.TaggedAddresses?.[tag]?.Address;
      if (address && (isIPv4(address) || isIPv6(address))) return address;
    }
  }
  return undefined;
}

function findNode(store: StoreReader, name: string): StoredNode | undefined {
  return getNode(store, name)?.value ?? listNodes(store).find((r) => r.value.Node.toLowerCase() === name)?.value;
}

/** The instances the token may see: `service:read` on the service and `node:read` on its node. */
function readable(authz: Authorizer, instances: Instance[]): Instance[] {
  if (authz === ALLOW_ALL_AUTHORIZER) return instances;
  return instances.filter((i) => authz.serviceRead(i.service.Service) && authz.nodeRead(i.node.Node));
}

function serviceRecords(
  ctx: ResolveContext, authz: Authorizer, qname: string, qtype: QType, name: string, tag: string | undefined, dc: string,
): Resolution {
  const instances = readable(authz, healthyInstances(ctx.store, name, tag));
  if (instances.length === 0) return { rcode: 'NXDOMAIN' };
  return instanceRecords(ctx, qname, qtype, instances, dc);
}

/** SRV (with the targets' addresses as additionals) or address records for instances, in their order. */
function instanceRecords(ctx: ResolveContext, qname: string, qtype: QType, instances: readonly Instance[], dc: string): Resolution {
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  if (qtype === 'SRV') {
    const targets = new Set<string>();
    for (const inst of instances) {
      const target = srvTarget(ctx, inst, dc);
      const srv: SrvAnswer = {
        type: 'SRV', name: qname, class: 'IN', ttl: ctx.ttl,
        data: { priority: 1, weight: inst.weight, port: inst.service.Port, target },
      };
      answers.push(srv);
      if (targets.has(target)) continue;
      targets.add(target);
      additionals.push(...addressRecords(ctx, target, 'ANY', inst.address));
    }
    return { rcode: 'NOERROR', answers, additionals };
  }
  const seen = new Set<string>();
  for (const inst of instances) {
    if (seen.has(inst.address)) continue;
    seen.add(inst.address);
    answers.push(...addressRecords(ctx, qname, qtype, inst.address));
  }
  return { rcode: 'NOERROR', answers, additionals };
}

/**
 * Consul's SRV target: `<node>.node.<dc>.<domain>` when the instance answers on its node's address, and
 * `<hex address>.addr.<dc>.<domain>` when the service has an address of its own (so two instances on one node with
 * different addresses do not share a name).
 */
function srvTarget(ctx: ResolveContext, inst: Instance, dc: string): string {
  const hex = inst.address !== inst.node.Address ? addressToHex(inst.address) : undefined;
  const stem = hex ? `${hex}.addr` : `${inst.node.Node}.node`;
  return `${stem}.${dc}.${ctx.domain}`.replace(/\.$/, '');
}

/** A for an IPv4 address, AAAA for IPv6; ANY gives whichever the address is. Host names are not answered. */
function addressRecords(ctx: ResolveContext, name: string, qtype: QType, address: string): StringAnswer[] {
  if (isIPv4(address) && (qtype === 'A' || qtype === 'ANY')) return [{ type: 'A', name, class: 'IN', ttl: ctx.ttl, data: address }];
  if (isIPv6(address) && (qtype === 'AAAA' || qtype === 'ANY')) return [{ type: 'AAAA', name, class: 'IN', ttl: ctx.ttl, data: address }];
  return [];
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
