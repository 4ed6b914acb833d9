/**
 * The request path as Traefik hands it to routing (docs/content/security/request-path.md, "How Traefik Processes
 * Request Paths"): percent-encoded unreserved characters (RFC 3986 §2.3: letters, digits, `-._~`) are decoded and every
 * other escape is written upper-case (§6.2.2.1) — Traefik's normalizePath handler; then, unless the entry point sets
 * `http.sanitizePath: false`, the `.` and `..` segments and duplicate slashes are removed (§6.2.2.3) as its
 * sanitizePath handler does with Go's `url.JoinPath()` (path.Join on the escaped path, one trailing slash kept). So
 * `/public/%2e%2e/admin` is routed, checked by middlewares and forwarded as `/admin`, never matched by a `/public`
 * router and then resolved by the upstream. The query is left as sent.
 */

/** The origin-form target with its path normalised (and sanitised); the same string when nothing changes. */
export function normalizeRequestTarget(url: string, sanitize: boolean): string {
  const queryAt = url.indexOf('?');
  const end = queryAt === -1 ? url.length : queryAt;
  let escapes = false;
  let dotOrSlash = false;
  for (let i = 0; i < end; i++) {
    const c = url.charCodeAt(i);
    if (c === 37 /* % */) escapes = true;
    else if (c === 47 /* / */ && i + 1 < end) {
      const next = url.charCodeAt(i + 1);
      if (next === 47 || next === 46 /* . */) dotOrSlash = true;
    }
  }
  if (!escapes && !(sanitize && dotOrSlash)) return url;
  let path = url.slice(0, end);
  if (escapes) path = normalizeEscapes(path);
  // A path that is not rooted (`*`, or something only HTTP/2's :path could carry) is left to the router as Go leaves it.
  if (sanitize && path.charCodeAt(0) === 47) path = cleanRooted(path);
  return queryAt === -1 ? path : path + url.slice(queryAt);
}

/** Unreserved characters decoded, other escapes upper-cased; a malformed `%` is kept as it is (refused earlier on HTTP/1.1). */
function normalizeEscapes(path: string): string {
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i !== -1 && i + 2 < path.length; i = path.indexOf('%', i + 1)) {
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) continue;
    const code = hi * 16 + lo;
    out += path.slice(from, i) + (isUnreserved(code) ? String.fromCharCode(code) : path.slice(i, i + 3).toUpperCase());
    from = i + 3;
    i += 2;
  }
  return from === 0 ? path : out + path.slice(from);
}

/** Go's path.Clean on a rooted path, with a trailing slash kept when the input had one (url.JoinPath). */
function cleanRooted(path: string): string {
  const kept: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') kept.pop();
    else kept.push(segment);
  }
  const cleaned = `/${kept.join('/')}`;
  return cleaned !== '/' && path.charCodeAt(path.length - 1) === 47 ? `${cleaned}/` : cleaned;
}

/** A hex digit's value, or -1 (the one hex test of the request-target checks). */
export function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 32;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

function isUnreserved(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95 || c === 126;
}
