/**
 * Coded errors of the gateway's request path. A handler rejects with one of these *before* it has written
 * response headers (so `retry` can try again and `failover` can fall back); the entry point turns an unhandled one
 * into the status and the short text Traefik writes (`Bad Gateway`, `Gateway Timeout`, `no available server`),
 * never the internal cause, which stays on `cause` for the logs.
 */
import { defineError, MeshgateError } from '../../lib/errors.ts';
import { STATUS_CLIENT_CLOSED_REQUEST } from '../../lib/http/status.ts';

export type GatewayError = MeshgateError;

export const GatewayErrors = {
  /** Upstream refused, reset or closed the connection before a response (Traefik: 502). */
  badGateway: defineError('MG_GATEWAY_BAD_GATEWAY', 502, () => 'Bad Gateway'),
  /**
   * The upstream answered but its response broke before anything reached the client (bad framing, closed before
   * the body): 502 as well, but not retryable — the server did get and answer the request.
   */
  badResponse: defineError('MG_GATEWAY_BAD_RESPONSE', 502, () => 'Bad Gateway'),
  /** Dial or response-header timeout (Traefik: 504). */
  gatewayTimeout: defineError('MG_GATEWAY_TIMEOUT', 504, () => 'Gateway Timeout'),
  /** A load balancer with no healthy server left (Traefik's errNoAvailableServer: 503). */
  noAvailableServer: defineError('MG_GATEWAY_NO_AVAILABLE_SERVER', 503, () => 'no available server'),
  /** The client went away; only ever logged (499). */
  clientClosed: defineError('MG_GATEWAY_CLIENT_CLOSED', STATUS_CLIENT_CLOSED_REQUEST, () => 'Client Closed Request'),
} as const;


/** True when nothing reached the upstream application or no response came back: a retry may try another server. */
export function isRetryableGatewayError(err: unknown): boolean {
  return err instanceof MeshgateError
    && (err.code === GatewayErrors.badGateway.code || err.code === GatewayErrors.gatewayTimeout.code);
}
