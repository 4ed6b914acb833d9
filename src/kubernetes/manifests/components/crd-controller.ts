/**
 * The CustomResourceDefinitions, built from `src/kubernetes/crd/kinds.ts` — the list the CRD controller itself
 * watches — and the RBAC of that controller, which runs inside the connect injector (`--enable-crd-controller`, as
 * consul-k8s's controllers run in its injector): what `crd/controller.ts` calls — list and watch each kind
 * cluster-wide, update it (the finalizer) and its status (the Synced condition).
 */
import { crdDefinitions } from '../../crd/definitions.ts';
import { CRD_GROUP, CRD_KINDS } from '../../crd/kinds.ts';
import { labels, type BuildContext, type KubeObject, type PolicyRule } from '../common.ts';

export function crdObjects(ctx: BuildContext): KubeObject[] {
  return crdDefinitions(labels(ctx, 'crd')) as unknown as KubeObject[];
}

const plurals = CRD_KINDS.map((k) => k.plural);

export const CRD_CONTROLLER_RULES: PolicyRule[] = [
  { apiGroups: [CRD_GROUP], resources: plurals, verbs: ['list', 'watch', 'update'] },
  { apiGroups: [CRD_GROUP], resources: plurals.map((p) => `${p}/status`), verbs: ['update'] },
];
