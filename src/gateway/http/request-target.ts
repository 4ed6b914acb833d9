/**
 * The request line's target and the Host it names, the way Go's net/http reads them (Traefik's behaviour):
 * an absolute-form target (`GET http://b.test/x HTTP/1.1`, RFC 9112 §3.2.2) names the host itself and any Host
 * header is ignored (request.go `readRequest`: `req.Host = req.URL.Host`, the header only when the URL has no
 * host); the request then travels on in origin-form (`URL.RequestURI()`: path, "/" when empty, and query).
 * More than one Host line is refused (server.go `conn.readRequest`: "too many Host headers").
 */
import type { IncomingMessage } from 'node:http';

export interface AbsoluteTarget {
  /** The authority without userinfo, as written (`B.test:8080`); '' when the URI has none. */
  authority: string;
  /** Path and query in origin-form (`/x?y=1`). */
  originForm: string;
}

/**
 * Splits an absolute-form target; undefined for an origin-form (`/…`) or asterisk (`*`) target, which is what
 * nearly every request carries, so the common case costs one character comparison.
 */
export function absoluteTarget(url: string): AbsoluteTarget | undefined {
  if (url.charCodeAt(0) === 47 /* / */ || url === '*') return undefined;
  const sep = url.indexOf('://');
  if (sep <= 0) return undefined;
  const start = sep + 3;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  let authority = url.slice(start, end);
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  let rest = url.slice(end);
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  const originForm = rest === '' ? '/' : rest.charCodeAt(0) === 63 ? `/${rest}` : rest;
  return { authority, originForm };
}

/** True when the request carried more than one Host line (node keeps only the first in `headers`). */
export function hasRepeatedHost(raw: IncomingMessage): boolean {
  const lines = raw.rawHeaders;
  let seen = false;
  for (let i = 0; i < lines.length; i += 2) {
    const name = lines[i]!;
    if (name.length !== 4) continue;
    if (name === 'Host' || name === 'host' || name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** Go's answer to a request with two Host lines: its badRequestError text, and the connection closes. */
export const TOO_MANY_HOSTS = '400 Bad Request: too many Host headers';
