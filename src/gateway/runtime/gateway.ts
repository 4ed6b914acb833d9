/**
 * One serving gateway process: the runtime (built configurations, dispatch), the internal services it offers
 * (`api@internal`, `dashboard@internal`, `ping@internal`, `prometheus@internal`, `noop@internal`) and the entry
 * points that call it. Whether configurations come from providers in this process or from the cluster primary over
 * IPC is the caller's business (main.ts, worker.ts); this only applies them.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { DEFAULT_CONSUL_ENDPOINT, type StaticConfig } from '../config/static.ts';
import type { Handler } from '../http/types.ts';
import { compileRoutesSliced } from '../rules/index.ts';
import { HealthRegistry, TransportRegistry } from '../services/index.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import { createApiHandler } from '../api/handler.ts';
import type { CompileRoutes } from './build.ts';
import { GatewayRuntime } from './runtime.ts';
import { dashboardHandler, internalServiceNames, noopHandler, notFoundHandler, pingHandler, respond } from './internal.ts';
import { openEntryPoints, type CloseOptions, type OpenEntryPoints } from './entrypoints.ts';
import { AccessLog, type AccessLogRecordSink } from '../accesslog/accesslog.ts';
import { buildLayer4, type Layer4Routing } from './layer4.ts';
import { clientFor } from '../providers/consulcatalog.ts';
import { meshSvidSource, type SvidSource } from '../spiffe/source.ts';
import { workloadApiSvidSource } from '../spiffe/workload-source.ts';
import type { GatewayTracer } from '../tracing/tracer.ts';
import { observeNotFound, observeRouter, traceMiddleware, traceService } from '../tracing/observability.ts';
import { providerOf } from '../config/merge.ts';
import { INTERNAL_PROVIDER } from './internal.ts';

/**
 * Static `spiffe`: the gateway's SVID from a Workload API (`workloadAPIAddr`; an address go-spiffe refuses stops the
 * start, as in Traefik) or from the mesh's CA (`mesh`, through its own endpoint or the catalog provider's).
 */
function svidSourceFor(staticConfig: StaticConfig, logger: Logger): SvidSource | undefined {
  const workloadAPIAddr = staticConfig.spiffe?.workloadAPIAddr;
  if (workloadAPIAddr !== undefined) return workloadApiSvidSource({ addr: workloadAPIAddr, logger });
  const mesh = staticConfig.spiffe?.mesh;
  if (!mesh) return undefined;
  const endpoint = mesh.endpoint ?? staticConfig.providers.consulCatalog?.endpoint ?? DEFAULT_CONSUL_ENDPOINT;
  return meshSvidSource({ client: clientFor(endpoint), serviceName: mesh.serviceName, logger });
}
import type { ChallengeStore } from '../acme/challenges.ts';

export interface GatewayOptions {
  readonly staticConfig: StaticConfig;
  readonly logger: Logger;
  /** Present when `metrics.prometheus` is configured. */
  readonly metrics?: GatewayMetrics;
  /** The Prometheus exposition `/metrics` serves (this process's, or the cluster's when aggregated). */
  readonly metricsText?: () => Promise<{ contentType: string; text: string }>;
  /** Provider names for `/api/overview` (`File`, `ConsulCatalog`). */
  readonly providers: string[];
  readonly drainTimeoutMs?: number;
  /** Longest a build works before giving the event loop a turn (default `DEFAULT_SLICE_MS`; tests make it small). */
  readonly sliceMs?: number;
  /** ACME challenges the entry points answer (gateway/acme). */
  readonly acme?: { readonly challenges: ChallengeStore; readonly httpEntryPoints: ReadonlySet<string> };
  /** Present when `tracing` is configured (tracing/load.ts loads it, so the SDK is only imported then). */
  readonly tracer?: GatewayTracer;
  /** Present when `accessLog.otlp` is configured (otlp-logs/load.ts loads it, so the SDK is only imported then). */
  readonly accessLogOtlp?: AccessLogRecordSink;
}

export interface Gateway {
  readonly runtime: GatewayRuntime;
  /** Opens the entry points (after the first configuration, so TLS entry points have their certificates). */
  listen(): Promise<OpenEntryPoints>;
  addresses(): Record<string, { address: string; port: number }>;
  /** Builds `config` beside the serving one and swaps it in; resolves `true` once it serves. */
  apply(config: DynamicConfig): Promise<boolean>;
  /**
   * Graceful stop: ping answers its terminating status, listeners close, in-flight requests finish, pools close.
   * `lingerIdleMs`: see EntryPoint.close (a cluster worker rolled out by the primary).
   */
  close(options?: CloseOptions): Promise<void>;
  /** Reopens the access log file after a rotation moved it (SIGUSR1). */
  reopenLogs(): void;
}

/** Traefik's provider names as the overview lists them. */
export function overviewProviderName(key: string): string {
  return key === 'consulCatalog' ? 'ConsulCatalog' : key.charAt(0).toUpperCase() + key.slice(1);
}

export function createGateway(options: GatewayOptions): Gateway {
  const { staticConfig, logger, metrics } = options;
  let terminating = false;
  const enabled = new Set(internalServiceNames(staticConfig));
  const prometheus: Handler = async (_req, rw) => {
    if (!options.metricsText) return respond(rw, 404, 'text/plain; charset=utf-8', '404 page not found\n');
    const { contentType, text } = await options.metricsText();
    return respond(rw, 200, contentType, text);
  };
  const ping = pingHandler(staticConfig.ping?.terminatingStatusCode ?? 503, () => terminating);
  const dashboard = dashboardHandler(staticConfig.api?.basePath ?? '/');
  const svidSource = svidSourceFor(staticConfig, logger);
  const transports = new TransportRegistry({}, svidSource);
  /** The configuration last handed to apply(): re-applied on a new SVID, so SPIFFE transports and their services present it. */
  let lastConfig: DynamicConfig | undefined;
  // One tracer per process: each worker exports the spans of the requests it served.
  const tracer = options.tracer;
  const runtime = new GatewayRuntime({
    staticConfig,
    logger,
    compileRoutes: compileRoutesSliced as CompileRoutes,
    transports,
    healthRegistry: new HealthRegistry(),
    ...(metrics ? { metrics } : {}),
    ...(metrics ? {
      middlewareHooks: {
        retried: (req) => {
          if (req.serviceName !== undefined) metrics.recordRetry(req.serviceName);
        },
        rateLimitFallback: (middleware) => metrics.recordRateLimitFallback(middleware),
      },
    } : {}),
    middlewareState: new Map(),
    wrapRouter: (name, serviceName, handler, router) => observeRouter({
      name, serviceName, rule: router.rule, entryPoints: router.using ?? [], observability: router.observability, internal: providerOf(name) === INTERNAL_PROVIDER,
    }, handler, staticConfig, tracer),
    ...(tracer ? { wrapMiddleware: traceMiddleware, wrapService: traceService } : {}),
    ...(options.drainTimeoutMs !== undefined ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
    ...(options.sliceMs !== undefined ? { sliceMs: options.sliceMs } : {}),
    internalServices: (info) => {
      const handlers = new Map<string, Handler>();
      handlers.set('noop@internal', noopHandler);
      if (enabled.has('api@internal')) handlers.set('api@internal', createApiHandler({ staticConfig, info, providers: options.providers }));
      if (enabled.has('dashboard@internal')) handlers.set('dashboard@internal', dashboard);
      if (enabled.has('ping@internal')) handlers.set('ping@internal', ping);
      if (enabled.has('prometheus@internal')) handlers.set('prometheus@internal', prometheus);
      return handlers;
    },
    onReload: (success) => metrics?.recordConfigReload(success),
    notFound: observeNotFound(notFoundHandler, staticConfig, tracer),
  });
  const accessLog = staticConfig.accessLog ? new AccessLog(staticConfig.accessLog, undefined, options.accessLogOtlp) : undefined;
  let entryPoints: OpenEntryPoints | undefined;
  let closing: Promise<void> | undefined;
  /** TCP and UDP routers of the serving configuration, built with it (runtime/layer4.ts). */
  const layer4 = (): Layer4Routing => runtime.current.layer4 ?? buildLayer4({}, staticConfig, logger);
  const swapIn = async (config: DynamicConfig): Promise<boolean> => {
    const ok = await runtime.apply(config);
    if (ok) {
      entryPoints?.setTls(runtime.current.tls);
      // Traefik sets tls.certs.notAfterTimestamp for every served certificate at each reload.
      if (entryPoints !== undefined) metrics?.setCertificates(runtime.current.tls.storeCertificates().map((c) => c.cert));
      entryPoints?.setLayer4(layer4());
    }
    return ok;
  };
  svidSource?.onChange(() => {
    if (lastConfig !== undefined) void swapIn(lastConfig);
  });
  return {
    runtime,
    async listen() {
      // TLS entry points open with the certificates of the configurations applied so far.
      await runtime.settled();
      entryPoints ??= await openEntryPoints({
        staticConfig,
        logger,
        dispatch: runtime.dispatch,
        tls: runtime.current.tls,
        layer4: layer4(),
        ...(options.acme ? { acme: options.acme } : {}),
        ...(metrics ? { metrics } : {}),
        ...(accessLog ? { accessLog } : {}),
      });
      metrics?.setCertificates(runtime.current.tls.storeCertificates().map((c) => c.cert));
      return entryPoints;
    },
    addresses: () => entryPoints?.addresses() ?? {},
    reopenLogs: () => accessLog?.reopen(),
    async apply(config) {
      // As Traefik, nothing is built before the first SVID: a SPIFFE transport cannot exist without one.
      if (svidSource && !svidSource.current()) {
        logger.info('spiffe: waiting for the first SVID before applying the configuration');
        await svidSource.ready();
      }
      lastConfig = config;
      return swapIn(config);
    },
    close(options) {
      closing ??= (async () => {
        terminating = true;
        await entryPoints?.close(options);
        await runtime.close();
        await transports.close();
        svidSource?.close();
        await accessLog?.close();
        // An unreachable collector loses the last spans, as in Traefik (the exporter logs it); it must not make the
        // gateway's stop fail.
        await tracer?.shutdown().catch((err: unknown) => logger.warn({ err: String(err) }, 'tracing: the last spans could not be exported'));
      })();
      return closing;
    },
  };
}
