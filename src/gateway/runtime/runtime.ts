/**
 * The gateway's serving state: the current built configuration and the one function every entry point calls.
 * `apply()` builds a new configuration completely before it becomes visible, then swaps a single reference; a
 * request keeps the build it started on, and a replaced build's services are closed only when its last request
 * has finished (or after `drainTimeoutMs`). Routing a request allocates nothing beyond what the rules need.
 *
 * Builds run one at a time and in slices that give the event loop way (`Slicer`): while a configuration of any
 * size builds, the current one keeps answering, and nothing of the new one is visible before the swap. Applies
 * that arrive during a build wait; only the newest of them is built next (the ones in between were replaced
 * before they could serve). Nothing keeps a replaced build once it has drained, so its memory can go.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { emptyDynamicConfig } from '../config/dynamic.ts';
import type { GatewayRequest, Handler, ResponseWriter } from '../http/types.ts';
import { markPhase } from '../../lib/phases.ts';
import { Slicer } from '../../lib/slices.ts';
import { buildConfiguration, retiredServices, tlsRouteKey, type BuildDependencies, type BuiltConfiguration, type RouteMatcher, type RouteTarget } from './build.ts';
import { notFoundHandler } from './internal.ts';
import { DEFAULT_TRANSPORT } from '../services/index.ts';
import { TlsConfiguration } from '../entrypoints/tls-configuration.ts';

type MatchInput = Parameters<RouteMatcher<RouteTarget>['match']>[1];

/** One built configuration while it serves: counts its in-flight requests so it can be closed after draining. */
class ServingBuild {
  readonly built: BuiltConfiguration;
  readonly generation: number;
  inflight = 0;
  #retired = false;
  #onDrained: (() => void) | undefined;
  /** Reused for every match (match() is synchronous), so routing does not allocate a request view. */
  readonly scratch: MatchInput = { method: '', host: '', path: '', query: '', headers: {}, rawHeaders: undefined, clientIp: '' };

  constructor(built: BuiltConfiguration, generation: number) {
    this.built = built;
    this.generation = generation;
  }

  /** Bound once: the continuation of every request dispatched on this build. */
  readonly done = (): void => {
    if (--this.inflight === 0 && this.#retired) this.#onDrained?.();
  };

  readonly failed = (err: unknown): never => {
    this.done();
    throw err;
  };

  retire(onDrained: () => void): void {
    this.#retired = true;
    this.#onDrained = onDrained;
    if (this.inflight === 0) onDrained();
  }
}

export interface GatewayRuntimeOptions extends BuildDependencies {
  /** Longest a replaced configuration waits for its requests before its services are closed anyway. */
  drainTimeoutMs?: number;
  /** Called after each apply: `true` when the configuration was built and swapped in. */
  onReload?(success: boolean, generation: number): void;
  /** Longest a build works before giving the event loop a turn (default `DEFAULT_SLICE_MS`). */
  sliceMs?: number;
  /** What answers when no router matches (default Go's NotFound; the gateway wraps it in the entry point's tracing). */
  notFound?: Handler;
}

interface PendingApply {
  config: DynamicConfig;
  readonly waiters: Array<(applied: boolean) => void>;
  /** The runtime's own first build: not a reload. Dropped once a provider's configuration replaces it. */
  initial?: boolean;
}

/** Serves nothing but 404: what answers before the first build (internal routers included) is swapped in. */
const NOTHING: RouteMatcher<RouteTarget> = { match: () => undefined };

export class GatewayRuntime {
  readonly #options: GatewayRuntimeOptions;
  readonly #notFound: Handler;
  readonly #logger: Logger;
  #current: ServingBuild;
  #generation = 0;
  readonly #draining = new Set<Promise<void>>();
  #pending: PendingApply | undefined;
  #building: Promise<void> | undefined;

  constructor(options: GatewayRuntimeOptions) {
    this.#options = options;
    this.#notFound = options.notFound ?? notFoundHandler;
    this.#logger = options.logger;
    this.#current = new ServingBuild(
      {
        info: { routers: new Map(), services: new Map(), middlewares: new Map() },
        routes: NOTHING,
        services: new Map(),
        tls: TlsConfiguration.fromCertificates([]),
      },
      0,
    );
    // Before any provider reports, the internal routers (ping, api, metrics) already serve: `settled()` waits for
    // that first build, which is not a reload (onReload is not told).
    this.#pending = { config: emptyDynamicConfig(), waiters: [], initial: true };
    this.#building = this.#drainQueue();
  }

  get current(): BuiltConfiguration {
    return this.#current.built;
  }

  get generation(): number {
    return this.#current.generation;
  }

  /**
   * Builds `config` and swaps it in. Resolves `true` once it serves, `false` when it could not be built (the
   * running configuration stays) — or with the outcome of a newer configuration that replaced it before its build
   * began.
   */
  apply(config: DynamicConfig): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#pending) {
        this.#pending.config = config;
        this.#pending.initial = false;
        this.#pending.waiters.push(resolve);
      } else this.#pending = { config, waiters: [resolve] };
      this.#building ??= this.#drainQueue();
    });
  }

  /** Resolves when every configuration handed to `apply()` so far has been built (or rejected). */
  async settled(): Promise<void> {
    while (this.#building) await this.#building;
  }

  async #drainQueue(): Promise<void> {
    try {
      while (this.#pending) {
        const { config, waiters, initial } = this.#pending;
        this.#pending = undefined;
        const applied = await this.#build(config, initial === true);
        for (const resolve of waiters) resolve(applied);
      }
    } finally {
      this.#building = undefined;
    }
  }

  async #build(config: DynamicConfig, initial: boolean): Promise<boolean> {
    const previous = this.#current;
    let built: BuiltConfiguration;
    try {
      this.#options.transports.update(transportConfigs(config, this.#options));
      built = await buildConfiguration(config, this.#options, previous.built, new Slicer(this.#options.sliceMs));
    } catch (err) {
      this.#logger.error({ err }, 'configuration could not be built; the previous one keeps serving');
      this.#options.healthRegistry.abandon();
      this.#options.onReload?.(false, previous.generation);
      return false;
    }
    const next = new ServingBuild(built, ++this.#generation);
    this.#current = next;
    markPhase('runtime:swapped');
    this.#retire(previous, next);
    // From now on the new build's health checks own the servers' states; the previous build's late probes are dropped.
    this.#options.healthRegistry.commit();
    this.#options.healthRegistry.retainOnly(built.services.keys());
    if (this.#options.metrics) {
      const active: Array<[string, string]> = [];
      for (const [name, service] of built.services) for (const url of Object.keys(service.built.status().serverStatus)) active.push([name, url]);
      this.#options.metrics.retainServers(active);
    }
    if (!initial) this.#options.onReload?.(true, next.generation);
    return true;
  }

  /** The function entry points call for every request. */
  readonly dispatch: Handler = (req: GatewayRequest, rw: ResponseWriter): Promise<void> => {
    const build = this.#current;
    const url = req.url;
    const q = url.indexOf('?');
    const scratch = build.scratch;
    scratch.method = req.method;
    scratch.host = req.host;
    scratch.path = q === -1 ? url : url.slice(0, q);
    scratch.query = q === -1 ? '' : url.slice(q + 1);
    scratch.headers = req.headers;
    scratch.rawHeaders = req.raw?.rawHeaders;
    scratch.clientIp = req.clientIp;
    const found = build.built.routes.match(req.tls ? tlsRouteKey(req.entryPoint) : req.entryPoint, scratch);
    scratch.headers = EMPTY_HEADERS; // do not keep the request alive through the scratch object
    scratch.rawHeaders = undefined;
    if (found === undefined) return this.#notFound(req, rw);
    const target = found.target;
    req.routerName = target.routerName;
    req.serviceName = target.serviceName;
    build.inflight++;
    let pending: Promise<void>;
    try {
      pending = target.handler(req, rw);
    } catch (err) {
      build.done();
      return Promise.reject(err);
    }
    return pending.then(build.done, build.failed);
  };

  /** Resolves when every replaced configuration has drained and been closed. */
  async drained(): Promise<void> {
    while (this.#draining.size > 0) await Promise.all([...this.#draining]);
  }

  /** Stops serving: drains the current build (up to the drain timeout) and closes all services. */
  async close(): Promise<void> {
    await this.settled();
    const last = this.#current;
    this.#retire(last, undefined);
    await this.drained();
  }

  #retire(previous: ServingBuild, next: ServingBuild | undefined): void {
    const toClose = retiredServices(previous.built, next?.built);
    const timeoutMs = this.#options.drainTimeoutMs ?? 30_000;
    const drained = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#logger.warn({ generation: previous.generation, inflight: previous.inflight }, 'configuration drain timed out; closing its services');
        resolve();
      }, timeoutMs);
      timer.unref();
      previous.retire(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const closing = drained
      .then(() => Promise.all(toClose.map(async (service) => {
        try {
          service.close();
        } catch (err) {
          this.#logger.error({ err }, 'closing a retired service failed');
        }
      })))
      .then(() => {
        this.#draining.delete(closing);
      });
    this.#draining.add(closing);
  }
}

const EMPTY_HEADERS = {};

/** The registry's transports: the configuration's own (qualified) and Traefik's default from the static block. */
function transportConfigs(config: DynamicConfig, options: GatewayRuntimeOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config.http.serversTransports };
  const fallback = options.staticConfig.raw.serversTransport;
  if (fallback && typeof fallback === 'object') out[DEFAULT_TRANSPORT] = fallback;
  return out;
}
