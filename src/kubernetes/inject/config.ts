/**
 * What `meshgate k8s connect-inject` tells the injector (consul-k8s's inject-connect flags, in Meshgate's words),
 * and the fixed numbers the injected containers agree on — the same as consul-k8s's, so iptables rules, probes and
 * dashboards written for it keep working: the sidecar runs as UID 5995 (the one the redirect rules exclude), init
 * containers as 5996, the proxy's public listener is 20000, the transparent outbound listener 15001, Prometheus
 * scrapes 20200 at /metrics.
 */
export interface InjectorConfig {
  /** Image with the `meshgate` binary, for the init container and the sidecar. */
  image: string;
  /** Inject pods that carry no connect-inject annotation (consul-k8s's `-default-inject`). */
  defaultInject: boolean;
  /** Namespaces eligible for injection; `*` for all (consul-k8s's `-allow-k8s-namespace`). */
  allowNamespaces: string[];
  /** Namespaces never injected; wins over the allow list (`-deny-k8s-namespace`). */
  denyNamespaces: string[];
  /** Transparent proxy for pods and namespaces that do not say (`-default-enable-transparent-proxy`). */
  transparentProxyDefault: boolean;
  /**
   * Move transparent-proxy pods' HTTP probes to the sidecar's expose listeners unless a pod says otherwise
   * (`-transparent-proxy-default-overwrite-probes`, true in consul-k8s's chart).
   */
  transparentProxyOverwriteProbes: boolean;
  /** ACL auth method the init container logs in with; none: no login. */
  authMethod?: string;
  /** Address of the server's HTTP API as the pods reach it (`host:port` or a URL). */
  httpAddr: string;
  /** Log level of the injected containers. */
  logLevel: string;
  /** Sidecar resources when a pod's annotations do not set them (Kubernetes quantities). */
  defaultResources: SidecarResources;
}

export interface SidecarResources {
  cpuRequest?: string;
  cpuLimit?: string;
  memoryRequest?: string;
  memoryLimit?: string;
}

export const SIDECAR_UID = 5995;
export const INIT_UID = 5996;
export const PROXY_INBOUND_PORT = 20000;
export const TPROXY_OUTBOUND_PORT = 15001;
export const PROMETHEUS_PORT = 20200;
export const PROMETHEUS_PATH = '/metrics';

export const INIT_CONTAINER = 'meshgate-connect-inject-init';
export const SIDECAR_CONTAINER = 'meshgate-proxy';
export const DATA_VOLUME = 'meshgate-connect-inject-data';
export const DATA_MOUNT = '/meshgate/connect-inject';
export const TOKEN_VOLUME = 'meshgate-service-account-token';
export const TOKEN_MOUNT = '/var/run/secrets/meshgate/serviceaccount';

/** Namespaces never injected, whatever the lists say (consul-k8s's kubeSystemNamespaces). */
export const SYSTEM_NAMESPACES = ['kube-system', 'kube-public'];

export function defaultInjectorConfig(overrides: Partial<InjectorConfig> = {}): InjectorConfig {
  return {
    image: 'meshgate:latest', defaultInject: false, allowNamespaces: ['*'], denyNamespaces: [], transparentProxyDefault: false, transparentProxyOverwriteProbes: true,
    httpAddr: 'meshgate-server:8500', logLevel: 'info', defaultResources: {}, ...overrides,
  };
}
