/**
 * What every component's objects share: the build context (values, namespace, the webhook's TLS material), names
 * and labels, the container defaults (image, non-root, read-only root file system), the server's address, and
 * the RBAC shapes. Names follow consul-k8s's `<global.name>-<component>` so a reader of either finds the other.
 */
import type { Values } from './values.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

/** Base64 PEM, as a Secret's `data` and a webhook's `caBundle` carry it. */
export interface WebhookTls {
  caBundle: string;
  cert: string;
  key: string;
}

export interface BuildContext {
  values: Values;
  namespace: string;
  tls: WebhookTls;
}

/** The uid/gid the image's `meshgate` user has (Dockerfile). */
export const MESHGATE_UID = 10001;
export const HTTP_PORT = 8500;
export const DNS_PORT = 8600;
export const WEBHOOK_PORT = 8080;

export function fullName(ctx: BuildContext, component: string): string {
  return `${ctx.values.global.name}-${component}`;
}

export function selectorLabels(ctx: BuildContext, component: string): Record<string, string> {
  return { 'app.kubernetes.io/instance': ctx.values.global.name, 'app.kubernetes.io/component': component };
}

export function labels(ctx: BuildContext, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'meshgate', ...selectorLabels(ctx, component), 'app.kubernetes.io/managed-by': 'meshgate' };
}

export function meta(ctx: BuildContext, component: string, name = fullName(ctx, component), namespaced = true): KubeObject['metadata'] {
  return { name, ...(namespaced ? { namespace: ctx.namespace } : {}), labels: labels(ctx, component) };
}

/** The HTTP API every component talks to: the server's Service, inside the cluster. */
export function serverAddress(ctx: BuildContext): string {
  return `${fullName(ctx, 'server')}.${ctx.namespace}.svc:${HTTP_PORT}`;
}

/** The Secret server-acl-init writes a component's ACL token to (key `token`). */
export function aclTokenSecret(ctx: BuildContext, component: string): string {
  return `${fullName(ctx, component)}-acl-token`;
}

export const POD_NAMESPACE_ENV = { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } };

/**
 * The component's ACL token from its Secret. With managed ACLs the Secret is required, so the kubelet holds the
 * container until server-acl-init has written it (and the process starts with its token); without, it is optional.
 */
export function tokenEnv(ctx: BuildContext, component: string, notManaged: boolean): Record<string, unknown> {
  return { name: 'MESHGATE_HTTP_TOKEN', valueFrom: { secretKeyRef: { name: aclTokenSecret(ctx, component), key: 'token', optional: notManaged } } };
}

export function container(ctx: BuildContext, name: string, args: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    image: ctx.values.global.image,
    imagePullPolicy: ctx.values.global.imagePullPolicy,
    args,
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    ...extra,
  };
}

export function podSecurityContext(): Record<string, unknown> {
  return { runAsNonRoot: true, runAsUser: MESHGATE_UID, runAsGroup: MESHGATE_UID, fsGroup: MESHGATE_UID, seccompProfile: { type: 'RuntimeDefault' } };
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export function serviceAccount(ctx: BuildContext, component: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(ctx, component) };
}

/** A ClusterRole and its binding to the component's ServiceAccount. */
export function clusterRole(ctx: BuildContext, component: string, rules: PolicyRule[]): KubeObject[] {
  const name = fullName(ctx, component);
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(ctx, component, name, false), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta(ctx, component, name, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ctx.namespace }],
    },
  ];
}

/** A Role in the release namespace and its binding to the component's ServiceAccount. */
export function role(ctx: BuildContext, component: string, rules: PolicyRule[], suffix = ''): KubeObject[] {
  const name = `${fullName(ctx, component)}${suffix}`;
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(ctx, component, name), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(ctx, component, name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: fullName(ctx, component), namespace: ctx.namespace }],
    },
  ];
}

/** What `src/kubernetes/leader.ts` does with its Lease: read it, create it the first time, renew or take it over. */
export const LEASE_RULE: PolicyRule = { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] };

export function deployment(ctx: BuildContext, component: string, replicas: number, containers: Record<string, unknown>[], podExtra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(ctx, component),
    spec: {
      replicas,
      selector: { matchLabels: selectorLabels(ctx, component) },
      template: {
        metadata: { labels: labels(ctx, component) },
        spec: { serviceAccountName: fullName(ctx, component), securityContext: podSecurityContext(), containers, ...podExtra },
      },
    },
  };
}
