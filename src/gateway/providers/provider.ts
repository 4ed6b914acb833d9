/**
 * The contract every source of dynamic configuration fulfils (Traefik's pkg/provider): the file provider now, the
 * Consul catalog provider next. A provider turns its source into one complete `DynamicConfig` (names unqualified;
 * the aggregator appends `@<name>`) and emits it whenever the source changes.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { PROVIDER_SETTINGS, type StaticConfig } from '../config/static.ts';

export interface Provider {
  /** Lower-case provider name, the `@` suffix of everything it emits: `file`, `consulcatalog`. */
  readonly name: string;
  /**
   * Starts watching. Resolves once the provider is running — never waits on a remote (the gateway serves the last
   * good configuration meanwhile); the first configuration may be emitted before or after it resolves. Each `emit`
   * replaces everything this provider said before, and should only carry a configuration that passed
   * `validateDynamicConfig` (a source that becomes invalid emits nothing, so the previous one keeps serving).
   * Stops watching, closes its handles and lets pending work end when `signal` aborts.
   */
  start(emit: (config: DynamicConfig) => void, signal: AbortSignal): Promise<void>;
  /** Re-reads the source now (SIGHUP). Optional: push-based providers need not implement it. */
  reload?(): void;
}

export interface ProviderContext {
  readonly staticConfig: StaticConfig;
  readonly logger: Logger;
  /**
   * A provider calls this when its source changed but could not be used (a file that does not parse or breaks the
   * schema); it counts as a failed configuration reload (`traefik_config_reloads_failure_total`). Optional to call.
   */
  reportError?(provider: string, error: Error): void;
}

/** Builds a provider from its static block (`providers.<key>`); registered per key so new providers plug in. */
export type ProviderFactory = (context: ProviderContext) => Provider | undefined;

const factories = new Map<string, ProviderFactory>();

/** `key` is the static configuration key under `providers` (`file`, `consulCatalog`). */
export function registerProvider(key: string, factory: ProviderFactory): void {
  if (factories.has(key)) throw new Error(`provider "${key}" is already registered`);
  factories.set(key, factory);
}

/** Creates every provider whose block is present in the static configuration. */
export function createProviders(context: ProviderContext): Provider[] {
  const providers: Provider[] = [];
  const blocks = context.staticConfig.providers as Record<string, unknown>;
  for (const [key, block] of Object.entries(blocks)) {
    if (block === undefined || PROVIDER_SETTINGS.has(key)) continue;
    const factory = factories.get(key);
    if (!factory) {
      context.logger.warn({ provider: key }, `providers.${key} is configured but this build has no such provider; it is ignored`);
      continue;
    }
    const provider = factory(context);
    if (provider) providers.push(provider);
  }
  return providers;
}
