/**
 * The gateway's OpenTelemetry tracer (Traefik's pkg/tracing and pkg/tracing/opentelemetry): an SDK TracerProvider
 * sampling parent-based at `sampleRate`, batching spans to one OTLP exporter (HTTP, which sends OTLP/JSON, or gRPC),
 * the W3C trace-context propagator, and the attributes Traefik's CaptureServerRequest / CaptureClientRequest set —
 * with every query value but the `safeQueryParams` redacted and only the configured headers captured.
 * One per process (each cluster worker exports its own spans).
 */
import { ROOT_CONTEXT, SpanKind, trace, defaultTextMapGetter, defaultTextMapSetter, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter as HttpTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { defineError } from '../../lib/errors.ts';
import type { GatewayRequest, HeaderValue } from '../http/types.ts';
import { grpcExporterOptions, httpAgentOptions } from './otlp-client.ts';
import { RequestTrace } from './request-trace.ts';
import { DEFAULT_OTLP_HTTP_ENDPOINT, type TracingConfig } from './schema.ts';

export const TracingErrors = {
  /** A `tracing.otlp.*.tls` file cannot be read, or the gRPC endpoint is not host:port. */
  setup: defineError('MG_GATEWAY_TRACING_SETUP', 400, (message: string) => `tracing: ${message}`),
};

/** Traefik's instrumentation scope name, so spans group as Traefik's do in a tracing backend. */
const SCOPE = 'github.com/traefik/traefik';

/** The OTLP exporter `config.otlp` asks for (HTTP to Traefik's default endpoint when none is named). */
export function createExporter(config: TracingConfig): SpanExporter {
  const grpc = config.otlp?.grpc;
  if (grpc) return new GrpcTraceExporter(grpcExporterOptions(grpc, 'otlp.grpc', TracingErrors.setup));
  const http = config.otlp?.http;
  return new HttpTraceExporter({
    url: http?.endpoint ?? DEFAULT_OTLP_HTTP_ENDPOINT,
    headers: { ...http?.headers },
    ...httpAgentOptions(http?.tls, 'otlp.http', TracingErrors.setup),
  });
}

export class GatewayTracer {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #propagator = new W3CTraceContextPropagator();
  readonly #safeQuery: Set<string>;
  readonly #global: Attributes;
  /** capturedRequestHeaders / capturedResponseHeaders, lower-cased (node's header names are). */
  readonly requestHeaders: readonly string[];
  readonly responseHeaders: readonly string[];

  constructor(config: TracingConfig, exporter: SpanExporter = createExporter(config)) {
    this.#provider = new TracerProvider({
      // Traefik: root spans sampled at sampleRate, children follow the incoming trace's decision.
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRate) }),
      resource: resourceFromAttributes({ 'service.name': config.serviceName, ...config.resourceAttributes }),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
    });
    this.#tracer = this.#provider.getTracer(SCOPE);
    this.#safeQuery = new Set(config.safeQueryParams);
    this.#global = { ...config.globalAttributes };
    // User-Agent is captured as user_agent.original already (Traefik skips it among the captured headers).
    this.requestHeaders = config.capturedRequestHeaders.map((h) => h.toLowerCase()).filter((h) => h !== 'user-agent');
    this.responseHeaders = config.capturedResponseHeaders.map((h) => h.toLowerCase());
  }

  startSpan(name: string, kind: SpanKind, parent: Context, attributes: Attributes): Span {
    const span = this.#tracer.startSpan(name, { kind, attributes }, parent);
    for (const key in this.#global) span.setAttribute(key, this.#global[key]!);
    return span;
  }

  /**
   * Traefik's EntryPoint span (kind server) for `req`, a child of the `traceparent` it came with if any, with
   * CaptureServerRequest's attributes.
   */
  startRequest(req: GatewayRequest, detailed: boolean): RequestTrace {
    const parent = this.#propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const span = this.startSpan('EntryPoint', SpanKind.SERVER, parent, this.serverAttributes(req));
    this.captureHeaders(span, 'http.request.header.', req.headers as Record<string, HeaderValue | undefined>, this.requestHeaders);
    return new RequestTrace(this, detailed, span, trace.setSpan(parent, span));
  }

  serverAttributes(req: GatewayRequest): Attributes {
    const url = req.url;
    const q = url.indexOf('?');
    const length = Number(req.headers['content-length'] ?? 0);
    const attributes: Attributes = {
      entry_point: req.entryPoint,
      'http.request.method': req.method,
      'network.protocol.version': protocolVersion(req),
      'http.request.body.size': Number.isFinite(length) ? length : 0,
      'url.path': q === -1 ? url : url.slice(0, q),
      'url.query': q === -1 ? '' : this.safeQuery(url.slice(q + 1)),
      'url.scheme': headerText(req.headers['x-forwarded-proto']) ?? (req.tls ? 'https' : 'http'),
      'user_agent.original': headerText(req.headers['user-agent']) ?? '',
      'server.address': headerText(req.headers.host) ?? req.host,
      'client.address': req.remoteAddress,
      'network.peer.address': req.remoteAddress,
    };
    const port = req.raw?.socket?.remotePort;
    if (port !== undefined) {
      attributes['client.port'] = port;
      attributes['network.peer.port'] = port;
    }
    return attributes;
  }

  /** Traefik's CaptureClientRequest for the upstream request to `url`. */
  clientAttributes(req: GatewayRequest, url: URL): Attributes {
    const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const q = req.url.indexOf('?');
    const path = q === -1 ? req.url : req.url.slice(0, q);
    const query = q === -1 ? '' : this.safeQuery(req.url.slice(q + 1));
    return {
      'http.request.method': req.method,
      'network.protocol.version': '1.1',
      'url.full': `${url.protocol}//${url.host}${path}${query === '' ? '' : `?${query}`}`,
      'server.address': url.hostname,
      'server.port': port,
      'network.peer.address': url.hostname,
      'network.peer.port': port,
    };
  }

  /** Traefik's safeURL: every query value becomes REDACTED unless its name is in safeQueryParams (Go's Encode sorts). */
  safeQuery(query: string): string {
    if (query === '') return '';
    const params = new URLSearchParams(query);
    const out = new URLSearchParams();
    for (const [name, value] of params) out.append(name, this.#safeQuery.has(name) ? value : 'REDACTED');
    out.sort();
    return out.toString();
  }

  captureHeaders(span: Span, prefix: string, headers: Record<string, HeaderValue | undefined>, names: readonly string[]): void {
    for (const name of names) {
      const value = headers[name];
      if (value === undefined) continue;
      span.setAttribute(prefix + name, Array.isArray(value) ? value : [value]);
    }
  }

  /** `headers` (a flat name, value list) with the trace context of `context` instead of any the client sent. */
  inject(context: Context, headers: (string | string[])[]): (string | string[])[] {
    const carrier: Record<string, string> = Object.create(null) as Record<string, string>;
    this.#propagator.inject(context, carrier, defaultTextMapSetter);
    const out: (string | string[])[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name === 'traceparent' || name === 'tracestate') continue;
      out.push(name, headers[i + 1]!);
    }
    for (const name in carrier) out.push(name, carrier[name]!);
    return out;
  }

  /** Exports what is still buffered, then stops (gateway close). */
  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value[0] : value;
}

function protocolVersion(req: GatewayRequest): string {
  const version = req.raw?.httpVersion;
  return version === undefined ? '1.1' : version === '2.0' ? '2' : version;
}
