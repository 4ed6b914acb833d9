/**
 * The request line's target and the Host it names, the way Go's net/http reads them (Traefik's behaviour):
 * an absolute-form target (`GET http://b.test/x HTTP/1.1`, RFC 9112 §3.2.2) names the host itself and any Host
 * header is ignored (request.go `readRequest`: `req.Host = req.URL.Host`, the header only when the URL has no
 * host); the request then travels on in origin-form (`URL.RequestURI()`: path, "/" when empty, and query).
 * More than one Host line is refused (server.go `conn.readRequest`: "too many Host headers"), and a header named
 * `__proto__`, which node's parsed headers drop, is put back in a prototype-free map.
 */
import type { IncomingMessage } from 'node:http';
import { prototypeFree } from '../../lib/http/headers.ts';
import { hexValue } from './request-path.ts';

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

/** `scanHeaderLines` result bits. */
export const HeaderLines = {
  /** More than one Host line (node keeps only the first in `headers`): Go refuses the request. */
  repeatedHost: 1,
  /** A `__proto__` line, which node's plain-object `headers` silently drops. */
  protoName: 2,
} as const;

/**
 * One pass over the raw header lines for what node's parsed `headers` hide: a repeated Host and a header named
 * `__proto__`. Only names of those two lengths are looked at, so the usual request costs a length test per line.
 */
export function scanHeaderLines(raw: IncomingMessage): number {
  const lines = raw.rawHeaders;
  let hosts = 0;
  let flags = 0;
  for (let i = 0; i < lines.length; i += 2) {
    const name = lines[i]!;
    if (name.length === 4) {
      if ((name === 'Host' || name === 'host' || name.toLowerCase() === 'host') && ++hosts === 2) flags |= HeaderLines.repeatedHost;
    } else if (name.length === 9 && name.toLowerCase() === '__proto__') {
      flags |= HeaderLines.protoName;
    }
  }
  return flags;
}

/**
 * Replaces node's `headers` (a plain object, which drops `__proto__` and answers `constructor` from its
 * prototype) by a prototype-free copy holding the `__proto__` lines too, joined with ", " as node joins other
 * unknown fields. Called only when scanHeaderLines saw such a line, so the common request keeps node's map.
 */
export function withPrototypeFreeHeaders(raw: IncomingMessage): void {
  const headers = prototypeFree<IncomingMessage['headers']>();
  const parsed = raw.headers;
  for (const name of Object.keys(parsed)) headers[name] = parsed[name];
  const lines = raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i < lines.length; i += 2) if (lines[i]!.length === 9 && lines[i]!.toLowerCase() === '__proto__') values.push(lines[i + 1]!);
  headers['__proto__'] = values.join(', ');
  raw.headers = headers;
}

/**
 * Whether the target's path holds a `%` not followed by two hex digits. Go's server parses the target with
 * `url.ParseRequestURI`, whose `setPath` unescapes the path and fails on such an escape (`invalid URL escape`), so
 * `conn.readRequest` answers a bare 400 and the request never reaches Traefik; the query is kept raw there and is not
 * checked. Without this, an upstream and the encodedCharacters check could read `%%2F` differently.
 */
export function hasInvalidPathEscape(url: string): boolean {
  let i = url.indexOf('%');
  if (i === -1) return false;
  const query = url.indexOf('?');
  const end = query === -1 ? url.length : query;
  for (; i !== -1 && i < end; i = url.indexOf('%', i + 1)) {
    if (i + 2 >= end || hexValue(url.charCodeAt(i + 1)) < 0 || hexValue(url.charCodeAt(i + 2)) < 0) return true;
    i += 2;
  }
  return false;
}

/** Go's answer to a target it cannot parse (`conn.readRequest` with a non-badRequestError): no reason given. */
export const BAD_REQUEST = '400 Bad Request';

/** Go's answer to a request with two Host lines: its badRequestError text, and the connection closes. */
export const TOO_MANY_HOSTS = '400 Bad Request: too many Host headers';
