/**
 * Errors of the upstream client, as values with codes. The proxy maps them to 502/504/500 (Traefik's
 * ComputeStatusCode); the message is for logs only and never reaches the client.
 */
import { MeshgateError } from '../../../lib/errors.ts';

export const UpstreamErrorCodes = {
  /** The TCP (or TLS) connection was not established within dialTimeout. → 504 */
  connectTimeout: 'MG_UPSTREAM_CONNECT_TIMEOUT',
  /** No response head within responseHeaderTimeout. → 504 */
  headersTimeout: 'MG_UPSTREAM_HEADERS_TIMEOUT',
  /** The upstream closed the connection before the response was complete. → 502 */
  closed: 'MG_UPSTREAM_CLOSED',
  /** The upstream sent something that is not valid HTTP/1.1 (bad status line, header, framing). → 502 */
  protocol: 'MG_UPSTREAM_PROTOCOL',
  /** The response head exceeded the header size limit. → 502 */
  headersOverflow: 'MG_UPSTREAM_HEADERS_OVERFLOW',
  /** The request cannot be written as HTTP/1.1 (a control character in a header, a space in the path). → 500 */
  invalidRequest: 'MG_UPSTREAM_INVALID_REQUEST',
  /** The request body stream failed or ended early (the client went away mid-upload). → 502 */
  requestBody: 'MG_UPSTREAM_REQUEST_BODY',
  /** The pool was closed. → 502 */
  poolClosed: 'MG_UPSTREAM_POOL_CLOSED',
} as const;

export type UpstreamErrorCode = (typeof UpstreamErrorCodes)[keyof typeof UpstreamErrorCodes];

/** The status each code maps to (Traefik's ComputeStatusCode), as the comments above say. */
const STATUS: Readonly<Record<UpstreamErrorCode, number>> = {
  MG_UPSTREAM_CONNECT_TIMEOUT: 504,
  MG_UPSTREAM_HEADERS_TIMEOUT: 504,
  MG_UPSTREAM_CLOSED: 502,
  MG_UPSTREAM_PROTOCOL: 502,
  MG_UPSTREAM_HEADERS_OVERFLOW: 502,
  MG_UPSTREAM_INVALID_REQUEST: 500,
  MG_UPSTREAM_REQUEST_BODY: 502,
  MG_UPSTREAM_POOL_CLOSED: 502,
};

export class UpstreamError extends MeshgateError {
  declare readonly code: UpstreamErrorCode;

  constructor(code: UpstreamErrorCode, message: string, cause?: unknown) {
    super(code, STATUS[code], message, cause === undefined ? undefined : { cause });
    this.name = 'UpstreamError';
  }
}
