/**
 * The gateway's request path is a chain of handlers in the shape of Go's net/http (Traefik's own model):
 * a handler gets the request and a ResponseWriter; a middleware wraps the next handler; a middleware that must see
 * or change the response (headers, compress, errors, circuitBreaker, retry) wraps the ResponseWriter.
 * Nothing here depends on where the request came from, so middlewares are tested without sockets where that helps.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { RequestTrace } from '../tracing/request-trace.ts';

export type HeaderValue = string | string[];
export type ResponseHeaders = Record<string, HeaderValue>;

export interface GatewayRequest {
  readonly method: string;
  /** Path and query as the upstream will receive them; path middlewares (stripPrefix, replacePath, …) rewrite it. */
  url: string;
  /** Request headers, lower-cased names, mutable: auth and headers middlewares add or remove entries. */
  headers: IncomingHttpHeaders;
  /** Host without port, lower-cased (from the Host header or :authority). */
  readonly host: string;
  /** The TCP peer's address (never taken from X-Forwarded-For). */
  readonly remoteAddress: string;
  /** The client address after entry point `forwardedHeaders.trustedIPs` has been applied. */
  readonly clientIp: string;
  readonly tls: boolean;
  readonly entryPoint: string;
  /** The request body stream (the IncomingMessage itself for real traffic). */
  readonly body: Readable;
  /** The raw node request, for upgrades and low-level needs. Absent in unit tests. */
  readonly raw?: IncomingMessage;
  /** Name of the matched router (qualified, e.g. `api@file`); set by the router. */
  routerName?: string;
  /** Name of the target service (qualified), set when the router dispatches. */
  serviceName?: string;
  /** Original path before path middlewares rewrote it (X-Forwarded-Prefix etc. are derived from it). */
  readonly originalUrl: string;
  /** Set by buffering/retry when the body has been read into memory so it can be replayed. */
  bufferedBody?: Buffer;
  /** Free-form values middlewares share with the access log (e.g. ClientUsername). */
  readonly data: Record<string, unknown>;
  /**
   * For an HTTP/1.1 Upgrade request (WebSocket): the bytes the client sent after the request head. The client's
   * socket is `raw.socket`; the proxy answers 101 through the ResponseWriter, then joins the two sockets.
   */
  readonly upgradeHead?: Buffer;
  /** Which signals this request produces, set by its router (gateway/tracing); undefined: the entry point's. */
  observability?: RequestObservability;
  /** The request's place in its trace (gateway/tracing); undefined when it is not traced. */
  trace?: RequestTrace;
}

/** Traefik's resolved `observability` of a router (its own block, else its entry point's, internal ones off). */
export interface RequestObservability {
  readonly accessLogs: boolean;
  readonly metrics: boolean;
  readonly tracing: boolean;
  /** `traceVerbosity: detailed`: router, middleware and service spans besides the entry point's and the proxy's. */
  readonly detailed: boolean;
}

export interface ResponseWriter {
  readonly headersSent: boolean;
  /** Status code written (or 0 before writeHead). */
  readonly statusCode: number;
  /** Response headers that will be sent; middlewares may edit them until writeHead is called. */
  readonly headers: ResponseHeaders;
  writeHead(statusCode: number, headers?: ResponseHeaders): void;
  /** Returns false when the client is slow; wait for onDrain before writing more. */
  write(chunk: Buffer | string): boolean;
  end(chunk?: Buffer | string): void;
  onDrain(listener: () => void): void;
  /** Flushes any buffered bytes now (responseForwarding.flushInterval, SSE). */
  flush?(): void;
  /** True once the client has gone away; handlers stop work early. */
  readonly closed: boolean;
  /** Calls `listener` once when the response stream closes; if `closed` is then true the client went away early. */
  onClose?(listener: () => void): void;
  /**
   * Response trailers, sent after the body (gRPC's status). Only writers whose protocol carries them have it (HTTP/2);
   * a wrapping writer that does not pass it on drops the trailers, as an HTTP/1.1 response without chunking must.
   */
  addTrailers?(trailers: ResponseHeaders): void;
}

/** Resolves when the response has been completely written or abandoned; rejects only with GatewayError. */
export type Handler = (req: GatewayRequest, rw: ResponseWriter) => Promise<void>;

export type Middleware = (next: Handler) => Handler;
