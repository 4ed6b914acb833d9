/**
 * The CRD controller (`meshgate k8s crd-controller`) and the CustomResourceDefinitions it reconciles, built from
 * `src/kubernetes/crd/kinds.ts` — the list the controller itself watches. RBAC is what `crd/controller.ts` calls:
 * list and watch each kind cluster-wide, update it (the finalizer) and its status (the Synced condition); its Lease.
 */
import { crdDefinitions } from '../../crd/definitions.ts';
import { CRD_GROUP, CRD_KINDS } from '../../crd/kinds.ts';
import { clusterRole, container, deployment, labels, LEASE_RULE, POD_NAMESPACE_ENV, role, serverAddress, serviceAccount, tokenEnv, type BuildContext, type KubeObject } from '../common.ts';
import { not } from '../template.ts';

export function crdObjects(ctx: BuildContext): KubeObject[] {
  return crdDefinitions(labels(ctx, 'crd')) as unknown as KubeObject[];
}

export function crdControllerObjects(ctx: BuildContext): KubeObject[] {
  const plurals = CRD_KINDS.map((k) => k.plural);
  return [
    serviceAccount(ctx, 'crd-controller'),
    ...clusterRole(ctx, 'crd-controller', [
      { apiGroups: [CRD_GROUP], resources: plurals, verbs: ['list', 'watch', 'update'] },
      { apiGroups: [CRD_GROUP], resources: plurals.map((p) => `${p}/status`), verbs: ['update'] },
    ]),
    ...role(ctx, 'crd-controller', [LEASE_RULE]),
    deployment(ctx, 'crd-controller', 1, [container(ctx, 'crd-controller', [
      'k8s', 'crd-controller',
      `--http-addr=${serverAddress(ctx)}`,
      `--datacenter=${ctx.values.global.datacenter}`,
    ], { env: [POD_NAMESPACE_ENV, tokenEnv(ctx, 'crd-controller', not(ctx.values.global.acls.manageSystemACLs))] })]),
  ];
}
