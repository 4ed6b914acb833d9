/**
 * A list-then-watch cache of one resource kind on `@kubernetes/client-node`'s informer, with what its informers
 * leave to the caller: restart after a connection error (with backoff, so a down API server is not hammered), a
 * promise for the first complete list, and one `onChange` for every add, update and delete — the controllers here
 * recompute their whole desired state from the cache, so they need to know *that* something changed, not what.
 * A 410 Gone on resume is handled by the informer itself (it relists).
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../lib/logger.ts';

export interface WatchedOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection path, e.g. `/api/v1/services` or `/api/v1/namespaces/ns/services`. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  onChange: () => void;
  logger: Logger;
  /** First restart delay after an error; doubles up to 30 s. */
  restartDelayMs?: number;
}

export class Watched<T extends KubernetesObject> {
  readonly #informer: Informer<T> & ObjectCache<T>;
  #stopped = false;
  #delay: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: WatchedOptions<T>) {
    this.#delay = options.restartDelayMs ?? 500;
    this.#informer = makeInformer(options.kubeConfig, options.path, options.list, options.labelSelector);
    const changed = (): void => {
      this.#delay = options.restartDelayMs ?? 500;
      options.onChange();
    };
    this.#informer.on('add', changed);
    this.#informer.on('update', changed);
    this.#informer.on('delete', changed);
    this.#informer.on('connect', () => options.onChange());
    this.#informer.on('error', (err) => {
      if (this.#stopped) return;
      options.logger.warn({ err, path: options.path }, 'watch failed; restarting');
      this.#timer = setTimeout(() => void this.#start().catch(() => undefined), this.#delay);
      this.#delay = Math.min(this.#delay * 2, 30_000);
    });
  }

  /** Starts watching; resolves once the first list has been applied. */
  async start(): Promise<void> {
    await this.#start();
  }

  async #start(): Promise<void> {
    if (this.#stopped) return;
    await this.#informer.start();
  }

  items(): readonly T[] {
    return this.#informer.list();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#informer.stop();
  }
}
