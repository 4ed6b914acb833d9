/**
 * Traefik's configuration watcher (pkg/server/configurationwatcher.go): keeps the latest configuration of each
 * provider, merges them with qualified names, drops a merge identical to the one applied, and throttles bursts
 * (`providers.providersThrottleDuration`) so a flapping source causes one rebuild per window, always with the latest.
 * Merging and comparing run in slices (a configuration of 400,000 routers must not stall requests), one apply at a
 * time; a merged configuration with more routers than `providers.maxRouters` is rejected whole.
 */
import type { Logger } from '../../lib/logger.ts';
import { markPhase } from '../../lib/phases.ts';
import { Slicer } from '../../lib/slices.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { configDigest } from '../config/digest.ts';
import { ConfigErrors } from '../config/errors.ts';
import { mergeConfigurationsSliced } from '../config/merge.ts';
import type { Provider } from './provider.ts';

export interface AggregatorOptions {
  throttleMs: number;
  logger: Logger;
  /** `providers.maxRouters`: the most routers a merged configuration may have (default: no limit). */
  maxRouters?: number;
  /** Called with each new merged configuration and the per-provider configurations it came from. */
  onConfiguration(merged: DynamicConfig, byProvider: ReadonlyMap<string, DynamicConfig>): void;
  /** Called when a merged configuration is rejected (over a limit); the applied one stays. */
  onRejected?(error: Error): void;
}

export class ProviderAggregator {
  readonly #options: AggregatorOptions;
  readonly #byProvider = new Map<string, DynamicConfig>();
  readonly #controller = new AbortController();
  #lastApplied = '';
  #lastAppliedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #providers: Provider[] = [];
  /** The apply in progress; a newer request waits for it, then applies the latest. */
  #applying: Promise<void> | undefined;
  #again = false;

  constructor(options: AggregatorOptions) {
    this.#options = options;
  }

  /** Seeds configurations known before any provider reports (the persisted last good one); applied at once. */
  async seed(byProvider: Record<string, DynamicConfig>): Promise<void> {
    for (const [name, config] of Object.entries(byProvider)) this.#byProvider.set(name, config);
    await this.#apply();
  }

  /** Starts every provider; a provider that fails to start is logged and the others keep going. */
  async start(providers: Provider[]): Promise<void> {
    this.#providers = providers;
    await Promise.all(
      providers.map(async (provider) => {
        try {
          await provider.start((config) => this.accept(provider.name, config), this.#controller.signal);
        } catch (err) {
          this.#options.logger.error({ err, provider: provider.name }, 'provider failed to start');
        }
      }),
    );
  }

  /** A provider's new configuration (replaces what it said before). */
  accept(provider: string, config: DynamicConfig): void {
    this.#byProvider.set(provider, config);
    if (this.#timer) return; // the pending apply will take the latest
    const wait = this.#lastAppliedAt + this.#options.throttleMs - Date.now();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#apply();
    }, Math.max(0, wait));
  }

  /** Applies a pending (throttled) configuration now and waits for it; used once at start so serving begins with it. */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.#apply();
    }
    while (this.#applying) await this.#applying;
  }

  /** SIGHUP: every provider that can re-read its source does so now. */
  reload(): void {
    for (const provider of this.#providers) provider.reload?.();
  }

  snapshot(): ReadonlyMap<string, DynamicConfig> {
    return this.#byProvider;
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller.abort();
  }

  #apply(): Promise<void> {
    if (this.#applying) {
      this.#again = true;
      return this.#applying;
    }
    this.#applying = (async () => {
      try {
        do {
          this.#again = false;
          await this.#applyOnce();
        } while (this.#again && !this.#controller.signal.aborted);
      } catch (err) {
        this.#options.logger.error({ err }, 'merging the providers\' configurations failed; the applied one stays');
      } finally {
        this.#applying = undefined;
      }
    })();
    return this.#applying;
  }

  async #applyOnce(): Promise<void> {
    const slicer = new Slicer();
    const byProvider = new Map(this.#byProvider);
    const providers = [...byProvider.keys()].sort();
    let key = '';
    for (const name of providers) key += `${name}=${await configDigest(byProvider.get(name)!, slicer)};`;
    if (key === this.#lastApplied) return;
    markPhase('aggregator:merge');
    const counts = { routers: 0 };
    const merged = await mergeConfigurationsSliced(byProvider, slicer, counts);
    const max = this.#options.maxRouters;
    if (max !== undefined) {
      // Counted while merging: enumerating 50,000 names again would be one more step of 10–15 ms.
      const { routers } = counts;
      if (routers > max) {
        const error = ConfigErrors.limit('the merged dynamic configuration', `its ${routers} routers`, 'providers.maxRouters', max);
        this.#options.logger.error({ err: { code: error.code, message: error.message } }, 'configuration rejected');
        this.#options.onRejected?.(error);
        return;
      }
    }
    this.#lastApplied = key;
    this.#lastAppliedAt = Date.now();
    // Whoever receives it starts work synchronously (the build's first step, the last good copy's first section).
    await slicer.fresh();
    markPhase('aggregator:merged');
    this.#options.onConfiguration(merged, byProvider);
  }
}
