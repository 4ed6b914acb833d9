/**
 * Reading and deriving a GatewayRequest: its headers (node lower-cases request header names), its origin-form URL
 * (path and query), a copy with some fields changed for a sub-request, and its body up to a limit (or the one
 * buffering already read).
 */
import { Readable } from 'node:stream';
import type { GatewayRequest } from './types.ts';
import { readBodyLimited } from '../../lib/http/body.ts';

/** First value of a request header. */
export function requestHeader(req: GatewayRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q) };
}

export function ensureLeadingSlash(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

/** The Host header as sent (with port), falling back to the parsed host. */
export function rawHost(req: GatewayRequest): string {
  return requestHeader(req, 'host') ?? requestHeader(req, ':authority') ?? req.host;
}

/**
 * A request that differs from `req` only in the listed fields. Built with the original as prototype so
 * accessor-based request objects keep working; `data` stays shared (it is per request, not per attempt).
 */
export function deriveRequest(req: GatewayRequest, overrides: Partial<Record<keyof GatewayRequest, unknown>>): GatewayRequest {
  const derived = Object.create(req) as GatewayRequest;
  for (const [key, value] of Object.entries(overrides)) {
    Object.defineProperty(derived, key, { value, writable: true, enumerable: true, configurable: true });
  }
  return derived;
}

export function emptyBody(): Readable {
  return Readable.from([]);
}

/** Reads a request body (or the one buffering already read), stopping with `overflow` past `limit` bytes (≤ 0: none). */
export function readBody(req: GatewayRequest, limit = 0): Promise<{ body: Buffer; overflow: boolean }> {
  const buffered = req.bufferedBody;
  if (buffered !== undefined) return Promise.resolve({ body: buffered, overflow: limit > 0 && buffered.length > limit });
  return readBodyLimited(req.body, limit);
}
