/**
 * Traefik's configuration watcher (pkg/server/configurationwatcher.go): keeps the latest configuration of each
 * provider, merges them with qualified names, drops a merge identical to the one applied, and throttles bursts
 * (`providers.providersThrottleDuration`) so a flapping source causes one rebuild per window, always with the latest.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { mergeConfigurations } from '../config/merge.ts';
import type { Provider } from './provider.ts';

export interface AggregatorOptions {
  throttleMs: number;
  logger: Logger;
  /** Called with each new merged configuration and the per-provider configurations it came from. */
  onConfiguration(merged: DynamicConfig, byProvider: ReadonlyMap<string, DynamicConfig>): void;
}

export class ProviderAggregator {
  readonly #options: AggregatorOptions;
  readonly #byProvider = new Map<string, DynamicConfig>();
  readonly #controller = new AbortController();
  #lastApplied = '';
  #lastAppliedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #providers: Provider[] = [];

  constructor(options: AggregatorOptions) {
    this.#options = options;
  }

  /** Seeds configurations known before any provider reports (the persisted last good one); applied at once. */
  seed(byProvider: Record<string, DynamicConfig>): void {
    for (const [name, config] of Object.entries(byProvider)) this.#byProvider.set(name, config);
    this.#apply();
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
      this.#apply();
    }, Math.max(0, wait));
  }

  /** Applies a pending (throttled) configuration now; used once at start so serving begins with it. */
  flush(): void {
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#apply();
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

  #apply(): void {
    const merged = mergeConfigurations(this.#byProvider);
    const text = JSON.stringify(merged);
    if (text === this.#lastApplied) return;
    this.#lastApplied = text;
    this.#lastAppliedAt = Date.now();
    this.#options.onConfiguration(merged, new Map(this.#byProvider));
  }
}
