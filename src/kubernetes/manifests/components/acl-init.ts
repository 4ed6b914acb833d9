/**
 * With `global.acls.manageSystemACLs`: the bootstrap Job (`meshgate k8s server-acl-init`) that bootstraps the ACL
 * system, creates the `kubernetes` auth method with its binding rule and the components' tokens, and stores each
 * token in a Secret `<name>-<component>-acl-token` the component's pods wait for. The auth method validates pods'
 * service-account tokens with TokenReviews sent under the `<name>-auth-method` ServiceAccount's token (a long-lived
 * token Secret), which is why that account alone is bound to `system:auth-delegator`. The Job may read and write
 * Secrets in the release namespace and nothing else.
 */
import { container, fullName, labels, meta, podSecurityContext, role, serverAddress, serviceAccount, type BuildContext, type KubeObject } from '../common.ts';

export function aclInitObjects(ctx: BuildContext): KubeObject[] {
  const name = fullName(ctx, 'server-acl-init');
  const authMethod = fullName(ctx, 'auth-method');
  return [
    serviceAccount(ctx, 'server-acl-init'),
    ...role(ctx, 'server-acl-init', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update'] }]),
    serviceAccount(ctx, 'auth-method'),
    {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
      metadata: { ...meta(ctx, 'auth-method'), annotations: { 'kubernetes.io/service-account.name': authMethod } },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: meta(ctx, 'auth-method', authMethod, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: authMethod, namespace: ctx.namespace }],
    },
    {
      apiVersion: 'batch/v1', kind: 'Job', metadata: meta(ctx, 'server-acl-init'),
      spec: {
        backoffLimit: 10,
        template: {
          metadata: { labels: labels(ctx, 'server-acl-init') },
          spec: {
            serviceAccountName: name,
            restartPolicy: 'OnFailure',
            securityContext: podSecurityContext(),
            containers: [container(ctx, 'server-acl-init', [
              'k8s', 'server-acl-init',
              `--http-addr=${serverAddress(ctx)}`,
              `--resource-prefix=${ctx.values.global.name}`,
              `--k8s-namespace=${ctx.namespace}`,
              `--auth-method-token-secret=${authMethod}`,
            ])],
          },
        },
      },
    },
  ];
}
