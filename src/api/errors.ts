/**
 * The client's failures, each with a stable code so a caller can tell "Consul answered no" from "nothing answered":
 *   MG_API_STATUS     the server answered with a non-2xx status; `statusCode` is that status, `body` Consul's text
 *   MG_API_TRANSPORT  no answer: connection refused/reset, DNS, TLS (`cause` carries the system error)
 *   MG_API_TIMEOUT    the per-request deadline passed
 *   MG_API_ABORTED    the caller's AbortSignal fired
 *   MG_API_DECODE     a 2xx body that is not the JSON we expect
 *   MG_API_ADDRESS    the configured address cannot be used
 */
import { MeshgateError, defineError, isMeshgateError } from '../lib/errors.ts';

/** A non-2xx answer. Its statusCode is the HTTP status itself, so it cannot come from a fixed defineError. */
export class ApiStatusError extends MeshgateError {
  static readonly code = 'MG_API_STATUS';
  /** Consul's error body, verbatim (text/plain, e.g. "Missing node registration"). */
  readonly body: string;
  readonly method: string;
  readonly path: string;
  constructor(method: string, path: string, status: number, body: string) {
    const text = body.trim();
    super(ApiStatusError.code, status, `${method} ${path}: Unexpected response code: ${status}${text ? ` (${text})` : ''}`);
    this.name = 'ApiStatusError';
    this.body = body;
    this.method = method;
    this.path = path;
  }
}

export const ApiErrors = {
  transport: defineError('MG_API_TRANSPORT', 502, (method: string, url: string, reason: string) => `${method} ${url}: ${reason}`),
  timeout: defineError('MG_API_TIMEOUT', 504, (method: string, url: string, ms: number) => `${method} ${url}: no answer within ${Math.round(ms)}ms`),
  aborted: defineError('MG_API_ABORTED', 499, (method: string, url: string) => `${method} ${url}: aborted`),
  decode: defineError('MG_API_DECODE', 502, (method: string, url: string, reason: string) => `${method} ${url}: undecodable response: ${reason}`),
  address: defineError('MG_API_ADDRESS', 400, (address: string, reason: string) => `address "${address}": ${reason}`),
} as const;

export function isApiStatusError(err: unknown, status?: number): err is ApiStatusError {
  return err instanceof ApiStatusError && (status === undefined || err.statusCode === status);
}

/** True for failures where no HTTP answer arrived (worth retrying against the same or another server). */
export function isTransportError(err: unknown): err is MeshgateError {
  return isMeshgateError(err, ApiErrors.transport.code) || isMeshgateError(err, ApiErrors.timeout.code);
}

export function isAbortError(err: unknown): err is MeshgateError {
  return isMeshgateError(err, ApiErrors.aborted.code);
}
