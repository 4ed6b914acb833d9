/**
 * The server: a StatefulSet (stable names and one data volume per replica), its headless Service (DNS for every
 * replica, ready or not, so they find each other while starting), the ConfigMap holding the agent configuration file
 * `meshgate server --config-dir` reads, and the UI Service. The server itself calls no Kubernetes API (the
 * `kubernetes` auth method's TokenReviews go out with the auth-method ServiceAccount's token, see acl-init.ts), so
 * its ServiceAccount has no role and no mounted token.
 */
import { container, DNS_PORT, fullName, HTTP_PORT, labels, meta, podSecurityContext, selectorLabels, serviceAccount, type BuildContext, type KubeObject } from '../common.ts';

export const CONFIG_FILE = 'server.json';

/** The agent configuration file (Consul's format, validated by src/lib/agent-config when the server loads it). */
export function serverConfig(ctx: BuildContext): Record<string, unknown> {
  const { global, ui } = ctx.values;
  return {
    datacenter: global.datacenter,
    domain: global.domain,
    server: true,
    acl: { enabled: global.acls.manageSystemACLs, default_policy: 'deny', enable_token_persistence: true },
    connect: { enabled: true },
    ui_config: { enabled: ui.enabled },
  };
}

export function serverObjects(ctx: BuildContext): KubeObject[] {
  const { server } = ctx.values;
  const name = fullName(ctx, 'server');
  const ports = [
    { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
    { name: 'dns-tcp', port: DNS_PORT, targetPort: 'dns-tcp', protocol: 'TCP' },
    { name: 'dns-udp', port: DNS_PORT, targetPort: 'dns-udp', protocol: 'UDP' },
  ];
  return [
    { ...serviceAccount(ctx, 'server'), automountServiceAccountToken: false },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(ctx, 'server', `${name}-config`), data: { [CONFIG_FILE]: `${JSON.stringify(serverConfig(ctx), null, 2)}\n` } },
    {
      apiVersion: 'v1', kind: 'Service', metadata: meta(ctx, 'server'),
      spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: selectorLabels(ctx, 'server'), ports },
    },
    {
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta(ctx, 'server'),
      spec: {
        serviceName: name,
        replicas: server.replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selectorLabels(ctx, 'server') },
        template: {
          metadata: { labels: labels(ctx, 'server') },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(),
            terminationGracePeriodSeconds: 30,
            containers: [container(ctx, 'server', [
              'server',
              '--config-dir=/meshgate/config',
              '--data-dir=/meshgate/data',
              `--http-addr=0.0.0.0:${HTTP_PORT}`,
              `--dns-port=${DNS_PORT}`,
              '--node-name=$(POD_NAME)',
              `--store=${server.store.backend}`,
              `--etcd-endpoints=${server.store.etcdEndpoints}`,
            ], {
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [
                { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                { name: 'dns-tcp', containerPort: DNS_PORT, protocol: 'TCP' },
                { name: 'dns-udp', containerPort: DNS_PORT, protocol: 'UDP' },
              ],
              readinessProbe: { httpGet: { path: '/v1/status/leader', port: 'http' }, periodSeconds: 5, failureThreshold: 2 },
              volumeMounts: [
                { name: 'data', mountPath: '/meshgate/data' },
                { name: 'config', mountPath: '/meshgate/config', readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            })],
            volumes: [
              { name: 'config', configMap: { name: `${name}-config` } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [{
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: server.storage } } },
        }],
      },
    },
  ];
}

/** The UI and HTTP API for people: a Service of the chosen type in front of the server pods. */
export function uiObjects(ctx: BuildContext): KubeObject[] {
  return [{
    apiVersion: 'v1', kind: 'Service', metadata: meta(ctx, 'ui'),
    spec: { type: ctx.values.ui.service.type, selector: selectorLabels(ctx, 'server'), ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  }];
}
