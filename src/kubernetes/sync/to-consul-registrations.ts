/**
 * Kubernetes Services → catalog registrations, as consul-k8s's catalog sync builds them
 * (control-plane/catalog/to-consul/resource.go `shouldSync` and `generateRegistrations`). Pure: the syncer feeds it
 * the informers' current objects and diffs the result against the catalog.
 *
 * - Every instance sits on one synthetic node (default `k8s-sync`, address 127.0.0.1, `external-source=kubernetes`).
 * - Name: `<prefix><name>` (`-<namespace>` appended with addK8sNamespaceSuffix), or the `service-name` annotation.
 * - Tags: the k8s tag (default `k8s`) plus `service-tags`; meta `external-source=kubernetes`, `external-k8s-ns`,
 *   `port-<name>` per port, `service-meta-<key>` annotations, and per endpoint `external-k8s-node-name`.
 * - Instances: `spec.externalIPs` when set; else LoadBalancer ingress addresses; NodePort: one per endpoint, at its
 *   node's ExternalIP/InternalIP (per nodePortSyncType) and the node port; ClusterIP: one per endpoint address with
 *   the endpoint's port and a `kubernetes-readiness` check from the endpoint's ready condition.
 * - Service IDs: `<name>-<first 12 hex of sha1("<name>-<address>")>` (consul-k8s's serviceID).
 */
import { createHash } from 'node:crypto';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { CatalogRegistration } from '../../api/types/catalog.ts';
import { annotation, annotationsWithPrefix, parseBool, parseTags } from '../annotations.ts';

export type NodePortSyncType = 'ExternalOnly' | 'ExternalFirst' | 'InternalOnly';

export interface ToConsulOptions {
  /** Sync services without a `service-sync` annotation (consul-k8s `-k8s-default-sync`, default true). */
  defaultSync: boolean;
  /** Namespaces allowed (`*` = all) and denied (deny wins). */
  allowNamespaces: ReadonlySet<string>;
  denyNamespaces: ReadonlySet<string>;
  syncClusterIpServices: boolean;
  nodePortSyncType: NodePortSyncType;
  addK8sNamespaceSuffix: boolean;
  servicePrefix: string;
  k8sTag: string;
  consulNodeName: string;
}

export const DEFAULT_TO_CONSUL_OPTIONS: ToConsulOptions = {
  defaultSync: true,
  allowNamespaces: new Set(['*']),
  denyNamespaces: new Set(['kube-system', 'kube-public']),
  syncClusterIpServices: true,
  nodePortSyncType: 'ExternalFirst',
  addK8sNamespaceSuffix: false,
  servicePrefix: '',
  k8sTag: 'k8s',
  consulNodeName: 'k8s-sync',
};

export const SOURCE_META = { 'external-source': 'kubernetes' } as const;

export function serviceId(name: string, address: string): string {
  return `${name}-${createHash('sha1').update(`${name}-${address}`).digest('hex').slice(0, 12)}`;
}

export function shouldSync(svc: V1Service, options: ToConsulOptions): boolean {
  const ns = svc.metadata?.namespace ?? 'default';
  if (options.denyNamespaces.has(ns)) return false;
  if (!options.allowNamespaces.has('*') && !options.allowNamespaces.has(ns)) return false;
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type === 'ClusterIP' && !options.syncClusterIpServices) return false;
  // ExternalName services are what the other direction writes; they have no instances of their own.
  if (type === 'ExternalName') return false;
  const explicit = parseBool(annotation(svc.metadata?.annotations, 'service-sync'));
  return explicit ?? options.defaultSync;
}

export function consulServiceName(svc: V1Service, options: ToConsulOptions): string {
  const annotated = annotation(svc.metadata?.annotations, 'service-name');
  if (annotated) return annotated.trim();
  const name = `${options.servicePrefix}${svc.metadata?.name ?? ''}`;
  return options.addK8sNamespaceSuffix ? `${name}-${svc.metadata?.namespace ?? 'default'}` : name;
}

/** The port an instance is registered with: the `service-port` annotation (number or port name), else the first. */
function defaultPort(svc: V1Service, nodePort: boolean): number {
  const ports = svc.spec?.ports ?? [];
  const wanted = annotation(svc.metadata?.annotations, 'service-port');
  const numeric = wanted !== undefined && /^\d+$/.test(wanted) ? Number(wanted) : undefined;
  if (numeric !== undefined) return numeric;
  const chosen = (wanted !== undefined ? ports.find((p) => p.name === wanted) : undefined) ?? ports[0];
  if (!chosen) return 0;
  return nodePort && chosen.nodePort ? chosen.nodePort : chosen.port;
}

function endpointPort(svc: V1Service, slice: V1EndpointSlice): number {
  const wanted = annotation(svc.metadata?.annotations, 'service-port');
  if (wanted !== undefined && /^\d+$/.test(wanted)) return Number(wanted);
  const ports = slice.ports ?? [];
  const chosen = (wanted !== undefined ? ports.find((p) => p.name === wanted) : undefined) ?? ports[0];
  return chosen?.port ?? 0;
}

function nodeAddress(node: V1Node | undefined, type: NodePortSyncType): string | undefined {
  const addresses = node?.status?.addresses ?? [];
  const external = addresses.find((a) => a.type === 'ExternalIP')?.address;
  const internal = addresses.find((a) => a.type === 'InternalIP')?.address;
  if (type === 'InternalOnly') return internal;
  if (type === 'ExternalOnly') return external;
  return external ?? internal;
}

export function registrationsFor(
  svc: V1Service,
  slices: readonly V1EndpointSlice[],
  nodes: ReadonlyMap<string, V1Node>,
  options: ToConsulOptions,
): CatalogRegistration[] {
  if (!shouldSync(svc, options)) return [];
  const name = consulServiceName(svc, options);
  const ns = svc.metadata?.namespace ?? 'default';
  const annotations = svc.metadata?.annotations;
  const meta: Record<string, string> = { ...SOURCE_META, 'external-k8s-ns': ns };
  for (const p of svc.spec?.ports ?? []) if (p.name) meta[`port-${p.name}`] = String(p.port);
  Object.assign(meta, annotationsWithPrefix(annotations, 'service-meta-'));
  const extraTags = annotation(annotations, 'service-tags');
  const tags = [options.k8sTag, ...(extraTags ? parseTags(extraTags) : [])];
  const type = svc.spec?.type ?? 'ClusterIP';

  const instance = (address: string, port: number, extraMeta: Record<string, string> = {}, ready?: boolean): CatalogRegistration => {
    const id = serviceId(name, address);
    return {
      Node: options.consulNodeName,
      Address: '127.0.0.1',
      NodeMeta: { ...SOURCE_META },
      SkipNodeUpdate: true,
      Service: { ID: id, Service: name, Tags: tags, Meta: { ...meta, ...extraMeta }, Address: address, Port: port },
      ...(ready === undefined ? {} : {
        Check: {
          CheckID: `${ns}/${id}`,
          Name: 'Kubernetes Readiness Check',
          Type: 'kubernetes-readiness',
          ServiceID: id,
          Status: ready ? 'passing' : 'critical',
          Output: ready ? 'Kubernetes health checks passing' : 'Kubernetes health checks failing',
        },
      }),
    };
  };

  const out: CatalogRegistration[] = [];
  const seen = new Set<string>();
  const push = (reg: CatalogRegistration): void => {
    if (seen.has(reg.Service!.ID!)) return;
    seen.add(reg.Service!.ID!);
    out.push(reg);
  };
  const externalIps = svc.spec?.externalIPs ?? [];
  if (externalIps.length > 0) {
    for (const ip of externalIps) push(instance(ip, defaultPort(svc, false)));
    return out;
  }
  if (type === 'LoadBalancer') {
    for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
      const address = ingress.ip || ingress.hostname;
      if (address) push(instance(address, defaultPort(svc, false)));
    }
    return out;
  }
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      const endpointMeta: Record<string, string> = endpoint.nodeName ? { 'external-k8s-node-name': endpoint.nodeName } : {};
      for (const address of endpoint.addresses ?? []) {
        if (type === 'NodePort') {
          // One instance per endpoint, reachable at its node's address and the node port (consul-k8s keys the ID
          // by the endpoint address, so two pods on one node are two instances).
          if (!endpoint.nodeName) continue;
          const host = nodeAddress(nodes.get(endpoint.nodeName), options.nodePortSyncType);
          if (!host) continue;
          const reg = instance(host, defaultPort(svc, true), endpointMeta);
          reg.Service!.ID = serviceId(name, address);
          push(reg);
        } else {
          push(instance(address, endpointPort(svc, slice), endpointMeta, endpoint.conditions?.ready === true));
        }
      }
    }
  }
  return out;
}
