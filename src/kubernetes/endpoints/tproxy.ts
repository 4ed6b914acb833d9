/**
 * The transparent-proxy half of consul-k8s's createServiceRegistrations (controllers/endpoints/endpoints_controller.go):
 * - the proxy registers with `Proxy.Mode = "transparent"`;
 * - service and proxy carry the Kubernetes Service's cluster IP as the `virtual` tagged address, with the Service
 *   port whose target port is the registered port (so a transparent proxy maps `clusterIP:port` to the service:
 *   src/proxy/transparent/destinations.ts), none for a headless Service;
 * - when probes are overwritten, one `Proxy.Expose.Paths` entry per HTTP probe the injector moved (src/kubernetes/probes.ts).
 * Whether the pod is in transparent mode is what the injector decided and recorded (`transparent-proxy-status:
 * enabled`, from the pod's annotation, its namespace's label and the default, as consul-k8s's
 * common.TransparentProxyEnabled), so the controller needs no Namespace informer.
 */
import { isIP } from 'node:net';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { ServiceAddress } from '../../api/types/agent.ts';
import { annotation, CONSUL_PREFIX } from '../annotations.ts';
import { intOrStringPort } from '../ports.ts';
import { ORIGINAL_POD_KEY, OVERWRITE_PROBES_KEY, PROBES, shouldOverwriteProbes, type ContainerLike } from '../probes.ts';

/** consul-k8s's clusterIPTaggedAddressName: Consul reads this key, do not change it. */
export const VIRTUAL_TAGGED_ADDRESS = 'virtual';

export interface ExposePath {
  ListenerPort: number;
  Path: string;
  LocalPathPort: number;
}

export function transparentProxyEnabled(pod: V1Pod): boolean {
  return annotation(pod.metadata?.annotations as Record<string, string> | undefined, 'transparent-proxy-status') === 'enabled';
}

/**
 * The `virtual` tagged address for the registered port, or undefined for a headless Service (cluster IP `None`). A
 * Service port matches when its targetPort resolves to the registered port or, failing that, when its own port is it;
 * with no match the port is 0, as consul-k8s registers it.
 */
export function virtualAddress(pod: V1Pod, service: V1Service, consulPort: number): ServiceAddress | undefined {
  const clusterIp = service.spec?.clusterIP ?? '';
  if (isIP(clusterIp) === 0) return undefined;
  let port = 0;
  for (const sp of service.spec?.ports ?? []) {
    const target = intOrStringPort(pod, sp.targetPort as number | string | undefined);
    if ((target !== 0 && target === consulPort) || sp.port === consulPort) {
      port = sp.port;
      break;
    }
  }
  return { Address: clusterIp, Port: port };
}

/**
 * The expose paths for the probes the injector moved: each app container's HTTP probe in the pod as stored (its new
 * port and path) paired with the same container's probe in the `original-pod` annotation (its original port). A pod
 * injected before the annotation existed has no paths (its probes were not moved either).
 */
export function exposePaths(pod: V1Pod, overwriteProbesDefault: boolean): ExposePath[] {
  const annotations = pod.metadata?.annotations as Record<string, string> | undefined;
  const overwrite = shouldOverwriteProbes(annotations, overwriteProbesDefault);
  if (overwrite === undefined) throw new Error(`annotation ${CONSUL_PREFIX}${OVERWRITE_PROBES_KEY} is not a boolean`);
  const raw = annotation(annotations, ORIGINAL_POD_KEY);
  if (!overwrite || raw === undefined) return [];
  let original: { spec?: { containers?: ContainerLike[] } };
  try {
    original = JSON.parse(raw) as typeof original;
  } catch {
    throw new Error(`annotation ${ORIGINAL_POD_KEY} is not the pod's JSON`);
  }
  const paths: ExposePath[] = [];
  for (const mutated of (pod.spec?.containers ?? []) as ContainerLike[]) {
    const before = original.spec?.containers?.find((c) => c.name === mutated.name);
    if (!before) continue;
    for (const [kind] of PROBES) {
      const now = mutated[kind]?.httpGet;
      const was = before[kind]?.httpGet;
      if (!now || !was) continue;
      paths.push({ ListenerPort: intOrStringPort(pod, now.port), Path: now.path ?? '', LocalPathPort: intOrStringPort(original, was.port) });
    }
  }
  return paths;
}
