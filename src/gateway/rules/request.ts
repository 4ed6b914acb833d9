/**
 * What the matchers read from a request, computed at most once per match() call and only when a rule needs it:
 * the routing path (Traefik v3 decodes percent-encoded non-reserved characters before matching paths), the parsed
 * query (Go's url.ParseQuery semantics) and the parsed client address.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseIp, type IpAddress } from '../../lib/ip/address.ts';

export interface MatchRequest {
  method: string;
  /** Lower-case, port stripped. */
  host: string;
  /** Raw path, no query. */
  path: string;
  /** Raw query without '?'. */
  query: string;
  /**
   * Lower-cased names as Node gives them. A value may be an array: pass `req.headersDistinct` merged in when
   * repeated header lines must stay separate values (Go keeps them separate; Node joins most with ", ").
   */
  headers: IncomingHttpHeaders;
  /**
   * Node's flat `[name, value, name, value, …]` list as received. Header matchers read it only when a joined value
   * ("a, b") does not match, to test each header line on its own as Go does.
   */
  rawHeaders?: readonly string[] | undefined;
  clientIp: string;
}

/** Percent-encodings Traefik keeps encoded in the routing path (RFC 3986 reserved characters and '%'). */
const RESERVED_ENCODED = new Set(['3A', '2F', '3F', '23', '5B', '5D', '40', '21', '24', '26', '27', '28', '29', '2A', '2B', '2C', '3B', '3D', '25']);

const utf8 = new TextDecoder('utf-8');

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Traefik's routing path: the escaped path with non-reserved percent-encodings decoded (`/foo%20bar` matches
 * `PathPrefix(\`/foo bar\`)`, `%2F` stays `%2F`). Returns undefined for an invalid percent-encoding, for which
 * Traefik answers 400 without routing.
 */
export function routingPath(rawPath: string): string | undefined {
  if (!rawPath.includes('%')) return rawPath;
  let out = '';
  let bytes: number[] | undefined;
  const flush = () => {
    if (bytes !== undefined) {
      out += utf8.decode(new Uint8Array(bytes));
      bytes = undefined;
    }
  };
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c !== 37) {
      flush();
      out += rawPath[i];
      continue;
    }
    if (i + 2 >= rawPath.length) return undefined;
    const hi = hexValue(rawPath.charCodeAt(i + 1));
    const lo = hexValue(rawPath.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const code = rawPath.slice(i + 1, i + 3).toUpperCase();
    if (RESERVED_ENCODED.has(code)) {
      flush();
      out += rawPath.slice(i, i + 3);
    } else {
      (bytes ??= []).push(hi * 16 + lo);
    }
    i += 2;
  }
  flush();
  return out;
}

/** Go's url.QueryUnescape: '+' is a space, %XX must be valid. */
function queryUnescape(s: string): string | undefined {
  if (!s.includes('%')) return s.includes('+') ? s.replaceAll('+', ' ') : s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      if (i + 2 >= s.length) return undefined;
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return undefined;
      bytes.push(hi * 16 + lo);
      i += 2;
    } else if (c === 43) bytes.push(32);
    else if (c < 0x80) bytes.push(c);
    else {
      // A non-ASCII character (possibly a surrogate pair): its UTF-8 bytes, as Go's string holds them.
      const ch = String.fromCodePoint(s.codePointAt(i)!);
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      i += ch.length - 1;
    }
  }
  return utf8.decode(new Uint8Array(bytes));
}

/** Go's url.ParseQuery as req.URL.Query() uses it: pairs with ';' or bad escapes are dropped, the rest kept. */
export function parseQuery(query: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  if (query === '') return m;
  for (const pair of query.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    if (key === undefined) continue;
    const value = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1));
    if (value === undefined) continue;
    const list = m.get(key);
    if (list === undefined) m.set(key, [value]);
    else list.push(value);
  }
  return m;
}

/**
 * Per-request view the compiled matchers read. One instance per compiled route table is reused across calls
 * (match() is synchronous), so routing a request allocates nothing unless a rule needs the query or client IP.
 */
export class MatchContext {
  req!: MatchRequest;
  /** The routing path (see routingPath). */
  path = '';
  private query: Map<string, string[]> | undefined;
  private ipParsed = false;
  private ip: IpAddress | undefined;

  reset(req: MatchRequest, path: string): void {
    this.req = req;
    this.path = path;
    this.query = undefined;
    this.ipParsed = false;
    this.ip = undefined;
  }

  queryValues(key: string): string[] | undefined {
    this.query ??= parseQuery(this.req.query);
    return this.query.get(key);
  }

  clientAddress(): IpAddress | undefined {
    if (!this.ipParsed) {
      this.ip = this.req.clientIp === '' ? undefined : parseIp(this.req.clientIp);
      this.ipParsed = true;
    }
    return this.ip;
  }
}
