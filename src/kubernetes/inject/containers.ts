/**
 * The containers and volumes the injector adds (consul-k8s's container_init.go, consul_dataplane_sidecar.go and
 * redirect_traffic.go, with `meshgate` in place of connect-init and consul-dataplane):
 * - the init container runs `meshgate k8s acl-init`: log in with the pod's service-account token when an auth
 *   method is set, write the ACL token and the proxy's ID to the shared in-memory volume and, in transparent mode,
 *   install the iptables redirect with the exclusions the annotations ask for (as root with NET_ADMIN, which
 *   iptables needs);
 * - the sidecar runs `meshgate proxy` with that token and ID, as UID 5995 (the UID the redirect rules let through),
 *   or in transparent mode as root that drops to 5995 once it has opened the conntrack table;
 * - the service-account token is mounted from a projected volume of its own, so the login works whatever the
 *   ServiceAccount admission plugin did or did not mount.
 * Every value reaches the containers as an argument array or a JSON environment value — nothing taken from an
 * annotation is put into a shell script.
 */
import {
  DATA_MOUNT, DATA_VOLUME, INIT_CONTAINER, INIT_UID, PROXY_INBOUND_PORT, SIDECAR_CONTAINER, SIDECAR_UID, TOKEN_MOUNT, TOKEN_VOLUME,
  TPROXY_OUTBOUND_PORT, type InjectorConfig,
} from './config.ts';
import type { PodSettings } from './pod-settings.ts';

export type Container = Record<string, unknown>;

const TOKEN_FILE = `${DATA_MOUNT}/acl-token`;
const PROXY_ID_FILE = `${DATA_MOUNT}/proxyid`;

const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
const POD_ENV = [fieldEnv('POD_NAME', 'metadata.name'), fieldEnv('POD_NAMESPACE', 'metadata.namespace'), fieldEnv('NODE_NAME', 'spec.nodeName')];

/** The volumes shared by the init container and the sidecar. */
export function injectedVolumes(): Array<Record<string, unknown>> {
  return [
    { name: DATA_VOLUME, emptyDir: { medium: 'Memory' } },
    { name: TOKEN_VOLUME, projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } },
  ];
}

/** `meshgate k8s acl-init` arguments (without the leading `meshgate`). */
export function aclInitArgs(config: InjectorConfig): string[] {
  return [
    'k8s', 'acl-init', '--http-addr', config.httpAddr, '--log-level', config.logLevel,
    ...(config.authMethod ? ['--auth-method', config.authMethod, '--bearer-token-file', `${TOKEN_MOUNT}/token`, '--token-sink-file', TOKEN_FILE] : []),
    '--meta', 'pod=$(POD_NAMESPACE)/$(POD_NAME)',
    // The endpoints controller registers pods on `<k8s node>-virtual` (consul-k8s's CONSUL_NODE_NAME).
    '--pod-name', '$(POD_NAME)', '--pod-namespace', '$(POD_NAMESPACE)', '--node-name', '$(NODE_NAME)-virtual', '--proxy-id-file', PROXY_ID_FILE,
  ];
}

/**
 * Transparent mode's traffic redirection, as the JSON the init container reads from MESHGATE_REDIRECT_TRAFFIC_CONFIG
 * (consul-k8s's CONSUL_REDIRECT_TRAFFIC_CONFIG, with its iptables.Config field names; redirect_traffic.go): the
 * proxy's UID and ports; the init containers' UID, the metrics port and the annotations' exclusions let through.
 */
export interface RedirectTrafficConfig {
  ProxyUserID: string;
  ProxyInboundPort: number;
  ProxyOutboundPort: number;
  ExcludeInboundPorts: string[];
  ExcludeOutboundPorts: string[];
  ExcludeOutboundCIDRs: string[];
  ExcludeUIDs: string[];
}

export function redirectTrafficConfig(settings: PodSettings): RedirectTrafficConfig {
  return {
    ProxyUserID: String(SIDECAR_UID),
    ProxyInboundPort: PROXY_INBOUND_PORT,
    ProxyOutboundPort: TPROXY_OUTBOUND_PORT,
    ExcludeInboundPorts: [...(settings.metrics ? [String(settings.metrics.port)] : []), ...settings.excludeInboundPorts],
    ExcludeOutboundPorts: settings.excludeOutboundPorts,
    ExcludeOutboundCIDRs: settings.excludeOutboundCidrs,
    ExcludeUIDs: [String(INIT_UID), ...settings.excludeUids],
  };
}

export const REDIRECT_TRAFFIC_ENV = 'MESHGATE_REDIRECT_TRAFFIC_CONFIG';

export function initContainer(config: InjectorConfig, settings: PodSettings): Container {
  return {
    name: INIT_CONTAINER,
    image: config.image,
    command: ['meshgate', ...aclInitArgs(config)],
    env: [...POD_ENV, ...(settings.transparentProxy ? [{ name: REDIRECT_TRAFFIC_ENV, value: JSON.stringify(redirectTrafficConfig(settings)) }] : [])],
    volumeMounts: [{ name: DATA_VOLUME, mountPath: DATA_MOUNT }, { name: TOKEN_VOLUME, mountPath: TOKEN_MOUNT, readOnly: true }],
    // iptables needs root and NET_ADMIN; without transparent mode the init container needs nothing.
    securityContext: settings.transparentProxy
      ? { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, privileged: false, capabilities: { add: ['NET_ADMIN'] } }
      : {
        runAsUser: INIT_UID, runAsGroup: INIT_UID, runAsNonRoot: true, privileged: false, readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] },
      },
  };
}

export function sidecarContainer(config: InjectorConfig, settings: PodSettings): Container {
  const resources: Record<string, Record<string, string>> = {};
  const set = (kind: 'requests' | 'limits', name: 'cpu' | 'memory', value: string | undefined) => {
    if (value !== undefined) (resources[kind] ??= {})[name] = value;
  };
  set('requests', 'cpu', settings.resources.cpuRequest);
  set('limits', 'cpu', settings.resources.cpuLimit);
  set('requests', 'memory', settings.resources.memoryRequest);
  set('limits', 'memory', settings.resources.memoryLimit);
  const args = ['proxy', '--http-addr', config.httpAddr, '--log-level', config.logLevel];
  if (config.authMethod) args.push('--token-file', TOKEN_FILE);
  if (settings.metrics) args.push('--metrics-addr', `0.0.0.0:${settings.metrics.port}`);
  // Transparent mode reads the conntrack table, which only root may open: the proxy starts as root and drops to
  // the UID the redirect rules exclude (`meshgate proxy --run-as-uid`).
  if (settings.transparentProxy) args.push('--run-as-uid', String(SIDECAR_UID));
  return {
    name: SIDECAR_CONTAINER,
    image: config.image,
    // The proxy's ID is known only once the endpoints controller has registered the pod; acl-init waits for it
    // and writes it to the shared volume. The script reads that file and passes every other argument on as given.
    // No agent runs beside a pod: the proxy reads its registration from the catalog on the synthetic node the
    // endpoints controller registers it on (consul-dataplane's -service-node-name).
    command: ['/bin/sh', '-ec', `exec meshgate "$@" --proxy-id "$(cat ${PROXY_ID_FILE})" --node-name "$NODE_NAME-virtual"`, SIDECAR_CONTAINER],
    args,
    env: POD_ENV,
    ports: [
      { name: 'proxy-inbound', containerPort: PROXY_INBOUND_PORT, protocol: 'TCP' },
      ...(settings.metrics ? [{ name: 'prometheus', containerPort: settings.metrics.port, protocol: 'TCP' }] : []),
    ],
    ...(Object.keys(resources).length ? { resources } : {}),
    volumeMounts: [{ name: DATA_VOLUME, mountPath: DATA_MOUNT }],
    securityContext: settings.transparentProxy
      ? { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, allowPrivilegeEscalation: true, capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID'] } }
      : {
        runAsUser: SIDECAR_UID, runAsGroup: SIDECAR_UID, runAsNonRoot: true, readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] },
      },
  };
}
