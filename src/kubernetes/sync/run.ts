/**
 * `meshgate k8s sync-catalog` put together: both directions (each switchable), one Lease so two replicas never
 * both write, and a clean stop. On becoming leader each direction reconciles everything it owns at once, which
 * removes stale entries it wrote before a restart and touches nothing it does not own.
 */
import type { ConsulClient } from '../../api/client.ts';
import { electLeader, type LeaderElector, type LeaseSettings } from '../leader.ts';
import { ToConsulSyncer } from './to-consul.ts';
import type { ToConsulOptions } from './to-consul-registrations.ts';
import { ToK8sSink } from './to-k8s.ts';

export interface SyncCatalogOptions extends ToConsulOptions, LeaseSettings {
  consul: ConsulClient;
  toConsul: boolean;
  toK8s: boolean;
  k8sWriteNamespace: string;
  domain: string;
  resyncIntervalMs?: number;
}

export interface RunningSyncCatalog {
  readonly elector: LeaderElector;
  readonly toConsul: ToConsulSyncer | undefined;
  readonly toK8s: ToK8sSink | undefined;
  close(): Promise<void>;
}

export async function runSyncCatalog(options: SyncCatalogOptions): Promise<RunningSyncCatalog> {
  const { kubeConfig, consul, logger } = options;
  const toConsul = options.toConsul
    ? new ToConsulSyncer({ ...options, logger: logger.child({ direction: 'to-consul' }), ...(options.resyncIntervalMs ? { resyncIntervalMs: options.resyncIntervalMs } : {}) })
    : undefined;
  const toK8s = options.toK8s
    ? new ToK8sSink({ kubeConfig, consul, logger: logger.child({ direction: 'to-k8s' }), namespace: options.k8sWriteNamespace, k8sTag: options.k8sTag, domain: options.domain })
    : undefined;
  await Promise.all([toConsul?.start(), toK8s?.start()]);
  const elector = electLeader(options, 'meshgate-sync-catalog', [toConsul, toK8s]);
  return {
    elector,
    toConsul,
    toK8s,
    async close() {
      await elector.stop();
      await Promise.all([toConsul?.stop(), toK8s?.stop()]);
    },
  };
}
