/**
 * The injector's decision for one pod, as consul-k8s's MeshWebhook.Handle makes it (mesh_webhook.go): whether to
 * inject (shouldInject: never in kube-system/kube-public, the deny list wins over the allow list, never twice, the
 * connect-inject annotation, else the default), then the mutated pod — shared volumes, init container, sidecar,
 * `connect-inject-status: injected` (annotation and label), `transparent-proxy-status: enabled`, the default
 * `connect-service-port` (the first container's first port), the pod as it arrived (`original-pod`), HTTP probes
 * moved to the sidecar's expose listeners in transparent mode (probes.ts) and the Prometheus annotations — returned as the JSON
 * patch from the pod as received. Pure: the webhook supplies the namespace's labels.
 */
import { annotation, CONSUL_PREFIX, MESHGATE_PREFIX, parseBool } from '../annotations.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { INIT_CONTAINER, SIDECAR_CONTAINER, SYSTEM_NAMESPACES, type InjectorConfig } from './config.ts';
import { initContainer, injectedVolumes, sidecarContainer } from './containers.ts';
import { ErrInjectAnnotation } from './errors.ts';
import { createPatch, type JsonPatchOp } from './json-patch.ts';
import { podSettings } from './pod-settings.ts';
import { overwriteProbes } from './probes.ts';
import { ORIGINAL_POD_KEY } from '../probes.ts';
import type { ContainerLike } from '../probes.ts';

export const INJECT_STATUS_KEY = 'connect-inject-status';
export const INJECTED = 'injected';

export interface PodLike {
  metadata?: { name?: string; generateName?: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: { containers?: ContainerLike[]; initContainers?: unknown[]; volumes?: unknown[] };
}

export type InjectDecision = { inject: false; reason: string } | { inject: true; reason: string; patch: JsonPatchOp[] };

export function shouldInject(pod: PodLike, namespace: string, config: InjectorConfig): { inject: boolean; reason: string } {
  const name = pod.metadata?.name || pod.metadata?.generateName || '';
  if (SYSTEM_NAMESPACES.includes(namespace)) return { inject: false, reason: `namespace ${namespace} is a system namespace` };
  if (config.denyNamespaces.includes(namespace)) return { inject: false, reason: `namespace ${namespace} is denied injection` };
  if (!config.allowNamespaces.includes('*') && !config.allowNamespaces.includes(namespace)) {
    return { inject: false, reason: `namespace ${namespace} is not in the allowed namespaces` };
  }
  const annotations = pod.metadata?.annotations ?? {};
  const containers = pod.spec?.containers ?? [];
  if (annotation(annotations, INJECT_STATUS_KEY) !== undefined || containers.some((c) => c.name === SIDECAR_CONTAINER)
    || (pod.spec?.initContainers ?? []).some((c) => (c as { name?: string }).name === INIT_CONTAINER)) {
    return { inject: false, reason: `pod ${name} is already injected` };
  }
  const raw = annotation(annotations, 'connect-inject');
  if (raw !== undefined) {
    const wanted = parseBool(raw);
    if (wanted === undefined) throw ErrInjectAnnotation('connect-inject', raw, 'not a boolean');
    return { inject: wanted, reason: wanted ? `pod ${name} asks for injection` : `pod ${name} does not require injection` };
  }
  return config.defaultInject ? { inject: true, reason: `pod ${name} is injected by default` } : { inject: false, reason: `pod ${name} does not require injection` };
}

/** The decision and patch for a pod being created in `namespace`. A bad annotation is a decision not to inject. */
export function decideInjection(pod: PodLike, namespace: string, namespaceLabels: Record<string, string>, config: InjectorConfig): InjectDecision {
  try {
    if (!Array.isArray(pod.spec?.containers) || pod.spec.containers.length === 0) return { inject: false, reason: 'pod spec has no containers' };
    const decision = shouldInject(pod, namespace, config);
    if (!decision.inject) return { inject: false, reason: decision.reason };
    let settings = podSettings(pod.metadata?.annotations ?? {}, namespaceLabels, config);
    const mutated = structuredClone(pod) as Required<PodLike> & { spec: Record<string, unknown> & { containers: NonNullable<PodLike['spec']>['containers'] } };
    mutated.metadata ??= {};
    const annotations = (mutated.metadata.annotations ??= {});
    const labels = (mutated.metadata.labels ??= {});
    const spec = mutated.spec;
    // consul-k8s's defaultAnnotations keeps the pod as it arrived; the endpoints controller reads the probes'
    // original ports from it.
    annotations[`${CONSUL_PREFIX}${ORIGINAL_POD_KEY}`] = JSON.stringify(pod);
    if (settings.transparentProxy && settings.overwriteProbes) {
      // Moved before the sidecar is appended, so the indexes are the app containers' own (consul-k8s skips its sidecar).
      const moved = overwriteProbes(spec.containers!);
      settings = { ...settings, excludeInboundPorts: [...moved, ...settings.excludeInboundPorts] };
    }
    spec['volumes'] = [...((spec['volumes'] as unknown[] | undefined) ?? []), ...injectedVolumes()];
    spec['initContainers'] = [...((spec['initContainers'] as unknown[] | undefined) ?? []), initContainer(config, settings)];
    // consul-k8s's defaultAnnotations: the service port defaults to the first container's first port.
    const firstPort = spec.containers![0]?.ports?.[0];
    if (annotation(annotations, 'connect-service-port') === undefined && (firstPort?.name || firstPort?.containerPort)) {
      annotations[`${CONSUL_PREFIX}connect-service-port`] = firstPort!.name || String(firstPort!.containerPort);
    }
    spec.containers = [...spec.containers!, sidecarContainer(config, settings)];
    for (const prefix of [CONSUL_PREFIX, MESHGATE_PREFIX]) annotations[`${prefix}${INJECT_STATUS_KEY}`] = INJECTED;
    labels[`${CONSUL_PREFIX}${INJECT_STATUS_KEY}`] = INJECTED;
    if (settings.transparentProxy) annotations[`${CONSUL_PREFIX}transparent-proxy-status`] = 'enabled';
    if (settings.metrics) {
      annotations['prometheus.io/scrape'] = 'true';
      annotations['prometheus.io/port'] = String(settings.metrics.port);
      annotations['prometheus.io/path'] = settings.metrics.path;
    }
    return { inject: true, reason: decision.reason, patch: createPatch(pod, mutated) };
  } catch (err) {
    if (isMeshgateError(err)) return { inject: false, reason: err.message };
    throw err;
  }
}
