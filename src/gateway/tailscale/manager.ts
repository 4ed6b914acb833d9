/**
 * The gateway's Tailscale resolvers as one object for the control plane (main.ts), shaped like gateway/acme's
 * manager: one TailscaleResolver per `certificatesResolvers.<name>.tailscale`, each a provider named
 * `<name>.tailscale` (Traefik's provider name) whose certificates reach the TLS store as `tls.certificates` of the
 * default store, and `observe()`, called with every merged configuration, which hands each resolver its domains.
 */
import type { Logger } from '../../lib/logger.ts';
import { emptyDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import type { Provider } from '../providers/provider.ts';
import type { HeldCertificate } from './certificate.ts';
import { tailscaleDomains } from './domains.ts';
import { TailscaleResolver } from './resolver.ts';

export interface TailscaleManagerOptions {
  /** The renewal clock (tests). */
  readonly now?: () => number;
}

function toConfig(certificates: readonly HeldCertificate[]): DynamicConfig {
  const config = emptyDynamicConfig();
  // PEM text where a file path may go: readFileOrContent takes either, as Traefik's FileOrContent does.
  config.tls.certificates = certificates.map((c) => ({ certFile: c.certPem, keyFile: c.keyPem }));
  return config;
}

export class TailscaleManager {
  readonly resolvers = new Map<string, TailscaleResolver>();
  readonly #providers: Provider[] = [];
  readonly #staticConfig: StaticConfig;

  constructor(staticConfig: StaticConfig, logger: Logger, options: TailscaleManagerOptions = {}) {
    this.#staticConfig = staticConfig;
    for (const [name, { tailscale }] of Object.entries(staticConfig.certificatesResolvers ?? {})) {
      if (tailscale === undefined) continue;
      let emit: ((config: DynamicConfig) => void) | undefined;
      const resolver = new TailscaleResolver({
        name,
        socket: tailscale.socket,
        logger: logger.child({ provider: `${name}.tailscale` }),
        ...(options.now ? { now: options.now } : {}),
        onCertificates: (certificates) => emit?.(toConfig(certificates)),
      });
      this.resolvers.set(name, resolver);
      this.#providers.push({
        name: `${name}.tailscale`,
        async start(send, signal) {
          emit = send;
          signal.addEventListener('abort', () => void resolver.close(), { once: true });
          resolver.start();
          send(toConfig(resolver.certificates()));
        },
      });
    }
  }

  /** The providers to run beside the configured ones. */
  providers(): Provider[] {
    return this.#providers;
  }

  /** A new merged configuration: each resolver fetches what its routers need, in the background. */
  observe(config: DynamicConfig): void {
    for (const [name, resolver] of this.resolvers) void resolver.observe(tailscaleDomains(config, this.#staticConfig, name));
  }

  async close(): Promise<void> {
    await Promise.all([...this.resolvers.values()].map((r) => r.close()));
  }
}
