/** Test helpers shared by this folder's tests: requests built the way the gateway core will build them. */
import type { IncomingHttpHeaders } from 'node:http';
import type { MatchRequest } from './request.ts';

/** Go's requestdecorator.parseHost + CanonicalDomain: strip the port (and IPv6 brackets), trim, lower-case. */
export function canonicalHost(hostHeader: string): string {
  let h = hostHeader;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(1, end) : h;
  } else if (h.indexOf(':') >= 0 && h.indexOf(':') === h.lastIndexOf(':')) {
    h = h.slice(0, h.indexOf(':'));
  }
  return h.trim().toLowerCase();
}

/** A MatchRequest from a URL as httptest.NewRequest would see it (no punycode, raw path and query kept). */
export function requestFor(url: string, init: Partial<Omit<MatchRequest, 'host' | 'path' | 'query'>> = {}): MatchRequest {
  const m = /^[a-z]+:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(url);
  if (m === null) throw new Error(`bad test URL ${url}`);
  const headers: IncomingHttpHeaders = init.headers ?? {};
  return {
    method: init.method ?? 'GET',
    host: canonicalHost(m[1]!),
    path: m[2] === '' ? '/' : m[2]!,
    query: m[3] ?? '',
    headers,
    clientIp: init.clientIp ?? '192.0.2.1',
  };
}
