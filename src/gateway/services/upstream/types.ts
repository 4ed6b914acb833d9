/**
 * The contract between the proxy and an upstream HTTP/1.1 client. It is the shape of undici's `dispatch` handler
 * (onRequestStart / onResponseStart / onResponseData / onResponseEnd / onResponseError / onRequestUpgrade with a
 * controller), so the proxy's handler runs unchanged on our pool or on an undici Agent (tests use both).
 */
import type { Duplex, Readable } from 'node:stream';

export type ResponseHeaderMap = Record<string, string | string[] | undefined>;

export interface UpstreamRequest {
  /** Accepted for undici compatibility; a pool always talks to its own origin. */
  origin?: string;
  method: string;
  /** Path and query, as sent on the request line. */
  path: string;
  /** Flat [name, value, name, value…]; names lower-case. Hop-by-hop headers must already be removed. */
  headers: (string | string[])[];
  /** A Buffer (replayable: a stale keep-alive connection is retried) or a stream (sent once). */
  body: Buffer | Readable | null;
  /** The protocol of an Upgrade request (`websocket`); the request then has no body. */
  upgrade: string | null;
}

export interface UpstreamController {
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: Error | null;
  /** Stops the exchange: the connection is closed and onResponseError is called with `reason`. */
  abort(reason: Error): void;
  /** Backpressure from a slow client: stops reading the upstream socket. */
  pause(): void;
  resume(): void;
}

export interface UpstreamHandler {
  onRequestStart?(controller: UpstreamController, context: unknown): void;
  onResponseStart?(controller: UpstreamController, statusCode: number, headers: ResponseHeaderMap, statusMessage?: string): void;
  onResponseData?(controller: UpstreamController, chunk: Buffer): void;
  onResponseEnd?(controller: UpstreamController, trailers: ResponseHeaderMap): void;
  onResponseError?(controller: UpstreamController, err: Error): void;
  onRequestUpgrade?(controller: UpstreamController, statusCode: number, headers: ResponseHeaderMap, socket: Duplex): void;
}

/** Anything that can carry an upstream exchange: our UpstreamPool, or an undici Dispatcher. */
export interface UpstreamDispatcher {
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): boolean;
}
