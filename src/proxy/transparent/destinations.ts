/**
 * Which mesh service an intercepted connection was meant for. In transparent mode an application dials a plain
 * address; the sidecar maps the original destination to a service by
 * - the service's virtual IP: the `virtual` or `consul-virtual` tagged address of its instances (what consul-k8s
 *   registers for a Kubernetes ClusterIP, and what `<svc>.virtual.consul` answers), with the instance's port, or
 * - an instance's own address and port in the catalog (Consul's `dialed_directly` behaviour).
 * Only services that have a `connect-proxy` in the catalog are mesh destinations; anything else is not ours and the
 * outbound listener passes it through or refuses it (`mesh_destinations_only`).
 *
 * The index follows the catalog with blocking queries: the service list, then each service's instances.
 */
import type { ConsulClient } from '../../api/client.ts';
import type { CatalogService } from '../../api/types/catalog.ts';
import { unmapIpv4 } from '../../lib/ip/address.ts';
import type { Logger } from '../../lib/logger.ts';

const VIRTUAL_TAGGED_ADDRESSES = ['virtual', 'consul-virtual'] as const;

function key(address: string, port: number): string {
  return `${unmapIpv4(address)}:${port}`;
}

/** Builds the address → service map from every service's catalog instances (pure, tested on its own). */
export function indexInstances(instancesByService: ReadonlyMap<string, readonly CatalogService[]>): Map<string, string> {
  const meshServices = new Set<string>();
  for (const instances of instancesByService.values()) {
    for (const instance of instances) {
      const destination = instance.ServiceProxy?.DestinationServiceName;
      if (instance.ServiceKind === 'connect-proxy' && destination) meshServices.add(destination);
    }
  }
  const byAddress = new Map<string, string>();
  for (const [service, instances] of instancesByService) {
    if (!meshServices.has(service)) continue;
    for (const instance of instances) {
      if (instance.ServiceKind && instance.ServiceKind !== 'typical') continue;
      const address = instance.ServiceAddress || instance.Address;
      if (address && instance.ServicePort) byAddress.set(key(address, instance.ServicePort), service);
      for (const tag of VIRTUAL_TAGGED_ADDRESSES) {
        const virtual = instance.ServiceTaggedAddresses?.[tag];
        if (virtual?.Address) byAddress.set(key(virtual.Address, virtual.Port || instance.ServicePort), service);
      }
    }
  }
  return byAddress;
}

export interface DestinationIndexOptions {
  client: ConsulClient;
  logger: Logger;
  /** `?wait=` of each blocking query, ms; default the server's (5 min). */
  waitMs?: number;
}

/** The live address → service map; `lookup` is synchronous, the map is replaced whenever the catalog changes. */
export class DestinationIndex {
  #byAddress = new Map<string, string>();
  readonly #instances = new Map<string, readonly CatalogService[]>();
  readonly #watches = new Map<string, AbortController>();
  readonly #abort = new AbortController();
  readonly #options: DestinationIndexOptions;
  #firstSync: Promise<void>;
  #resolveFirstSync!: () => void;

  constructor(options: DestinationIndexOptions) {
    this.#options = options;
    this.#firstSync = new Promise((resolve) => (this.#resolveFirstSync = resolve));
  }

  /** Starts following the catalog; resolves once the first full view is built. */
  start(): Promise<void> {
    void this.#followServiceList();
    return this.#firstSync;
  }

  lookup(address: string, port: number): string | undefined {
    return this.#byAddress.get(key(address, port));
  }

  close(): void {
    this.#abort.abort();
    for (const controller of this.#watches.values()) controller.abort();
  }

  async #followServiceList(): Promise<void> {
    const { client, logger } = this.#options;
    try {
      for await (const { value } of client.watch((q) => client.catalog.services(q), { ...this.#waitOption(), signal: this.#abort.signal, onError: (err) => logger.warn({ err }, 'catalog services watch failed') })) {
        const names = new Set(Object.keys(value));
        for (const [name, controller] of this.#watches) {
          if (names.has(name)) continue;
          controller.abort();
          this.#watches.delete(name);
          this.#instances.delete(name);
        }
        const pending: Array<Promise<void>> = [];
        for (const name of names) if (!this.#watches.has(name)) pending.push(this.#followService(name));
        await Promise.all(pending);
        this.#rebuild();
        this.#resolveFirstSync();
      }
    } catch (err) {
      if (!this.#abort.signal.aborted) logger.error({ err }, 'transparent destination index stopped');
    }
  }

  /** Starts a watch on one service; resolves after its first answer so the first index is complete. */
  #followService(name: string): Promise<void> {
    const { client, logger } = this.#options;
    const controller = new AbortController();
    this.#watches.set(name, controller);
    const signal = AbortSignal.any([controller.signal, this.#abort.signal]);
    return new Promise<void>((first) => {
      void (async () => {
        try {
          for await (const { value } of client.watch((q) => client.catalog.service(name, q), { ...this.#waitOption(), signal, onError: (err) => logger.warn({ err, service: name }, 'catalog service watch failed') })) {
            this.#instances.set(name, value);
            this.#rebuild();
            first();
          }
        } catch (err) {
          if (!signal.aborted) logger.error({ err, service: name }, 'catalog service watch stopped');
        } finally {
          first();
        }
      })();
    });
  }

  #waitOption(): { waitMs?: number } {
    return this.#options.waitMs !== undefined ? { waitMs: this.#options.waitMs } : {};
  }

  #rebuild(): void {
    this.#byAddress = indexInstances(this.#instances);
  }
}
