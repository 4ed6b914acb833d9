/**
 * Where a request's ACL token comes from, in Consul's order (agent/http.go parseTokenInternal and
 * parseTokenFromHeaders): the `?token=` query parameter first, then the `X-Consul-Token` header, then an
 * `Authorization: Bearer <token>` header. An empty value counts as absent and the next place is tried; absent
 * everywhere means no token (the resolver then uses the configured default token, else the anonymous one).
 */
import type { IncomingHttpHeaders } from 'node:http';

export function requestToken(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const fromQuery = query.get('token');
  if (fromQuery !== null && fromQuery !== '') return fromQuery;
  const header = headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  return bearerToken(headers.authorization);
}

/**
 * `Authorization: <scheme> <value>` with the scheme `Bearer` in any case. As in Consul, the header is split on
 * single spaces, the value is everything after the scheme, trimmed, and only its first space-separated word is
 * the token (RFC 6750 bearer tokens hold no spaces). A header without a space is no token at all.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization === '') return undefined;
  const parts = authorization.split(' ');
  if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer') return undefined;
  const token = parts.slice(1).join(' ').trim().split(' ')[0]!.trim();
  return token === '' ? undefined : token;
}
