/**
 * One traced request's place in its trace: the span that new spans start under (`context`), moved down as the
 * request enters a router, a middleware, a service, and back up when each is done. It rides on the request
 * (`GatewayRequest.trace`), so the data plane needs no context manager (AsyncLocalStorage) to find its parent.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { GatewayRequest, ResponseHeaders } from '../http/types.ts';
import type { GatewayTracer } from './tracer.ts';

/** Traefik's CaptureResponse: a server span is in error from 500, a client span from 400; a non-HTTP status always. */
export function setResponseStatus(span: Span, status: number, kind: SpanKind): void {
  if (status < 100 || status >= 600) span.setStatus({ code: SpanStatusCode.ERROR, message: `Invalid HTTP status code ${status}` });
  else if (status >= (kind === SpanKind.CLIENT ? 400 : 500)) span.setStatus({ code: SpanStatusCode.ERROR });
  if (status > 0) span.setAttribute('http.response.status_code', status);
}

export class RequestTrace {
  readonly tracer: GatewayTracer;
  /** traceVerbosity `detailed`: router, middleware and service spans too. */
  readonly detailed: boolean;
  /** The EntryPoint span (kind server). */
  readonly root: Span;
  /** Where the next span starts: the innermost span still open on the request's path. */
  context: Context;

  constructor(tracer: GatewayTracer, detailed: boolean, root: Span, context: Context) {
    this.tracer = tracer;
    this.detailed = detailed;
    this.root = root;
    this.context = context;
  }

  /**
   * Runs `next` inside an internal span named `name` (Traefik's Router, Service and middleware spans) and ends it
   * when `next` settles; spans started meanwhile are its children.
   */
  within(name: string, attributes: Attributes, next: () => Promise<void>): Promise<void> {
    const parent = this.context;
    const span = this.tracer.startSpan(name, SpanKind.INTERNAL, parent, attributes);
    this.context = trace.setSpan(parent, span);
    let done: Promise<void>;
    try {
      done = next();
    } catch (err) {
      done = Promise.reject(err);
    }
    const close = (): void => {
      span.end();
      this.context = parent; // a retry's next attempt starts under the same parent again
    };
    return done.then(close, (err: unknown) => {
      close();
      throw err;
    });
  }

  /** Ends the EntryPoint span with the response the client got. */
  finish(status: number, headers: ResponseHeaders | undefined): void {
    setResponseStatus(this.root, status, SpanKind.SERVER);
    if (headers) this.tracer.captureHeaders(this.root, 'http.response.header.', headers, this.tracer.responseHeaders);
    this.root.end();
  }

  /**
   * Traefik's ReverseProxy span (kind client) around one upstream request: returns the headers to send with the
   * W3C `traceparent`/`tracestate` of that span (replacing the client's), and the function that ends it.
   */
  upstream(req: GatewayRequest, url: URL, headers: (string | string[])[]): { headers: (string | string[])[]; end(status: number): void } {
    const tracer = this.tracer;
    const span = tracer.startSpan('ReverseProxy', SpanKind.CLIENT, this.context, tracer.clientAttributes(req, url));
    tracer.captureHeaders(span, 'http.request.header.', req.headers as ResponseHeaders, tracer.requestHeaders);
    const out = tracer.inject(trace.setSpan(this.context, span), headers);
    return {
      headers: out,
      end(status: number) {
        setResponseStatus(span, status, SpanKind.CLIENT);
        span.end();
      },
    };
  }
}
