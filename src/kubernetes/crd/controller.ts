/**
 * The CRD controller (consul-k8s's config-entry controllers): each consul.hashicorp.com resource is written as
 * its configuration entry and reports a `Synced` condition — True, or False with the server's reason
 * (`ConsulAgentError`) or `ExternallyManagedConfigError` when an entry of that name exists that Kubernetes did not
 * create (it is never overwritten). A finalizer (`finalizers.consul.hashicorp.com`) holds a deleted resource until its
 * entry is deleted; an entry we do not own is left in place. Status is written only when it changes, so the
 * controller's own writes do not make it loop. Only the Lease holder acts.
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { ConsulClient } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { Watched } from '../informer.ts';
import { ReconcileLoop } from '../reconcile-loop.ts';
import { SOURCE_DATACENTER_KEY, toConfigEntry } from './convert.ts';
import { CRD_GROUP, CRD_KINDS, CRD_VERSION, type CrdKind } from './kinds.ts';

export const FINALIZER = 'finalizers.consul.hashicorp.com';

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

type CrdObject = KubernetesObject & {
  spec?: Record<string, unknown>;
  status?: { conditions?: Condition[]; lastSyncedTime?: string };
};

export interface CrdControllerOptions {
  kubeConfig: KubeConfig;
  consul: ConsulClient;
  logger: Logger;
  datacenter: string;
  quietPeriodMs?: number;
}

export class CrdController {
  readonly #options: CrdControllerOptions;
  readonly #api: CustomObjectsApi;
  readonly #watched = new Map<CrdKind, Watched<CrdObject>>();
  readonly #loop: ReconcileLoop;

  constructor(options: CrdControllerOptions) {
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const kind of CRD_KINDS) {
      this.#watched.set(kind, new Watched<CrdObject>({
        kubeConfig: options.kubeConfig, logger: options.logger, onChange: () => this.trigger(),
        path: `/apis/${CRD_GROUP}/${CRD_VERSION}/${kind.plural}`,
        list: () => this.#api.listCustomObjectForAllNamespaces({ group: CRD_GROUP, version: CRD_VERSION, resourcePlural: kind.plural }),
      }));
    }
    this.#loop = new ReconcileLoop({
      reconcile: () => this.reconcileAll(), logger: options.logger, what: 'CRD reconcile', caches: [...this.#watched.values()],
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

  async reconcileAll(): Promise<void> {
    if (!this.#loop.leading) return;
    for (const [kind, watched] of this.#watched) {
      for (const object of watched.items()) await this.#reconcile(kind, object);
    }
  }

  async #reconcile(kind: CrdKind, object: CrdObject): Promise<void> {
    const { consul, datacenter, logger } = this.#options;
    const namespace = object.metadata?.namespace ?? 'default';
    const name = object.metadata?.name ?? '';
    const entryName = kind.entryName(object);
    const existing = entryName ? (await consul.configEntries.get(kind.entryKind, entryName)).value as { Meta?: Record<string, string> } | null : null;
    const ours = existing?.Meta?.[SOURCE_DATACENTER_KEY] === datacenter;
    const finalizers = object.metadata?.finalizers ?? [];

    if (object.metadata?.deletionTimestamp) {
      if (!finalizers.includes(FINALIZER)) return;
      if (existing && ours) await consul.configEntries.delete(kind.entryKind, entryName);
      await this.#replace(kind, { ...object, metadata: { ...object.metadata, finalizers: finalizers.filter((f) => f !== FINALIZER) } });
      logger.info({ kind: kind.kind, namespace, name }, 'config entry deleted with its resource');
      return;
    }
    if (!finalizers.includes(FINALIZER)) {
      // Added first, so the entry can never outlive a resource deleted right after it was written.
      await this.#replace(kind, { ...object, metadata: { ...object.metadata, finalizers: [...finalizers, FINALIZER] } });
      return; // the update's watch event brings the object back with its new resourceVersion
    }
    let condition: Condition;
    if (!entryName) {
      condition = { type: 'Synced', status: 'False', reason: 'ConsulAgentError', message: 'the configuration entry has no name (ServiceIntentions needs spec.destination.name)' };
    } else if (existing && !ours) {
      const other = existing.Meta?.[SOURCE_DATACENTER_KEY];
      condition = {
        type: 'Synced', status: 'False', reason: 'ExternallyManagedConfigError',
        message: other ? `config entry managed in different datacenter: "${other}"` : 'config entry already exists in Consul',
      };
    } else {
      try {
        await consul.configEntries.set(toConfigEntry(kind, object, datacenter) as never);
        condition = { type: 'Synced', status: 'True' };
      } catch (err) {
        condition = { type: 'Synced', status: 'False', reason: 'ConsulAgentError', message: (err as Error).message };
      }
    }
    await this.#setCondition(kind, object, condition);
  }

  async #replace(kind: CrdKind, body: CrdObject): Promise<void> {
    await this.#api.replaceNamespacedCustomObject({
      group: CRD_GROUP, version: CRD_VERSION, plural: kind.plural, namespace: body.metadata?.namespace ?? 'default', name: body.metadata?.name ?? '', body,
    });
  }

  async #setCondition(kind: CrdKind, object: CrdObject, condition: Condition): Promise<void> {
    const current = object.status?.conditions?.find((c) => c.type === 'Synced');
    if (current && current.status === condition.status && current.reason === condition.reason && current.message === condition.message) return;
    const now = new Date().toISOString();
    const status = { ...object.status, conditions: [{ ...condition, lastTransitionTime: now }], ...(condition.status === 'True' ? { lastSyncedTime: now } : {}) };
    await this.#api.replaceNamespacedCustomObjectStatus({
      group: CRD_GROUP, version: CRD_VERSION, plural: kind.plural, namespace: object.metadata?.namespace ?? 'default', name: object.metadata?.name ?? '',
      body: { ...object, status },
    });
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }
}
