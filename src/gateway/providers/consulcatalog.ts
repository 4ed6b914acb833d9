/**
 * Traefik's Consul Catalog provider (static key `providers.consulCatalog`, provider name `consulcatalog`), following
 * the catalog with blocking queries instead of a refresh interval:
 *
 * - one blocking watch on `/v1/catalog/services` (index-following); the services whose tags pass the service-level
 *   filter (`traefik.enable`/`exposedByDefault`, `constraints`, Connect) each get a blocking watch on
 *   `/v1/health/service/<name>` (every state; the `strictChecks` filter is applied per instance), started and
 *   stopped as services appear and disappear; `stale`/`requireConsistent` go on every read and
 *   `endpoint.endpointWaitTime` is the `?wait=`;
 * - every change schedules one rebuild after a very short quiet window (`debounceMs`, 20ms by default, never more
 *   than 50ms), and the whole provider configuration is emitted — only once every watched service has answered,
 *   only if it validates, and only if it differs from the last one emitted;
 * - when the server cannot be reached, the watches retry with exponential backoff and jitter and nothing is
 *   emitted, so the gateway keeps routing with the last configuration (and a cold start serves the persisted
 *   last-good file); an empty configuration is emitted only when a reachable server says the catalog is empty.
 *
 * With `connectAware`, Connect-enabled services (`traefik.consulcatalog.connect=true`, or `connectByDefault`) are
 * read from `/v1/health/connect/<name>` — their Connect proxies — and reached over mTLS with the gateway's own leaf
 * for `serviceName` (consulcatalog-connect.ts); no configuration is emitted before that leaf and the roots are
 * there, as Traefik waits for them. Without it they are skipped. `refreshInterval`, `watch` and `cache` are accepted and have no effect (blocking queries
 * make them moot). Namespaces (Enterprise) are not supported.
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { createClient, isApiStatusError, type ConsulClient, type FetchLike, type ServiceEntry } from '../../api/client.ts';
import type { Logger } from '../../lib/logger.ts';
import { validateDynamicConfig, type DynamicConfig } from '../config/dynamic.ts';
import type { ConsulCatalogConfig, ConsulEndpointConfig } from '../config/static.ts';
import { parseDefaultRuleTemplate, type DefaultRuleTemplate } from '../rules/template.ts';
import { buildConfiguration, extraConfOf, type BuildOptions, type CatalogItem } from './consulcatalog-build.ts';
import { parseTagConstraints, type TagMatcher } from './consulcatalog-constraints.ts';
import { tagsToLabels } from './consulcatalog-labels.ts';
import { registerProvider, type Provider } from './provider.ts';
import { watchConnectCertificates } from './consulcatalog-connect.ts';

export const CONSUL_CATALOG_PROVIDER_NAME = 'consulcatalog';
const MAX_DEBOUNCE_MS = 50;

export interface ConsulCatalogProviderOptions {
  config: ConsulCatalogConfig;
  logger: Logger;
  /** A ready client (tests); otherwise one is made from `config.endpoint`. */
  client?: ConsulClient;
  /** Quiet window that folds a burst of catalog events into one rebuild. Default 20ms, capped at 50ms. */
  debounceMs?: number;
  /** Watch retry backoff (first delay, cap). Default 250ms … 15s. */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** Consul's api.HealthChecks.AggregatedStatus: maintenance beats critical beats warning beats passing. */
export function aggregatedStatus(checks: ServiceEntry['Checks'] | null | undefined): string {
  let passing = false;
  let warning = false;
  let critical = false;
  let maintenance = false;
  for (const check of checks ?? []) {
    if (check.CheckID === '_node_maintenance' || check.CheckID.startsWith('_service_maintenance:')) {
      maintenance = true;
      continue;
    }
    switch (check.Status) {
      case 'passing':
        passing = true;
        break;
      case 'warning':
        warning = true;
        break;
      case 'critical':
        critical = true;
        break;
      default:
        return '';
    }
  }
  if (maintenance) return 'maintenance';
  if (critical) return 'critical';
  if (warning) return 'warning';
  if (passing) return 'passing';
  return 'passing';
}

/** A health entry as the builder's item (Traefik's itemData). */
export function itemOf(name: string, entry: ServiceEntry, prefix: string): CatalogItem {
  const tags = entry.Service.Tags ?? [];
  return {
    id: entry.Service.ID,
    node: entry.Node.Node,
    datacenter: entry.Node.Datacenter ?? '',
    name,
    namespace: entry.Service.Namespace || 'default',
    address: entry.Service.Address || entry.Node.Address,
    port: String(entry.Service.Port),
    status: aggregatedStatus(entry.Checks),
    labels: tagsToLabels(tags, prefix),
    tags,
  };
}

interface ServiceWatch {
  controller: AbortController;
  /** Undefined until the first answer: the configuration waits for it rather than emit without the service. */
  entries: ServiceEntry[] | undefined;
  /**
   * The server answered this watch with an error status (ACL denied, …) before any data: the service is left out
   * instead of holding back everyone's configuration. A transport failure never sets it (the server may be down).
   */
  refused: boolean;
  /** Read from /v1/health/connect (the service's Connect proxies) rather than /v1/health/service. */
  connect: boolean;
}

/** A fetch over TLS (custom CA, client certificate) for `endpoint.tls`. */
function tlsFetch(tls: NonNullable<ConsulEndpointConfig['tls']>): FetchLike {
  const dispatcher = new Agent({
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: {
      ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
      ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
      ...(tls.key ? { key: readFileSync(tls.key) } : {}),
      rejectUnauthorized: !tls.insecureSkipVerify,
    },
  });
  return (input, init) => undiciFetch(input, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
}

/** A client for the server's HTTP API at a Traefik-shaped `endpoint` (the catalog provider's, `spiffe.mesh`'s). */
export function clientFor(endpoint: ConsulEndpointConfig): ConsulClient {
  const address = /^https?:\/\//.test(endpoint.address) ? endpoint.address : `${endpoint.scheme}://${endpoint.address}`;
  const headers: Record<string, string> = {};
  if (endpoint.httpAuth) headers.authorization = `Basic ${Buffer.from(`${endpoint.httpAuth.username}:${endpoint.httpAuth.password}`).toString('base64')}`;
  return createClient({
    address,
    // An explicit empty token: the gateway must not pick up a token from its environment by accident.
    token: endpoint.token ?? '',
    env: {},
    ...(endpoint.datacenter ? { datacenter: endpoint.datacenter } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(endpoint.tls ? { fetch: tlsFetch(endpoint.tls) } : {}),
  });
}

export class ConsulCatalogProvider implements Provider {
  readonly name = CONSUL_CATALOG_PROVIDER_NAME;
  readonly #config: ConsulCatalogConfig;
  readonly #logger: Logger;
  readonly #client: ConsulClient;
  readonly #debounceMs: number;
  readonly #backoff: { initialMs?: number; maxMs?: number };
  readonly #services = new Map<string, ServiceWatch>();
  #build: BuildOptions | undefined;
  #emit: ((config: DynamicConfig) => void) | undefined;
  #signal: AbortSignal | undefined;
  #servicesKnown = false;
  #timer: NodeJS.Timeout | undefined;
  /** The last `/v1/catalog/services` answer: each service's tags, for allowEmptyServices. */
  #catalog: Record<string, string[] | null> = {};
  #lastEmitted: string | undefined;
  #unreachableSince: number | undefined;

  constructor(options: ConsulCatalogProviderOptions) {
    this.#config = options.config;
    this.#logger = options.logger.child({ provider: CONSUL_CATALOG_PROVIDER_NAME });
    this.#client = options.client ?? clientFor(options.config.endpoint);
    this.#debounceMs = Math.min(Math.max(options.debounceMs ?? 20, 0), MAX_DEBOUNCE_MS);
    this.#backoff = { initialMs: options.backoff?.initialMs ?? 250, maxMs: options.backoff?.maxMs ?? 15_000 };
  }

  /** Returns at once: the watches run in the background and report through `emit`. Throws on a bad defaultRule or constraints. */
  async start(emit: (config: DynamicConfig) => void, signal: AbortSignal): Promise<void> {
    let defaultRule: DefaultRuleTemplate;
    let constraints: TagMatcher;
    defaultRule = parseDefaultRuleTemplate(this.#config.defaultRule);
    constraints = parseTagConstraints(this.#config.constraints ?? '');
    this.#build = {
      exposedByDefault: this.#config.exposedByDefault,
      connectByDefault: this.#config.connectByDefault,
      defaultRule,
      constraints,
      strictChecks: this.#config.strictChecks,
      allowEmptyServices: this.#config.allowEmptyServices,
      connectAware: this.#config.connectAware,
      logger: this.#logger,
    };
    if (this.#config.namespaces && this.#config.namespaces.length > 0) {
      this.#logger.warn({ namespaces: this.#config.namespaces }, 'consulcatalog: namespaces (Consul Enterprise) are not supported; the default namespace is watched');
    }
    this.#emit = emit;
    this.#signal = signal;
    signal.addEventListener('abort', () => this.#stop(), { once: true });
    if (this.#config.connectAware) {
      watchConnectCertificates({
        client: this.#client,
        serviceName: this.#config.serviceName,
        signal,
        watch: (what) => this.#watchOptions(signal, what),
        onChange: (certs) => {
          this.#logger.info({ service: this.#config.serviceName }, 'consulcatalog: Connect certificates updated');
          this.#build!.connect = certs;
          this.#schedule();
        },
        onStopped: (what, err) => this.#logger.error({ watch: what, err }, 'consulcatalog: the Connect certificate watch stopped'),
      });
    }
    void this.#watchServices(signal);
  }

  #queryOptions() {
    return {
      ...(this.#config.stale ? { stale: true } : {}),
      ...(this.#config.requireConsistent ? { consistent: true } : {}),
    };
  }

  #watchOptions(signal: AbortSignal, what: string, onError?: (err: unknown) => void) {
    const waitMs = this.#config.endpoint.endpointWaitTime;
    return {
      signal,
      backoff: this.#backoff,
      ...(waitMs ? { waitMs } : {}),
      onError: (err: unknown, info: { attempt: number; delayMs: number }) => {
        onError?.(err);
        this.#onWatchError(what, err, info);
      },
    };
  }

  #onWatchError(what: string, err: unknown, info: { attempt: number; delayMs: number }): void {
    const detail = { watch: what, attempt: info.attempt, retryInMs: Math.round(info.delayMs), err: { code: (err as { code?: string }).code, message: (err as Error).message } };
    if (this.#unreachableSince === undefined) {
      this.#unreachableSince = Date.now();
      this.#logger.error(detail, 'consulcatalog: Consul is unreachable; keeping the last configuration and retrying');
    } else {
      this.#logger.debug(detail, 'consulcatalog: watch failed; retrying');
    }
  }

  #reachable(): void {
    if (this.#unreachableSince !== undefined) {
      this.#logger.info({ afterMs: Date.now() - this.#unreachableSince }, 'consulcatalog: Consul is reachable again');
      this.#unreachableSince = undefined;
    }
  }

  async #watchServices(signal: AbortSignal): Promise<void> {
    const query = this.#queryOptions();
    try {
      for await (const { value } of this.#client.watch((q) => this.#client.catalog.services({ ...q, ...query }), this.#watchOptions(signal, 'catalog/services'))) {
        this.#reachable();
        this.#reconcile(value);
      }
    } catch (err) {
      if (!signal.aborted) this.#logger.error({ err }, 'consulcatalog: the catalog watch stopped');
    }
  }

  /** Starts a health watch for every wanted service that has none, stops the ones no longer wanted. */
  #reconcile(catalog: Record<string, string[] | null>): void {
    const build = this.#build!;
    this.#catalog = catalog;
    /** name → read through /v1/health/connect */
    const wanted = new Map<string, boolean>();
    for (const [name, tags] of Object.entries(catalog)) {
      // Traefik filters on the union of the service's tags before reading its instances.
      let extra;
      try {
        extra = extraConfOf(tagsToLabels(tags ?? [], this.#config.prefix), build);
      } catch (err) {
        this.#logger.error({ service: name, err: { message: (err as Error).message } }, 'consulcatalog: service skipped');
        continue;
      }
      if (!extra.enable || (extra.connect && !build.connectAware) || !build.constraints(tags ?? [])) continue;
      wanted.set(name, extra.connect);
    }
    let changed = !this.#servicesKnown;
    this.#servicesKnown = true;
    for (const [name, watch] of this.#services) {
      if (wanted.get(name) === watch.connect) continue;
      watch.controller.abort();
      this.#services.delete(name);
      changed = true;
    }
    for (const [name, connect] of wanted) {
      if (this.#services.has(name)) continue;
      this.#startServiceWatch(name, connect);
    }
    if (changed) this.#schedule();
  }

  #startServiceWatch(name: string, connect: boolean): void {
    const controller = new AbortController();
    const signal = AbortSignal.any([this.#signal!, controller.signal]);
    const watch: ServiceWatch = { controller, entries: undefined, refused: false, connect };
    const read = connect ? this.#client.health.connect.bind(this.#client.health) : this.#client.health.service.bind(this.#client.health);
    this.#services.set(name, watch);
    const query = {
      ...this.#queryOptions(),
      ...(this.#config.exposedByDefault ? {} : { tag: `${this.#config.prefix}.enable=true` }),
    };
    void (async () => {
      try {
        for await (const { value } of this.#client.watch((q) => read(name, { ...q, ...query }), this.#watchOptions(signal, `health/${connect ? 'connect' : 'service'}/${name}`, (err) => {
          if (watch.entries === undefined && isApiStatusError(err) && !watch.refused) {
            watch.refused = true;
            this.#schedule();
          }
        }))) {
          if (signal.aborted) return;
          this.#reachable();
          watch.entries = value;
          this.#schedule();
        }
      } catch (err) {
        if (!signal.aborted) this.#logger.error({ service: name, err }, 'consulcatalog: the health watch stopped');
      }
    })();
  }

  #schedule(): void {
    if (this.#timer || this.#signal?.aborted) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#rebuild();
    }, this.#debounceMs);
  }

  /** Names of the services with a running health watch (for tests and debugging). */
  watchedServices(): string[] {
    return [...this.#services.keys()].sort();
  }

  /** The current instances, or undefined while some watched service has not answered yet. */
  snapshotItems(): CatalogItem[] | undefined {
    if (!this.#servicesKnown) return undefined;
    const items: CatalogItem[] = [];
    for (const [name, watch] of this.#services) {
      if (watch.entries === undefined) {
        if (watch.refused) continue;
        return undefined;
      }
      for (const entry of watch.entries) items.push(itemOf(name, entry, this.#config.prefix));
    }
    return items;
  }

  #rebuild(): void {
    // Traefik builds no configuration before a connectAware provider has its certificates.
    if (this.#build!.connectAware && !this.#build!.connect) return;
    const items = this.snapshotItems();
    if (items === undefined) return; // a watch will report and schedule again
    const services = [...this.#services.keys()].map((name) => {
      const tags = this.#catalog[name] ?? [];
      return { name, tags, labels: tagsToLabels(tags, this.#config.prefix) };
    });
    const config = buildConfiguration(items, this.#build!, services);
    let valid: DynamicConfig;
    try {
      valid = validateDynamicConfig(config, 'consul catalog');
    } catch (err) {
      // Each instance was validated alone; a merged document that still fails is a defect worth a loud log.
      this.#logger.error({ err: { code: (err as { code?: string }).code, message: (err as Error).message } }, 'consulcatalog: built configuration rejected; keeping the previous one');
      return;
    }
    const text = JSON.stringify(valid);
    if (text === this.#lastEmitted) return;
    this.#lastEmitted = text;
    this.#logger.debug({ routers: Object.keys(valid.http.routers).length, services: Object.keys(valid.http.services).length }, 'consulcatalog: configuration changed');
    this.#emit?.(valid);
  }

  #stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const watch of this.#services.values()) watch.controller.abort();
    this.#services.clear();
  }
}

registerProvider('consulCatalog', ({ staticConfig, logger }) => {
  const block = staticConfig.providers.consulCatalog;
  if (!block) return undefined;
  return new ConsulCatalogProvider({ config: block, logger });
});
