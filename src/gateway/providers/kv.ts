/**
 * Traefik's KV providers (pkg/provider/kv): `providers.consul`, `providers.etcd` and `providers.redis` keep the
 * dynamic configuration under `rootKey` in a key-value store. Each store module (kv-consul.ts, kv-etcd.ts,
 * kv-redis.ts) only lists and watches the keys under `<rootKey>/`; this module turns every listing into one
 * configuration (kv-decode.ts) and emits it when it changed. As in Traefik's watchKv, any change under the root
 * rebuilds the whole configuration; a listing that does not decode is logged once, naming the key, and the last good
 * configuration keeps serving. A store that cannot be reached is retried by its module with backoff, and nothing is
 * emitted meanwhile.
 *
 * The store modules and their client packages (etcd3, ioredis) are imported only when the static configuration
 * names the provider, so a gateway without a KV provider never loads them (docs/benchmarks.md, "Gateway memory").
 */
import { readFileSync } from 'node:fs';
import { backoffDelay } from '../../api/watch.ts';
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { decodeKvPairs } from './kv-decode.ts';
import { registerProvider, type Provider } from './provider.ts';
import type { ClientTlsConfig, ConsulKvConfig, EtcdKvConfig, RedisKvConfig } from '../config/schema/providers.ts';

/** What a store module offers: the pairs under a prefix, now and after every change, until `signal` aborts. */
export interface KvWatcher {
  /**
   * Calls `onPairs` with every pair under `prefix` (keys as stored, values as text) once at start and again after
   * any change under it. Transport failures are retried inside with backoff and reported through `onError`; the
   * returned promise settles when the watch has stopped (signal aborted).
   */
  watchTree(prefix: string, onPairs: (pairs: Array<[string, string]>) => void, onError: (err: Error) => void, signal: AbortSignal): Promise<void>;
}

export interface KvProviderOptions {
  /** Provider name, the `@` suffix: `consul`, `etcd`, `redis`. */
  name: string;
  rootKey: string;
  logger: Logger;
  /** Builds the store client (imported lazily by the caller). */
  connect: () => Promise<KvWatcher>;
  /** Quiet window folding a burst of changes into one rebuild. Default 20ms. */
  debounceMs?: number;
  onError?: (error: Error) => void;
}

export class KvProvider implements Provider {
  readonly name: string;
  readonly #options: KvProviderOptions;
  readonly #logger: Logger;
  #pairs: Array<[string, string]> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastEmitted: string | undefined;
  #lastError: string | undefined;
  #unreachable = false;
  #stopped = false;

  constructor(options: KvProviderOptions) {
    this.name = options.name;
    this.#options = options;
    this.#logger = options.logger.child({ provider: options.name });
  }

  /** Returns once the watch is set up; the first configuration follows when the store answers. */
  async start(emit: (config: DynamicConfig) => void, signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.#stop(), { once: true });
    const store = await this.#options.connect();
    if (signal.aborted) return;
    const prefix = `${this.#options.rootKey}/`;
    void store
      .watchTree(
        prefix,
        (pairs) => {
          if (this.#unreachable) this.#logger.info({ rootKey: this.#options.rootKey }, `${this.name}: the store is reachable again`);
          this.#unreachable = false;
          this.#pairs = pairs;
          this.#schedule(emit);
        },
        (err) => {
          // Once per outage: a store that is down for an hour does not write a line per retry.
          if (!this.#unreachable) this.#logger.error({ err: { code: (err as { code?: string }).code, message: err.message } }, `${this.name}: cannot read the store; keeping the last configuration and retrying`);
          this.#unreachable = true;
        },
        signal,
      )
      .catch((err: unknown) => {
        if (!signal.aborted) this.#logger.error({ err }, `${this.name}: the watch stopped`);
      });
  }

  #schedule(emit: (config: DynamicConfig) => void): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#rebuild(emit);
    }, this.#options.debounceMs ?? 20);
  }

  #rebuild(emit: (config: DynamicConfig) => void): void {
    if (this.#stopped || this.#pairs === undefined) return;
    let config: DynamicConfig;
    try {
      config = decodeKvPairs(this.#pairs, this.#options.rootKey, `${this.name} key "${this.#options.rootKey}/"`);
    } catch (err) {
      const message = (err as Error).message;
      // The same bad key is reported once, not again on every unrelated change.
      if (message !== this.#lastError) {
        this.#logger.error({ err: { code: (err as { code?: string }).code, message } }, `${this.name}: configuration rejected, keeping the previous one`);
        this.#options.onError?.(err as Error);
      }
      this.#lastError = message;
      return;
    }
    this.#lastError = undefined;
    const text = JSON.stringify(config);
    if (text === this.#lastEmitted) return;
    this.#lastEmitted = text;
    emit(config);
  }

  #stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Static key → the lazily imported store module's watcher for that block. */
const STORES: Record<'consul' | 'etcd' | 'redis', (block: never, logger: Logger) => Promise<KvWatcher>> = {
  consul: async (block: ConsulKvConfig, logger) => (await import('./kv-consul.ts')).consulKvWatcher(block, logger),
  etcd: async (block: EtcdKvConfig, logger) => (await import('./kv-etcd.ts')).etcdKvWatcher(block, logger),
  redis: async (block: RedisKvConfig) => (await import('./kv-redis.ts')).redisKvWatcher(block),
};

for (const [name, connect] of Object.entries(STORES)) {
  registerProvider(name, ({ staticConfig, logger, reportError }) => {
    const block = staticConfig.providers[name as keyof typeof STORES];
    if (!block) return undefined;
    return new KvProvider({
      name,
      rootKey: block.rootKey,
      logger,
      connect: () => connect(block as never, logger),
      ...(reportError ? { onError: (err: Error) => reportError(name, err) } : {}),
    });
  });
}

/**
 * For stores that notify rather than block (etcd's watch, Redis keyspace events): returns a trigger that lists the
 * prefix and reports the pairs. Triggers while a listing runs fold into one more listing after it, so a burst of
 * key events costs two listings, not one per key; a failed listing is reported and retried with backoff.
 */
export function relister(
  list: () => Promise<Array<[string, string]>>,
  onPairs: (pairs: Array<[string, string]>) => void,
  onError: (err: Error) => void,
  signal: AbortSignal,
): () => void {
  let running = false;
  let again = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  signal.addEventListener('abort', () => clearTimeout(retry), { once: true });
  const run = async (): Promise<void> => {
    running = true;
    try {
      do {
        again = false;
        const pairs = await list();
        failures = 0;
        if (!signal.aborted) onPairs(pairs);
      } while (again && !signal.aborted);
    } catch (err) {
      if (signal.aborted) return;
      failures++;
      onError(err as Error);
      clearTimeout(retry);
      retry = setTimeout(trigger, backoffDelay(failures, { initialMs: 250, maxMs: 15_000 }));
    } finally {
      running = false;
    }
  };
  const trigger = (): void => {
    if (signal.aborted) return;
    if (running) again = true;
    else void run();
  };
  return trigger;
}

/** The block as Node's TLS options (files read now, so a missing file fails when the provider starts). */
export function clientTlsOptions(tls: ClientTlsConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean } {
  return {
    ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
    ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
    ...(tls.key ? { key: readFileSync(tls.key) } : {}),
    rejectUnauthorized: !tls.insecureSkipVerify,
  };
}
