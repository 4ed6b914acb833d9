/**
 * Catalog sync (`meshgate k8s sync-catalog`), flag for flag from the `syncCatalog` values. RBAC is what
 * `src/kubernetes/sync` calls: list and watch Services, EndpointSlices and Nodes cluster-wide (to the catalog);
 * and, only when syncing the other way (`syncCatalog.toK8S`, a file of its own), create, update and delete Services
 * in the one namespace the ExternalName Services are written to; its Lease.
 */
import { clusterRole, container, deployment, LEASE_RULE, POD_NAMESPACE_ENV, role, serverAddress, serviceAccount, tokenEnv, type BuildContext, type KubeObject } from '../common.ts';
import { not, repeatFlag, switchFlag } from '../template.ts';

export function syncCatalogObjects(ctx: BuildContext): KubeObject[] {
  const { syncCatalog: s, global } = ctx.values;
  return [
    serviceAccount(ctx, 'sync-catalog'),
    ...clusterRole(ctx, 'sync-catalog', [
      { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ]),
    ...role(ctx, 'sync-catalog', [LEASE_RULE]),
    deployment(ctx, 'sync-catalog', 1, [container(ctx, 'sync-catalog', [
      'k8s', 'sync-catalog',
      `--http-addr=${serverAddress(ctx)}`,
      `--to-consul=${s.toConsul}`,
      `--to-k8s=${s.toK8S}`,
      `--k8s-default-sync=${s.default}`,
      `--k8s-write-namespace=${ctx.namespace}`,
      ...repeatFlag('--allow-k8s-namespace', s.k8sAllowNamespaces),
      ...repeatFlag('--deny-k8s-namespace', s.k8sDenyNamespaces),
      ...switchFlag('--add-k8s-namespace-suffix', s.addK8SNamespaceSuffix),
      `--consul-service-prefix=${s.consulPrefix}`,
      `--k8s-tag=${s.k8sTag}`,
      `--node-port-sync-type=${s.nodePortSyncType}`,
      `--sync-clusterip-services=${s.syncClusterIPServices}`,
      `--consul-node-name=${s.consulNodeName}`,
      `--consul-domain=${global.domain}`,
    ], { env: [POD_NAMESPACE_ENV, tokenEnv(ctx, 'sync-catalog', not(global.acls.manageSystemACLs))] })]),
  ];
}

/** Writing the ExternalName Services (`src/kubernetes/sync/to-k8s.ts`): only in the release namespace. */
export function syncCatalogToK8sObjects(ctx: BuildContext): KubeObject[] {
  return role(ctx, 'sync-catalog', [{ apiGroups: [''], resources: ['services'], verbs: ['create', 'update', 'delete'] }], '-to-k8s');
}
