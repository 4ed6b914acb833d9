/**
 * The gateway's ACME side as one object for the control plane (main.ts): one AcmeResolver per
 * `certificatesResolvers.<name>.acme`, each fed to the provider aggregator as the provider `<name>.acme` that emits
 * its certificates as `tls.certificates` (so they reach every worker and serve by SNI without a restart, as Traefik's
 * ACME provider does), the ChallengeStore the entry points answer from, and `observe()` — called with every merged
 * configuration — which asks each resolver for the domains its routers need.
 */
import type { Logger } from '../../lib/logger.ts';
import { emptyDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import type { Provider } from '../providers/provider.ts';
import { ChallengeStore } from './challenges.ts';
import { hasAcmeResolvers } from './load.ts';
import { requestedDomains } from './domains.ts';
import { FileStorage } from './file-storage.ts';
import { KV_STORAGE_SCHEME, KvStorage } from './kv-storage.ts';
import { AcmeResolver } from './resolver.ts';
import type { AcmeStorage } from './storage.ts';
import type { IssuedCertificate } from './stored.ts';

export interface AcmeManagerOptions {
  /** The renewal clock (tests). */
  readonly now?: () => number;
}

export class AcmeManager {
  readonly challenges = new ChallengeStore();
  readonly resolvers = new Map<string, AcmeResolver>();
  readonly #providers: Provider[] = [];
  readonly #staticConfig: StaticConfig;
  readonly #storages: AcmeStorage[] = [];
  #latest: DynamicConfig | undefined;
  #ready = false;

  constructor(staticConfig: StaticConfig, logger: Logger, options: AcmeManagerOptions = {}) {
    this.#staticConfig = staticConfig;
    for (const [name, { acme }] of Object.entries(staticConfig.certificatesResolvers ?? {})) {
      // A `tailscale` resolver is gateway/tailscale's.
      if (acme === undefined) continue;
      const storage: AcmeStorage = acme.storage.startsWith(KV_STORAGE_SCHEME) ? new KvStorage(name, acme.storage, logger) : new FileStorage(name, acme.storage);
      this.#storages.push(storage);
      let emit: ((config: DynamicConfig) => void) | undefined;
      let latest: readonly IssuedCertificate[] = [];
      const toConfig = (certificates: readonly IssuedCertificate[]): DynamicConfig => {
        const config = emptyDynamicConfig();
        // PEM text where a file path may go: readFileOrContent takes either, as Traefik's FileOrContent does.
        config.tls.certificates = certificates.map((c) => ({ certFile: c.certPem, keyFile: c.keyPem }));
        return config;
      };
      const resolver = new AcmeResolver({
        name,
        config: acme,
        storage,
        challenges: this.challenges,
        logger: logger.child({ resolver: name }),
        ...(options.now ? { now: options.now } : {}),
        onCertificates: (certificates) => {
          latest = certificates;
          emit?.(toConfig(certificates));
        },
      });
      this.resolvers.set(name, resolver);
      this.#providers.push({
        name: `${name}.acme`,
        async start(send, signal) {
          emit = send;
          signal.addEventListener('abort', () => void resolver.close(), { once: true });
          await resolver.start();
          send(toConfig(latest));
        },
      });
    }
  }

  /** The providers to run beside the configured ones. */
  providers(): Provider[] {
    return this.#providers;
  }

  /** Entry points answering HTTP-01 challenges (each resolver's `httpChallenge.entryPoint`). */
  httpChallengeEntryPoints(): Set<string> {
    const out = new Set<string>();
    for (const { acme } of Object.values(this.#staticConfig.certificatesResolvers ?? {})) if (acme?.httpChallenge) out.add(acme.httpChallenge.entryPoint);
    return out;
  }

  /**
   * A new merged configuration: each resolver orders what its routers need (in the background) — once the entry
   * points listen (`entryPointsReady`); before that the CA could not reach the challenges, so only the latest is kept.
   */
  observe(config: DynamicConfig): void {
    this.#latest = config;
    if (!this.#ready) return;
    for (const [name, resolver] of this.resolvers) void resolver.request(requestedDomains(config, this.#staticConfig, name));
  }

  /** The entry points listen (in this process, or the first cluster worker): orders may start. */
  entryPointsReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    if (this.#latest !== undefined) this.observe(this.#latest);
  }

  async close(): Promise<void> {
    await Promise.all([...this.resolvers.values()].map((r) => r.close()));
    for (const storage of this.#storages) if (storage.close) await storage.close();
  }
}

/** The manager when the static configuration has certificate resolvers. */
export function createAcmeManager(staticConfig: StaticConfig, logger: Logger, options: AcmeManagerOptions = {}): AcmeManager | undefined {
  return hasAcmeResolvers(staticConfig) ? new AcmeManager(staticConfig, logger, options) : undefined;
}
