/**
 * Header handling shared by the inbound and outbound HTTP paths: hop-by-hop headers (RFC 9110 §7.6.1, plus those the
 * `Connection` header names) are not forwarded; everything else is copied into a prototype-free map.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { prototypeFree } from '../lib/http/headers.ts';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** Consul's protocols that the proxy handles per request. */
export function isHttpLike(protocol: string): boolean {
  return protocol === 'http' || protocol === 'http2' || protocol === 'grpc';
}

/** The protocols whose mesh hop is HTTP/2 (Consul's Envoy config: h2 between sidecars, h2c to the app). */
export function isH2Protocol(protocol: string): boolean {
  return protocol === 'http2' || protocol === 'grpc';
}

/** The header names a `Connection` value lists beyond the usual `keep-alive`/`close`, or undefined when it lists none. */
function connectionNamed(conn: string | undefined): Set<string> | undefined {
  if (conn === undefined) return undefined;
  const lower = conn.toLowerCase();
  // The common values name nothing that is not hop-by-hop already: no Set to build on every request.
  if (lower === 'keep-alive' || lower === 'close') return undefined;
  const named = new Set<string>();
  for (const n of lower.split(',')) named.add(n.trim());
  return named;
}

function copy(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  // Fast properties (lib/http prototypeFree), not a dictionary-mode Object.create(null): node walks this map again
  // to write the head.
  const out = prototypeFree<OutgoingHttpHeaders>();
  const named = connectionNamed(headers.connection);
  // Object.keys, not Object.entries: no [key, value] pair allocated per header on every request.
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || named?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

export const copyRequestHeaders = copy;
export const copyResponseHeaders = copy;
