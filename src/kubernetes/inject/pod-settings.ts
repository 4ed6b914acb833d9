/**
 * What a pod's annotations ask of the injector, read once and checked before anything is built, so a bad value
 * turns into one coded error naming the annotation (and the pod is admitted uninjected) instead of a half-made pod.
 * Keys are consul-k8s's (constants/annotations_and_labels.go) under `consul.hashicorp.com/` or `meshgate.io/`
 * (which wins). The service identity ones — connect-service, connect-service-upstreams, service-tags,
 * service-meta-<key> — are the endpoints controller's to read when it registers the pod; the injector only needs
 * the connect-service name for the proxy's ID.
 */
import { annotation, parseBool } from '../annotations.ts';
import { parseCidr } from '../../lib/ip/address.ts';
import { PROMETHEUS_PATH, PROMETHEUS_PORT, type InjectorConfig, type SidecarResources } from './config.ts';
import { ErrInjectAnnotation } from './errors.ts';
import { OVERWRITE_PROBES_KEY } from '../probes.ts';

export interface PodSettings {
  transparentProxy: boolean;
  /** Move the app's HTTP probes to the sidecar's expose listeners (only with transparentProxy). */
  overwriteProbes: boolean;
  excludeInboundPorts: string[];
  excludeOutboundPorts: string[];
  excludeOutboundCidrs: string[];
  excludeUids: string[];
  resources: SidecarResources;
  /** The Prometheus port and path when `enable-metrics` is on. */
  metrics?: { port: number; path: string };
}

/** A Kubernetes resource.Quantity (k8s.io/apimachinery/pkg/api/resource: sign, number, then suffix). */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

export function podSettings(annotations: Record<string, string>, namespaceLabels: Record<string, string>, config: InjectorConfig): PodSettings {
  const read = (key: string) => annotation(annotations, key);
  const bool = (key: string): boolean | undefined => {
    const raw = read(key);
    if (raw === undefined) return undefined;
    const value = parseBool(raw);
    if (value === undefined) throw ErrInjectAnnotation(key, raw, 'not a boolean');
    return value;
  };
  // consul-k8s's common.TransparentProxyEnabled: the pod's annotation, else the namespace's label, else the default.
  let transparentProxy = bool('transparent-proxy');
  if (transparentProxy === undefined) {
    const label = annotation(namespaceLabels, 'transparent-proxy');
    if (label !== undefined) {
      transparentProxy = parseBool(label);
      if (transparentProxy === undefined) throw ErrInjectAnnotation('transparent-proxy (namespace label)', label, 'not a boolean');
    }
  }
  const list = (key: string, check: (item: string) => string | undefined): string[] => {
    const raw = read(key);
    if (raw === undefined) return [];
    // consul-k8s's splitCommaSeparatedItemsFromAnnotation, with blanks trimmed and every item checked: these values
    // end up as iptables arguments.
    const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const item of items) {
      const why = check(item);
      if (why) throw ErrInjectAnnotation(key, raw, `"${item}" ${why}`);
    }
    return items;
  };
  const port = (item: string) => (/^\d{1,5}$/.test(item) && Number(item) >= 1 && Number(item) <= 65535 ? undefined : 'is not a port (1-65535)');
  const uid = (item: string) => (/^\d{1,10}$/.test(item) && Number(item) <= 4294967295 ? undefined : 'is not a numeric user ID');
  const cidr = (item: string) => (parseCidr(item) ? undefined : 'is not a CIDR');
  const quantity = (key: string, fallback: string | undefined): string | undefined => {
    const raw = read(key) ?? fallback;
    if (raw !== undefined && !QUANTITY.test(raw)) throw ErrInjectAnnotation(key, raw, 'not a Kubernetes quantity');
    return raw;
  };
  const resources: SidecarResources = {};
  const cpuRequest = quantity('sidecar-proxy-cpu-request', config.defaultResources.cpuRequest);
  const cpuLimit = quantity('sidecar-proxy-cpu-limit', config.defaultResources.cpuLimit);
  const memoryRequest = quantity('sidecar-proxy-memory-request', config.defaultResources.memoryRequest);
  const memoryLimit = quantity('sidecar-proxy-memory-limit', config.defaultResources.memoryLimit);
  if (cpuRequest !== undefined) resources.cpuRequest = cpuRequest;
  if (cpuLimit !== undefined) resources.cpuLimit = cpuLimit;
  if (memoryRequest !== undefined) resources.memoryRequest = memoryRequest;
  if (memoryLimit !== undefined) resources.memoryLimit = memoryLimit;
  const settings: PodSettings = {
    transparentProxy: transparentProxy ?? config.transparentProxyDefault,
    overwriteProbes: bool(OVERWRITE_PROBES_KEY) ?? config.transparentProxyOverwriteProbes,
    excludeInboundPorts: list('transparent-proxy-exclude-inbound-ports', port),
    excludeOutboundPorts: list('transparent-proxy-exclude-outbound-ports', port),
    excludeOutboundCidrs: list('transparent-proxy-exclude-outbound-cidrs', cidr),
    excludeUids: list('transparent-proxy-exclude-uids', uid),
    resources,
  };
  if (bool('enable-metrics')) {
    const rawPort = read('prometheus-scrape-port') ?? String(PROMETHEUS_PORT);
    if (port(rawPort)) throw ErrInjectAnnotation('prometheus-scrape-port', rawPort, 'not a port (1-65535)');
    // The sidecar serves its metrics at /metrics only, so prometheus-scrape-path is not read.
    settings.metrics = { port: Number(rawPort), path: PROMETHEUS_PATH };
  }
  return settings;
}
