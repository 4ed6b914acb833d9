/**
 * One injected pod behind a Kubernetes Service → its two catalog registrations, as consul-k8s's endpoints
 * controller builds them (control-plane/connect-inject/controllers/endpoints/endpoints_controller.go,
 * createServiceRegistrations, processUpstreams, consulTags, getHealthCheckStatusReason). Pure: the controller feeds
 * it the informers' objects and diffs the result against the catalog.
 *
 * - Node: `<k8s node>-virtual` (consul-k8s's common.ConsulNodeNameFromK8sNode) at the pod's hostIP, node meta
 *   `synthetic-node=true`, written with SkipNodeUpdate.
 * - Service: the Endpoints' name, or the pod's `connect-service` annotation when it names one service; ID
 *   `<pod>-<service>`; the pod IP and the `connect-service-port` (a number or a container port's name); tags from
 *   `service-tags` (`$POD_NAME` interpolated); meta `pod-name`, `pod-uid`, `k8s-service-name`, `k8s-namespace`,
 *   `managed-by`, `synthetic-node` plus `service-meta-<key>` annotations.
 * - Proxy: `connect-proxy` `<service>-sidecar-proxy`, ID `<pod>-<service>-sidecar-proxy`, port 20000 (+ the index of
 *   a multi-port pod's service), destination and local service 127.0.0.1:<port>, upstreams from
 *   `connect-service-upstreams` (`name:port[:dc]`, `name.svc[.x.peer|.x.dc]:port`, `prepared_query:name:port`).
 * - Health: one `kubernetes-readiness` check per instance, "Kubernetes Readiness Check", CheckID `<ns>/<service ID>`,
 *   passing ("Kubernetes health checks passing") for a ready address, critical (`Pod "<ns>/<name>" is not ready`)
 *   for a not-ready one, critical "is terminating" for a pod being deleted.
 */
import type { V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import type { CatalogRegistration } from '../../api/types/catalog.ts';
import { annotation, annotationsWithPrefix, parseTags } from '../annotations.ts';
import { portValue } from '../ports.ts';
import { exposePaths, transparentProxyEnabled, virtualAddress, VIRTUAL_TAGGED_ADDRESS } from './tproxy.ts';

export { portValue };

/** What a registration needs beyond the pod and its Endpoints. */
export interface RegistrationContext {
  /** The Kubernetes Service of the Endpoints: a transparent-proxy pod's virtual address comes from it. */
  service?: V1Service | undefined;
  /** Overwrite probes of transparent-proxy pods unless annotated (`-transparent-proxy-default-overwrite-probes`, default true). */
  overwriteProbesDefault?: boolean | undefined;
}

/** What every instance this controller writes carries in `managed-by`; instances without it are never touched. */
export const MANAGED_BY = 'meshgate-endpoints-controller';
export const CHECK_TYPE = 'kubernetes-readiness';
export const CHECK_NAME = 'Kubernetes Readiness Check';
export const PASSING_OUTPUT = 'Kubernetes health checks passing';
export const PROXY_DEFAULT_INBOUND_PORT = 20000;

export type HealthStatus = 'passing' | 'critical';

export function consulNodeName(k8sNode: string): string {
  return `${k8sNode}-virtual`;
}

export function isInjected(pod: V1Pod): boolean {
  return annotation(pod.metadata?.annotations as Record<string, string> | undefined, 'connect-inject-status') === 'injected';
}

/** consul-k8s's serviceName: the Endpoints' name unless the pod's annotation names one service. */
export function serviceName(pod: V1Pod, endpoints: V1Endpoints): string {
  const annotated = annotation(pod.metadata?.annotations as Record<string, string> | undefined, 'connect-service');
  return annotated && !annotated.includes(',') ? annotated : (endpoints.metadata?.name ?? '');
}

export function serviceIds(pod: V1Pod, endpoints: V1Endpoints): { service: string; proxy: string } {
  const name = serviceName(pod, endpoints);
  return { service: `${pod.metadata?.name}-${name}`, proxy: `${pod.metadata?.name}-${name}-sidecar-proxy` };
}

function multiPortIndex(pod: V1Pod, endpoints: V1Endpoints): number {
  const names = (annotation(pod.metadata?.annotations as Record<string, string> | undefined, 'connect-service') ?? '').split(',');
  return names.indexOf(serviceName(pod, endpoints));
}

/** `connect-service-upstreams` → proxy upstreams (processUpstreams without Consul Enterprise namespaces/partitions). */
export function parseUpstreams(pod: V1Pod, raw: string | undefined): Array<Record<string, unknown>> {
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const parts = entry.split(':');
    const head = parts[0]!.trim();
    if (head === 'prepared_query') {
      if (parts.length < 3) throw new Error(`upstream structured incorrectly: ${entry}`);
      return { DestinationType: 'prepared_query', DestinationName: parts[1]!.trim(), LocalBindPort: portValue(pod, parts[2]!) };
    }
    if (parts.length < 2) throw new Error(`upstream structured incorrectly: ${entry}`);
    const port = portValue(pod, parts[1]!);
    const pieces = head.split('.').map((p) => p.trim());
    if (pieces.length >= 2 && pieces[1] === 'svc') {
      // Labeled: name.svc or name.svc.<x>.peer / name.svc.<x>.dc.
      if (pieces.length === 2) return { DestinationType: 'service', DestinationName: pieces[0], LocalBindPort: port };
      if (pieces.length === 4 && pieces[3] === 'peer') return { DestinationType: 'service', DestinationName: pieces[0], DestinationPeer: pieces[2], LocalBindPort: port };
      if (pieces.length === 4 && pieces[3] === 'dc') return { DestinationType: 'service', DestinationName: pieces[0], Datacenter: pieces[2], LocalBindPort: port };
      throw new Error(`upstream structured incorrectly: ${entry}`);
    }
    const datacenter = parts.slice(2).join(':').trim();
    return { DestinationType: 'service', DestinationName: head, LocalBindPort: port, ...(datacenter ? { Datacenter: datacenter } : {}) };
  });
}

export function checkOutput(status: HealthStatus, pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return `Pod "${pod.metadata.namespace}/${pod.metadata.name}" is terminating`;
  return status === 'passing' ? PASSING_OUTPUT : `Pod "${pod.metadata?.namespace}/${pod.metadata?.name}" is not ready`;
}

/** The service and its sidecar proxy for one pod address of an Endpoints object; throws on a bad annotation. */
export function registrationsFor(
  pod: V1Pod, podIp: string, endpoints: V1Endpoints, readiness: HealthStatus, context: RegistrationContext = {},
): [CatalogRegistration, CatalogRegistration] {
  const annotations = (pod.metadata?.annotations ?? {}) as Record<string, string>;
  const podName = pod.metadata?.name ?? '';
  const namespace = endpoints.metadata?.namespace ?? 'default';
  const name = serviceName(pod, endpoints);
  const ids = serviceIds(pod, endpoints);
  const index = multiPortIndex(pod, endpoints);
  let port = 0;
  const rawPort = annotation(annotations, 'connect-service-port');
  if (rawPort) {
    const ports = rawPort.split(',');
    port = portValue(pod, ports.length > 1 ? (ports[index] ?? '') : rawPort);
  }
  const meta: Record<string, string> = {
    'pod-name': podName,
    'pod-uid': pod.metadata?.uid ?? '',
    'k8s-service-name': endpoints.metadata?.name ?? '',
    'k8s-namespace': namespace,
    'managed-by': MANAGED_BY,
    'synthetic-node': 'true',
  };
  for (const [key, value] of Object.entries(annotationsWithPrefix(annotations, 'service-meta-'))) {
    if (key !== '') meta[key] = value === '$POD_NAME' ? podName : value;
  }
  const rawTags = annotation(annotations, 'service-tags');
  const tags = rawTags ? parseTags(rawTags).map((t) => (t === '$POD_NAME' ? podName : t)) : [];
  // A pod being deleted drains: critical whatever its readiness says, as consul-k8s's graceful shutdown marks it.
  const status: HealthStatus = pod.metadata?.deletionTimestamp ? 'critical' : readiness;
  const node = {
    Node: consulNodeName(pod.spec?.nodeName ?? ''),
    Address: pod.status?.hostIP ?? '',
    NodeMeta: { 'synthetic-node': 'true' },
    SkipNodeUpdate: true,
  };
  const check = (serviceId: string) => ({
    CheckID: `${namespace}/${serviceId}`, Name: CHECK_NAME, Type: CHECK_TYPE, Status: status, ServiceID: serviceId, Output: checkOutput(status, pod),
  });
  const upstreams = index > 0 ? [] : parseUpstreams(pod, annotation(annotations, 'connect-service-upstreams'));
  const service: CatalogRegistration = {
    ...node,
    Service: { ID: ids.service, Service: name, Address: podIp, Port: port, Tags: tags, Meta: meta },
    Check: check(ids.service),
  };
  const proxy: CatalogRegistration = {
    ...node,
    Service: {
      Kind: 'connect-proxy', ID: ids.proxy, Service: `${name}-sidecar-proxy`, Address: podIp,
      Port: PROXY_DEFAULT_INBOUND_PORT + Math.max(index, 0), Tags: tags, Meta: meta,
      Proxy: {
        DestinationServiceName: name, DestinationServiceID: ids.service,
        ...(port > 0 ? { LocalServiceAddress: '127.0.0.1', LocalServicePort: port } : {}),
        Upstreams: upstreams,
      },
    },
    Check: check(ids.proxy),
  };
  if (transparentProxyEnabled(pod)) {
    const proxyConfig = proxy.Service!.Proxy!;
    proxyConfig.Mode = 'transparent';
    // consul-k8s fails the registration when the Service cannot be read: the pod is retried, not registered half-made.
    if (!context.service) throw new Error(`Service ${namespace}/${endpoints.metadata?.name} of a transparent-proxy pod is not known (yet)`);
    const virtual = virtualAddress(pod, context.service, port);
    if (virtual) {
      service.Service!.TaggedAddresses = { [VIRTUAL_TAGGED_ADDRESS]: virtual };
      proxy.Service!.TaggedAddresses = { [VIRTUAL_TAGGED_ADDRESS]: { ...virtual } };
    }
    const paths = exposePaths(pod, context.overwriteProbesDefault ?? true);
    if (paths.length > 0) proxyConfig.Expose = { Paths: paths };
  }
  return [service, proxy];
}
