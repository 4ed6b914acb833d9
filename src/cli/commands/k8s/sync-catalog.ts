/**
 * `meshgate k8s sync-catalog` — consul-k8s's `consul-k8s-control-plane sync-catalog`, flag for flag where Meshgate
 * has the feature: Kubernetes Services into the catalog and catalog services back as ExternalName Services, one
 * replica acting at a time (Lease), until SIGINT/SIGTERM.
 */
import { Command, Option } from 'commander';
import { parseDuration } from '../../../lib/duration.ts';
import { createLogger } from '../../../lib/logger.ts';
import { addHttpFlags, clientFrom, type HttpFlags } from '../../http-flags.ts';
import { info, type CliIO } from '../../io.ts';
import { untilSignal } from '../../signals.ts';
import { collect } from '../../repeatable.ts';

interface Flags extends HttpFlags {
  kubeconfig?: string;
  toConsul: string;
  toK8s: string;
  k8sDefaultSync: string;
  k8sWriteNamespace: string;
  allowK8sNamespace: string[];
  denyK8sNamespace: string[];
  addK8sNamespaceSuffix?: boolean;
  consulServicePrefix: string;
  k8sTag: string;
  nodePortSyncType: 'ExternalOnly' | 'ExternalFirst' | 'InternalOnly';
  syncClusteripServices: string;
  consulNodeName: string;
  consulDomain: string;
  consulWriteInterval: string;
  leaderElectionNamespace?: string;
  logLevel?: string;
}

const bool = (value: string): boolean => value !== 'false';

export function k8sSyncCatalogCommand(io: CliIO): Command {
  return addHttpFlags(new Command('sync-catalog'))
    .description('Syncs Kubernetes Services into the catalog and catalog services into Kubernetes')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--to-consul <bool>', 'sync Kubernetes services to the catalog', 'true')
    .option('--to-k8s <bool>', 'sync catalog services to Kubernetes', 'true')
    .option('--k8s-default-sync <bool>', 'sync services without a service-sync annotation', 'true')
    .option('--k8s-write-namespace <ns>', 'namespace the ExternalName services are written to', 'default')
    .option('--allow-k8s-namespace <ns>', 'namespace to sync from (repeatable; * = all)', collect)
    .option('--deny-k8s-namespace <ns>', 'namespace never synced from (repeatable; wins over allow)', collect)
    .option('--add-k8s-namespace-suffix', 'append -<namespace> to synced service names')
    .option('--consul-service-prefix <prefix>', 'prefix of synced service names', '')
    .option('--k8s-tag <tag>', 'tag on every service synced from Kubernetes', 'k8s')
    .addOption(new Option('--node-port-sync-type <type>', 'node address used for NodePort services').choices(['ExternalOnly', 'ExternalFirst', 'InternalOnly']).default('ExternalFirst'))
    .option('--sync-clusterip-services <bool>', 'sync ClusterIP services', 'true')
    .option('--consul-node-name <name>', 'catalog node the synced services are registered on', 'k8s-sync')
    .option('--consul-domain <domain>', 'DNS domain of the mesh, for ExternalName targets', 'consul')
    .option('--consul-write-interval <duration>', 'period of the full reconcile', '30s')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: POD_NAMESPACE or default)')
    .option('--log-level <level>', 'trace, debug, info, warn, error')
    .action(async (flags: Flags) => {
      const { loadKubeConfig } = await import('../../../kubernetes/kubeconfig.ts');
      const { runSyncCatalog } = await import('../../../kubernetes/sync/run.ts');
      const logger = createLogger({ name: 'sync-catalog', ...(flags.logLevel ? { level: flags.logLevel } : {}) });
      const running = await runSyncCatalog({
        kubeConfig: loadKubeConfig(flags.kubeconfig),
        consul: clientFrom(flags, io),
        logger,
        toConsul: bool(flags.toConsul),
        toK8s: bool(flags.toK8s),
        defaultSync: bool(flags.k8sDefaultSync),
        allowNamespaces: new Set(flags.allowK8sNamespace ?? ['*']),
        denyNamespaces: new Set(flags.denyK8sNamespace ?? ['kube-system', 'kube-public']),
        syncClusterIpServices: bool(flags.syncClusteripServices),
        nodePortSyncType: flags.nodePortSyncType,
        addK8sNamespaceSuffix: flags.addK8sNamespaceSuffix === true,
        servicePrefix: flags.consulServicePrefix,
        k8sTag: flags.k8sTag,
        consulNodeName: flags.consulNodeName,
        k8sWriteNamespace: flags.k8sWriteNamespace,
        domain: flags.consulDomain,
        resyncIntervalMs: parseDuration(flags.consulWriteInterval, '-consul-write-interval'),
        leaseNamespace: flags.leaderElectionNamespace ?? io.env['POD_NAMESPACE'] ?? 'default',
      });
      info(io, '==> Meshgate catalog sync running');
      await untilSignal(['SIGINT', 'SIGTERM']);
      await running.close();
    });
}
