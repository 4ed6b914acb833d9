/**
 * The service manager of one build (Traefik's pkg/server/service/manager.go): builds each `http.services` entry
 * on first use by a router or middleware, memoised by name, detects reference cycles, and reuses the previous
 * build's service — health state, pools and all — when neither its block, its servers transport nor any service
 * it composes changed. A service that fails is recorded on its runtime info and fails every later lookup alike.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { providerOf, qualifyName } from '../config/merge.ts';
import type { Handler } from '../http/types.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import { serviceSchema } from '../services/schema.ts';
import { buildServiceHandler, type BuiltService, type HealthRegistry, type TransportRegistry } from '../services/index.ts';
import { addError, type RuntimeInfo } from './info.ts';

/** A built service with the key that decides whether the next build may reuse it. */
export interface ServiceEntry {
  readonly key: string;
  readonly built: BuiltService;
  readonly handler: Handler;
}

export interface ServiceManagerDependencies {
  readonly logger: Logger;
  /** Upstream pools per servers transport; updated by the runtime before each build, shared across builds. */
  readonly transports: TransportRegistry;
  /** Per-server health that outlives a configuration. */
  readonly healthRegistry: HealthRegistry;
  readonly metrics?: GatewayMetrics;
  /** Wraps a service's handler, nested ones too (the Service span of gateway/tracing). */
  wrapService?(serviceName: string, handler: Handler): Handler;
}

export class ServiceManager {
  /** Services built by this manager (reused ones included), by qualified name. */
  readonly services = new Map<string, ServiceEntry>();
  readonly #config: DynamicConfig['http'];
  readonly #deps: ServiceManagerDependencies;
  readonly #info: RuntimeInfo;
  readonly #internal: ReadonlyMap<string, Handler>;
  #previous: ReadonlyMap<string, ServiceEntry> | undefined;
  /**
   * What the services this manager builds call back into (`resolveService`) while the build runs. They hold this
   * holder, not the manager: a service reused by later builds would otherwise keep this manager — its whole
   * configuration, and through `#previous` every earlier build's — alive. `release()` empties it.
   */
  readonly #self: { manager: ServiceManager | undefined } = { manager: this };
  readonly #errors = new Map<string, Error>();
  readonly #building = new Set<string>();
  readonly #keys = new Map<string, string>();
  /** Handlers with the service's own `middlewares` in front, per build (middlewares are built per build). */
  readonly #withMiddlewares = new Map<string, Handler>();
  #chain: ((names: readonly string[], handler: Handler) => Handler) | undefined;

  constructor(config: DynamicConfig['http'], deps: ServiceManagerDependencies, info: RuntimeInfo, internal: ReadonlyMap<string, Handler>, previous?: ReadonlyMap<string, ServiceEntry>) {
    this.#config = config;
    this.#deps = deps;
    this.#info = info;
    this.#internal = internal;
    this.#previous = previous;
  }

  /** The build is done: forget the previous build's services and stop answering the services built here. */
  release(): void {
    this.#previous = undefined;
    this.#self.manager = undefined;
  }

  /** How service-level `middlewares` are built (the middleware manager's chain, given once it exists). */
  useMiddlewares(chain: (names: readonly string[], handler: Handler) => Handler): void {
    this.#chain = chain;
  }

  /**
   * The handler of the service `name` (qualified), building it on first use; throws why it cannot serve. A service
   * with `middlewares` (Traefik v3.7 service middlewares) gets them in front, whoever calls it — a router, whose
   * own middlewares then run first, or a parent service.
   */
  handler(name: string): Handler {
    const got = this.#get(name);
    if (typeof got === 'function') return got;
    const names = (this.#config.services[name] as { middlewares?: string[] } | undefined)?.middlewares;
    if (names === undefined || names.length === 0 || this.#chain === undefined) return got.handler;
    let wrapped = this.#withMiddlewares.get(name);
    if (wrapped === undefined) {
      const provider = providerOf(name);
      wrapped = this.#chain(names.map((m) => qualifyName(m, provider)), got.handler);
      this.#withMiddlewares.set(name, wrapped);
    }
    return wrapped;
  }

  /**
   * What decides reuse: the service's block, its transport's block and, recursively, the keys of the services it
   * composes (a weighted service over a changed child is rebuilt too).
   */
  #key(name: string, seen = new Set<string>()): string {
    const cached = this.#keys.get(name);
    if (cached !== undefined) return cached;
    if (seen.has(name)) return `cycle:${name}`;
    seen.add(name);
    const raw = this.#config.services[name] as Record<string, unknown> | undefined;
    const provider = providerOf(name);
    const parts: unknown[] = [raw];
    const lb = raw?.loadBalancer as { serversTransport?: string } | undefined;
    if (lb) parts.push(lb.serversTransport ? this.#config.serversTransports[qualifyName(lb.serversTransport, provider)] ?? null : null);
    // …and the transport's own fingerprint: a SPIFFE transport rebuilt for a new SVID rebuilds its services.
    if (lb) parts.push(this.#deps.transports.fingerprint(lb.serversTransport ? qualifyName(lb.serversTransport, provider) : undefined));
    const children: string[] = [];
    const w = raw?.weighted as { services?: Array<{ name: string }> } | undefined;
    if (w?.services) children.push(...w.services.map((s) => s.name));
    const m = raw?.mirroring as { service?: string; mirrors?: Array<{ name: string }> } | undefined;
    if (m?.service) children.push(m.service, ...(m.mirrors ?? []).map((x) => x.name));
    const f = raw?.failover as { service?: string; fallback?: string } | undefined;
    if (f?.service) children.push(f.service);
    if (f?.fallback) children.push(f.fallback);
    for (const child of children) {
      const q = qualifyName(child, provider);
      parts.push(this.#internal.has(q) ? q : this.#key(q, seen));
    }
    const key = JSON.stringify(parts);
    this.#keys.set(name, key);
    return key;
  }

  #get(name: string): ServiceEntry | Handler {
    const internalHandler = this.#internal.get(name);
    if (internalHandler) return internalHandler;
    const done = this.services.get(name);
    if (done) return done;
    const failed = this.#errors.get(name);
    if (failed) throw failed;
    const raw = this.#config.services[name];
    if (raw === undefined) throw new Error(`the service "${name}" does not exist`);
    if (this.#building.has(name)) throw new Error(`the service "${name}" is part of a cycle`);
    this.#building.add(name);
    const serviceInfo = this.#info.services.get(name)!;
    try {
      const key = this.#key(name);
      const reused = this.#previous?.get(name);
      const entry = reused && reused.key === key ? reused : this.#build(name, raw, key);
      const built = entry.built;
      serviceInfo.serverStatus = () => built.status().serverStatus;
      this.services.set(name, entry);
      return entry;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      addError(serviceInfo, error.message, true);
      this.#errors.set(name, error);
      throw error;
    } finally {
      this.#building.delete(name);
    }
  }

  #build(name: string, raw: unknown, key: string): ServiceEntry {
    const parsed = serviceSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`service "${name}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const provider = providerOf(name);
    const config = parsed.data;
    // Transport references resolve within the service's provider, like every other reference.
    if (config.loadBalancer?.serversTransport) config.loadBalancer.serversTransport = qualifyName(config.loadBalancer.serversTransport, provider);
    const deps = this.#deps;
    const self = this.#self;
    const built = buildServiceHandler(name, config, {
      resolveService: (child) => {
        const manager = self.manager;
        if (manager === undefined) throw new Error(`service "${name}": its build is over; "${child}" can no longer be resolved`);
        const q = qualifyName(child, provider);
        const handler = manager.handler(q);
        manager.#info.services.get(q)?.usedBy.push(name);
        return handler;
      },
      transports: deps.transports,
      healthRegistry: deps.healthRegistry,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
      logger: deps.logger.child({ service: name }),
    });
    const handler = deps.wrapService ? deps.wrapService(name, built.handler) : built.handler;
    return { key, built, handler };
  }
}

/** Services of `previous` that `next` did not reuse; they are closed once the build that used them has drained. */
export function retiredServices(previous: ReadonlyMap<string, ServiceEntry>, next: ReadonlyMap<string, ServiceEntry> | undefined): BuiltService[] {
  const out: BuiltService[] = [];
  for (const [name, entry] of previous) {
    if (next?.get(name) !== entry) out.push(entry.built);
  }
  return out;
}
