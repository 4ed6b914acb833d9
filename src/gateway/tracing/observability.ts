/**
 * Router and entry point `observability` (Traefik v3.4+, "Observability" on routers and entry points): which
 * signals a request produces — access log line, metrics, spans, and how many spans — and the wrappers the runtime
 * puts around a router's chain, its middlewares and its service so a traced request gets Traefik's spans:
 * EntryPoint (server) and ReverseProxy (client) always, Router, one per middleware and Service with
 * `traceVerbosity: detailed` (pkg/middlewares/observability: entrypoint.go, router.go, middleware.go, service.go).
 * A router's own block replaces its entry point's (fields it leaves out are on); internal routers (`@internal`)
 * produce a signal only with that signal's `addInternals`.
 */
import type { EntryPointConfig, StaticConfig } from '../config/static.ts';
import type { RouterConfig } from '../config/dynamic.ts';
import type { Handler, RequestObservability, ResponseHeaders } from '../http/types.ts';
import type { GatewayTracer } from './tracer.ts';

/**
 * The status a rejected handler turns into (the entry point answers a coded error's status, else 500). Here, not in
 * request-trace.ts, so a gateway without tracing does not load @opentelemetry/api through it.
 */
export function statusOfError(err: unknown): number {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

type ObservabilityBlock = RouterConfig['observability'] | EntryPointConfig['observability'];

export function resolveObservability(block: ObservabilityBlock, internal: boolean, staticConfig: StaticConfig): RequestObservability {
  const tracing = staticConfig.tracing !== undefined && (block?.tracing ?? true) && (!internal || staticConfig.tracing.addInternals);
  return {
    accessLogs: (block?.accessLogs ?? true) && (!internal || staticConfig.accessLog?.addInternals === true),
    metrics: (block?.metrics ?? true) && (!internal || staticConfig.metrics?.addInternals === true),
    tracing,
    detailed: tracing && block?.traceVerbosity === 'detailed',
  };
}

/** An entry point's own observability: what requests no router took (404) produce. */
export function entryPointObservability(entryPoint: EntryPointConfig, staticConfig: StaticConfig): RequestObservability {
  return resolveObservability(entryPoint.observability, false, staticConfig);
}

/**
 * What no router took: Traefik's muxer default handler is the entry point chain around http.NotFoundHandler
 * (pkg/server/router/router.go buildEntryPointHandler: observabilityMgr.BuildEPChain(ctx, entryPointName, "", nil)),
 * so a 404 gets the EntryPoint span, by the entry point's own observability. `handler` itself without a tracer.
 */
export function observeNotFound(handler: Handler, staticConfig: StaticConfig, tracer: GatewayTracer | undefined): Handler {
  if (tracer === undefined) return handler;
  const byEntryPoint = new Map<string, RequestObservability>();
  for (const ep of Object.values(staticConfig.entryPoints)) byEntryPoint.set(ep.name, entryPointObservability(ep, staticConfig));
  return (req, rw) => {
    const obs = byEntryPoint.get(req.entryPoint);
    if (obs === undefined) return handler(req, rw);
    req.observability = obs;
    if (!obs.tracing) return handler(req, rw);
    const t = tracer.startRequest(req, false);
    req.trace = t;
    return handler(req, rw).then(() => t.finish(rw.statusCode, (rw as { sentHeaders?: ResponseHeaders }).sentHeaders ?? rw.headers));
  };
}

export interface RouterObservation {
  readonly name: string;
  readonly serviceName: string;
  readonly rule: string | undefined;
  readonly entryPoints: readonly string[];
  readonly observability: RouterConfig['observability'];
  readonly internal: boolean;
}

/**
 * Wraps a router's chain: marks each request with the router's observability and, when it is traced, opens the
 * EntryPoint span (and the Router span when detailed) and closes it with the response the client got.
 * Returns `handler` itself when there is nothing to do, so an unobserved router costs nothing per request.
 */
export function observeRouter(router: RouterObservation, handler: Handler, staticConfig: StaticConfig, tracer: GatewayTracer | undefined): Handler {
  if (router.observability === undefined && !router.internal && tracer === undefined) return handler;
  const byEntryPoint = new Map<string, RequestObservability>();
  for (const ep of router.entryPoints) {
    const block = router.observability ?? staticConfig.entryPoints[ep]?.observability;
    byEntryPoint.set(ep, resolveObservability(block, router.internal, staticConfig));
  }
  const fallback = resolveObservability(router.observability, router.internal, staticConfig);
  const routerAttributes = { 'traefik.service.name': router.serviceName, 'traefik.router.name': router.name, 'http.route': router.rule ?? '' };
  return (req, rw) => {
    const obs = byEntryPoint.get(req.entryPoint) ?? fallback;
    req.observability = obs;
    if (!obs.tracing || tracer === undefined) return handler(req, rw);
    const t = tracer.startRequest(req, obs.detailed);
    req.trace = t;
    const done = obs.detailed ? t.within('Router', routerAttributes, () => handler(req, rw)) : handler(req, rw);
    return done.then(
      // The entry point's writers keep the head they sent (the writer's `headers` are only what is still pending).
      () => t.finish(rw.statusCode, (rw as { sentHeaders?: ResponseHeaders }).sentHeaders ?? rw.headers),
      (err: unknown) => {
        t.finish(statusOfError(err), undefined);
        throw err;
      },
    );
  };
}

/** Traefik names a middleware's span after its type (`StripPrefix`, `Headers`, …): the kind, capitalised. */
export function middlewareSpanName(kind: string): string {
  return kind.charAt(0).toUpperCase() + kind.slice(1);
}

/** A middleware's span (detailed tracing only), attribute `traefik.middleware.name`. */
export function traceMiddleware(name: string, kind: string, handler: Handler): Handler {
  const spanName = middlewareSpanName(kind);
  const attributes = { 'traefik.middleware.name': name };
  return (req, rw) => {
    const t = req.trace;
    if (t === undefined || !t.detailed) return handler(req, rw);
    return t.within(spanName, attributes, () => handler(req, rw));
  };
}

/** The Service span (detailed tracing only), attribute `traefik.service.name`. */
export function traceService(name: string, handler: Handler): Handler {
  const attributes = { 'traefik.service.name': name };
  return (req, rw) => {
    const t = req.trace;
    if (t === undefined || !t.detailed) return handler(req, rw);
    return t.within('Service', attributes, () => handler(req, rw));
  };
}
