/**
 * What the connect injector and the endpoints controller agree on when a transparent-proxy pod's HTTP probes go
 * through the sidecar (consul-k8s: webhook/mesh_webhook.go overwriteProbes, redirect_traffic.go, and the endpoints
 * controller's createServiceRegistrations): with redirection on, a kubelet probe to the app's port would be sent to
 * the proxy's mTLS listener and fail, so the injector moves each app container's liveness/readiness/startup HTTP
 * probe to port 20300/20400/20500 + the container's index, lets those ports past the inbound redirect, and keeps the
 * pod as it arrived in the `original-pod` annotation; the endpoints controller reads both to register one
 * `Proxy.Expose.Paths` entry per moved probe (listener = the new port, local port = the original one), and the
 * sidecar serves them (src/proxy/expose.ts). Constants are consul-k8s's (constants package,
 * exposedPaths{Liveness,Readiness,Startup}PortsRangeStart).
 */
import { annotation, parseBool } from './annotations.ts';

export const LIVENESS_PORTS_START = 20300;
export const READINESS_PORTS_START = 20400;
export const STARTUP_PORTS_START = 20500;

/** The probe kinds in the order consul-k8s handles them, with the start of each one's port range. */
export const PROBES = [
  ['livenessProbe', LIVENESS_PORTS_START],
  ['readinessProbe', READINESS_PORTS_START],
  ['startupProbe', STARTUP_PORTS_START],
] as const;

export type ProbeKind = (typeof PROBES)[number][0];

/** consul-k8s's AnnotationOriginalPod and AnnotationTransparentProxyOverwriteProbes (without the prefix). */
export const ORIGINAL_POD_KEY = 'original-pod';
export const OVERWRITE_PROBES_KEY = 'transparent-proxy-overwrite-probes';

/** A probe as the pod spec carries it; only an `httpGet` probe is moved. */
export interface ProbeLike {
  httpGet?: { path?: string; port?: number | string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface ContainerLike {
  name?: string;
  ports?: Array<{ name?: string; containerPort?: number }>;
  livenessProbe?: ProbeLike;
  readinessProbe?: ProbeLike;
  startupProbe?: ProbeLike;
  [field: string]: unknown;
}

/**
 * common.ShouldOverwriteProbes: the pod's annotation when it has one (a Go boolean), else the default
 * (`-transparent-proxy-default-overwrite-probes`, true in consul-k8s's chart). Undefined for an unparsable value.
 */
export function shouldOverwriteProbes(annotations: Record<string, string> | undefined, defaultOverwrite: boolean): boolean | undefined {
  const raw = annotation(annotations, OVERWRITE_PROBES_KEY);
  return raw === undefined ? defaultOverwrite : parseBool(raw);
}

/** The port an HTTP probe of the container at `index` is moved to. */
export function exposedProbePort(kind: ProbeKind, index: number): number {
  return PROBES.find(([k]) => k === kind)![1] + index;
}
