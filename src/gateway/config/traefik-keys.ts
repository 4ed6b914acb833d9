/**
 * The static configuration keys Traefik v3 has (pkg/config/static: Configuration, EntryPoint, Providers, API, Metrics,
 * Log, AccessLog, …), so a key Traefik knows and Meshgate does not implement yet is refused as
 * "not supported by meshgate: <key path>" — a Traefik user learns it is a gap, not a typo. `*` stands for a name
 * (an entry point, a resolver); everything below a listed key is Traefik's too.
 */

const TRAEFIK_STATIC_KEYS = [
  'global.checkNewVersion', 'global.sendAnonymousUsage', 'global.updateCheck',
  'tcpServersTransport',
  'entryPoints.*.http3', 'entryPoints.*.allowACMEByPass',
  'providers.docker', 'providers.swarm', 'providers.kubernetesIngress', 'providers.kubernetesCRD', 'providers.kubernetesGateway',
  'providers.kubernetesIngressNGINX', 'providers.knative', 'providers.rest', 'providers.nomad', 'providers.ecs',
  'providers.zooKeeper', 'providers.plugin',
  'log.maxSize', 'log.maxAge', 'log.maxBackups', 'log.compress',
  'hostResolver', 'certificatesResolvers', 'core', 'ocsp',
  'experimental.kubernetesGateway', 'experimental.http3', 'experimental.fastProxy',
  'experimental.abortOnPluginFailure', 'experimental.kubernetesIngressNGINX', 'experimental.knative',
].map((key) => key.toLowerCase().split('.'));

/** Whether `path` (as written, names included) is one of Traefik's static keys, or lies below one. */
export function isTraefikStaticKey(path: readonly PropertyKey[]): boolean {
  const parts = path.map((p) => String(p).toLowerCase());
  return TRAEFIK_STATIC_KEYS.some((key) => key.length <= parts.length && key.every((k, i) => k === '*' || k === parts[i]));
}

/**
 * Dynamic keys Traefik v3.4–v3.7 added that Meshgate does not implement yet (routing and load-balancing reference
 * pages): refused as "not supported by meshgate: <path>".
 */
const TRAEFIK_DYNAMIC_KEYS = [
  'http.services.*.loadBalancer.middlewares',
].map((key) => key.toLowerCase().split('.'));

export function isTraefikDynamicKey(path: readonly PropertyKey[]): boolean {
  const parts = path.map((p) => String(p).toLowerCase());
  return TRAEFIK_DYNAMIC_KEYS.some((key) => key.length <= parts.length && key.every((k, i) => k === '*' || k === parts[i]));
}
