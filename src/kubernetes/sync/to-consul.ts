/**
 * Kubernetes → catalog: keeps the catalog's `k8s-sync` node equal to what the cluster's Services, EndpointSlices
 * and Nodes say (registrations from `to-consul-registrations.ts`). Every change in one of the three caches
 * schedules a reconcile; a periodic reconcile repairs drift made behind our back (someone deregistering a synced
 * instance). A reconcile registers what is missing or changed and deregisters instances on our node that carry
 * `external-source=kubernetes` but are no longer wanted — nothing else on the node, nothing on other nodes, is touched.
 * Only the leader writes (see LeaderElector); followers keep their caches warm.
 */
import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1EndpointSlice, type V1Node, type V1Service } from '@kubernetes/client-node';
import type { ConsulClient } from '../../api/client.ts';
import type { CatalogRegistration } from '../../api/types/catalog.ts';
import type { Logger } from '../../lib/logger.ts';
import { Watched } from '../informer.ts';
import { ReconcileLoop } from '../reconcile-loop.ts';
import { registrationsFor, type ToConsulOptions } from './to-consul-registrations.ts';

export interface ToConsulSyncerOptions extends ToConsulOptions {
  kubeConfig: KubeConfig;
  consul: ConsulClient;
  logger: Logger;
  /** Periodic full reconcile; consul-k8s's `-consul-write-interval` (default 30 s). */
  resyncIntervalMs?: number;
  /** Changes are coalesced for this long before a reconcile (consul-k8s waits for a quiet period too). */
  quietPeriodMs?: number;
}

export class ToConsulSyncer {
  readonly #options: ToConsulSyncerOptions;
  readonly #services: Watched<V1Service>;
  readonly #slices: Watched<V1EndpointSlice>;
  readonly #nodes: Watched<V1Node>;
  /** ID → JSON of what we last registered, so an unchanged instance is not re-sent on every reconcile. */
  readonly #written = new Map<string, string>();
  readonly #loop: ReconcileLoop;
  /** Reconciles done, for tests and metrics. */
  reconciles = 0;

  constructor(options: ToConsulSyncerOptions) {
    this.#options = options;
    const { kubeConfig, logger } = options;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const discovery = kubeConfig.makeApiClient(DiscoveryV1Api);
    const onChange = (): void => this.trigger();
    this.#services = new Watched({ kubeConfig, logger, onChange, path: '/api/v1/services', list: () => core.listServiceForAllNamespaces() });
    this.#slices = new Watched({ kubeConfig, logger, onChange, path: '/apis/discovery.k8s.io/v1/endpointslices', list: () => discovery.listEndpointSliceForAllNamespaces() });
    this.#nodes = new Watched({ kubeConfig, logger, onChange, path: '/api/v1/nodes', list: () => core.listNode() });
    this.#loop = new ReconcileLoop({
      reconcile: () => this.reconcile(), logger, what: 'sync to the catalog',
      caches: [this.#services, this.#slices, this.#nodes],
      resyncIntervalMs: options.resyncIntervalMs ?? 30_000,
      onStartedLeading: () => this.#written.clear(),
      ...(options.quietPeriodMs !== undefined ? { quietPeriodMs: options.quietPeriodMs } : {}),
    });
  }

  start(): Promise<void> {
    return this.#loop.start();
  }

  setLeading(leading: boolean): void {
    this.#loop.setLeading(leading);
  }

  trigger(): void {
    this.#loop.trigger();
  }

  desired(): CatalogRegistration[] {
    const nodes = new Map(this.#nodes.items().map((n) => [n.metadata?.name ?? '', n]));
    const slicesByService = new Map<string, V1EndpointSlice[]>();
    for (const slice of this.#slices.items()) {
      const owner = slice.metadata?.labels?.['kubernetes.io/service-name'];
      if (!owner) continue;
      const key = `${slice.metadata?.namespace ?? 'default'}/${owner}`;
      slicesByService.set(key, [...(slicesByService.get(key) ?? []), slice]);
    }
    return this.#services.items().flatMap((svc) =>
      registrationsFor(svc, slicesByService.get(`${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name}`) ?? [], nodes, this.#options));
  }

  async reconcile(): Promise<void> {
    if (!this.#loop.leading) return;
    const { consul, consulNodeName, logger } = this.#options;
    const desired = this.desired();
    const current = (await consul.catalog.nodeServices(consulNodeName)).value?.Services ?? [];
    const ours = current.filter((s) => s.Meta?.['external-source'] === 'kubernetes');
    const present = new Set(ours.map((s) => s.ID));
    const wanted = new Set<string>();
    for (const reg of desired) {
      const id = reg.Service!.ID!;
      wanted.add(id);
      const json = JSON.stringify(reg);
      if (present.has(id) && this.#written.get(id) === json) continue;
      await consul.catalog.register(reg);
      this.#written.set(id, json);
      logger.debug({ service: reg.Service!.Service, id }, 'registered');
    }
    for (const svc of ours) {
      if (wanted.has(svc.ID)) continue;
      await consul.catalog.deregister({ Node: consulNodeName, ServiceID: svc.ID });
      this.#written.delete(svc.ID);
      logger.debug({ service: svc.Service, id: svc.ID }, 'deregistered');
    }
    this.reconciles++;
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
