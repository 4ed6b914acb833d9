/**
 * Catalog → Kubernetes: every catalog service that did not come from Kubernetes appears as an `ExternalName`
 * Service (`<name>.service.<domain>`) in one namespace, as consul-k8s's to-k8s sink writes them
 * (control-plane/catalog/to-k8s/sink.go `crudList`): label `consul=true` marks the Services we own, annotation
 * `consul.hashicorp.com/service-sync=false` keeps them from being synced back, a Kubernetes Service of the same
 * name that we do not own is left alone, and names Kubernetes cannot hold (not DNS-1035 labels) are skipped.
 * Services tagged with the k8s tag (what the other direction registers) are never written back: no loop.
 */
import { CoreV1Api, type KubeConfig, type V1Service } from '@kubernetes/client-node';
import type { ConsulClient } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { Watched } from '../informer.ts';
import { ReconcileLoop } from '../reconcile-loop.ts';

export interface ToK8sOptions {
  kubeConfig: KubeConfig;
  consul: ConsulClient;
  logger: Logger;
  /** Namespace the ExternalName Services are written to (consul-k8s `-k8s-write-namespace`, default `default`). */
  namespace: string;
  /** The tag marking services that came from Kubernetes (default `k8s`). */
  k8sTag: string;
  /** DNS domain of the mesh (default `consul`). */
  domain: string;
  quietPeriodMs?: number;
}

const DNS_1035 = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const OWNED_LABEL = 'consul';

/** The Services to create, update and delete so that Kubernetes matches `source` (pure). */
export function crudList(source: ReadonlyMap<string, string>, existing: readonly V1Service[]): { create: V1Service[]; update: V1Service[]; remove: string[] } {
  const owned = new Map<string, V1Service>();
  const foreign = new Set<string>();
  for (const svc of existing) {
    const name = svc.metadata?.name ?? '';
    if (svc.metadata?.labels?.[OWNED_LABEL] === 'true') owned.set(name, svc);
    else foreign.add(name);
  }
  const create: V1Service[] = [];
  const update: V1Service[] = [];
  for (const [name, externalName] of source) {
    const mine = owned.get(name);
    if (mine) {
      if (mine.spec?.externalName !== externalName) update.push({ ...mine, spec: { type: 'ExternalName', externalName } });
      continue;
    }
    if (foreign.has(name)) continue;
    create.push({
      metadata: { name, labels: { [OWNED_LABEL]: 'true' }, annotations: { 'consul.hashicorp.com/service-sync': 'false' } },
      spec: { type: 'ExternalName', externalName },
    });
  }
  const remove = [...owned.keys()].filter((name) => !source.has(name));
  return { create, update, remove };
}

/** Catalog services (name → tags) to the ExternalName each should have, leaving out what came from Kubernetes. */
export function sourceServices(catalog: Record<string, string[]>, k8sTag: string, domain: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, tags] of Object.entries(catalog)) {
    if (name === 'consul' || (tags ?? []).includes(k8sTag)) continue;
    const lower = name.toLowerCase();
    if (!DNS_1035.test(lower)) continue;
    out.set(lower, `${lower}.service.${domain.replace(/\.$/, '')}`);
  }
  return out;
}

export class ToK8sSink {
  readonly #options: ToK8sOptions;
  readonly #core: CoreV1Api;
  readonly #services: Watched<V1Service>;
  readonly #abort = new AbortController();
  #source: Map<string, string> | undefined;
  readonly #loop: ReconcileLoop;

  constructor(options: ToK8sOptions) {
    this.#options = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    const ns = options.namespace;
    this.#services = new Watched({
      kubeConfig: options.kubeConfig, logger: options.logger, onChange: () => this.trigger(),
      path: `/api/v1/namespaces/${ns}/services`, list: () => this.#core.listNamespacedService({ namespace: ns }),
    });
    this.#loop = new ReconcileLoop({
      reconcile: () => this.reconcile(), logger: options.logger, what: 'sync to Kubernetes', caches: [this.#services],
      ...(options.quietPeriodMs !== undefined ? { quietPeriodMs: options.quietPeriodMs } : {}),
    });
  }

  async start(): Promise<void> {
    await this.#loop.start();
    const { consul, logger } = this.#options;
    let first: () => void = () => {};
    const firstAnswer = new Promise<void>((resolve) => (first = resolve));
    void (async () => {
      try {
        for await (const { value } of consul.watch((q) => consul.catalog.services(q), { signal: this.#abort.signal, onError: (err) => logger.warn({ err }, 'catalog watch failed') })) {
          this.#source = sourceServices(value, this.#options.k8sTag, this.#options.domain);
          first();
          this.trigger();
        }
      } catch (err) {
        if (!this.#abort.signal.aborted) logger.error({ err }, 'catalog watch stopped');
      }
    })();
    await firstAnswer;
  }

  setLeading(leading: boolean): void {
    this.#loop.setLeading(leading);
  }

  trigger(): void {
    this.#loop.trigger();
  }

  async reconcile(): Promise<void> {
    if (!this.#loop.leading || !this.#source) return;
    const namespace = this.#options.namespace;
    const { create, update, remove } = crudList(this.#source, this.#services.items());
    for (const name of remove) await this.#core.deleteNamespacedService({ namespace, name }).catch((err: { code?: number }) => {
      if (err.code !== 404) throw err;
    });
    for (const body of update) await this.#core.replaceNamespacedService({ namespace, name: body.metadata!.name!, body });
    for (const body of create) await this.#core.createNamespacedService({ namespace, body }).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop.stop();
  }
}
