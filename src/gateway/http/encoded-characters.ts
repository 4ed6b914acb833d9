/**
 * Ambiguous reserved characters percent-encoded in a request path (%2F, %5C, %00, %3B, %25, %3F, %23), refused with a
 * bare 400 unless allowed — the one check behind the `encodedCharacters` middleware (every character refused unless
 * allowed) and the entry point option `http.encodedCharacters` (every character allowed unless refused, Traefik
 * v3.6.7+). Traefik: pkg/middlewares/encodedcharacters mapDeniedCharacters and pkg/server/router/deny.go; only the
 * escaped path is read, never the query.
 */
import type { Handler } from './types.ts';
import { splitUrl } from './request.ts';
import { hexValue } from './request-path.ts';

export interface EncodedCharactersOptions {
  allowEncodedSlash?: boolean | undefined;
  allowEncodedBackSlash?: boolean | undefined;
  allowEncodedNullCharacter?: boolean | undefined;
  allowEncodedSemicolon?: boolean | undefined;
  allowEncodedPercent?: boolean | undefined;
  allowEncodedQuestionMark?: boolean | undefined;
  allowEncodedHash?: boolean | undefined;
}

/** Each option and the encoded character it allows (hex digits compared without regard to case). */
const OPTIONS: readonly [keyof EncodedCharactersOptions, string][] = [
  ['allowEncodedSlash', '2F'],
  ['allowEncodedBackSlash', '5C'],
  ['allowEncodedNullCharacter', '00'],
  ['allowEncodedSemicolon', '3B'],
  ['allowEncodedPercent', '25'],
  ['allowEncodedQuestionMark', '3F'],
  ['allowEncodedHash', '23'],
];

/** The encoded characters refused, upper-case hex; an option left out counts as `allowByDefault`. */
export function deniedEncodings(options: EncodedCharactersOptions, allowByDefault: boolean): Set<string> {
  return new Set(OPTIONS.filter(([option]) => !(options[option] ?? allowByDefault)).map(([, hex]) => hex));
}

/**
 * Whether `path` (still percent-encoded) holds a denied encoding, or a `%` without two hex digits after it — a target
 * Go's url.ParseRequestURI refuses before Traefik sees it; counting it as denied also keeps `%%2F` from hiding its %2F.
 */
export function hasDeniedEncoding(path: string, denied: ReadonlySet<string>): boolean {
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 3)) {
    if (i + 2 >= path.length) return true;
    const hex = path.slice(i + 1, i + 3).toUpperCase();
    if (denied.has(hex) || hexValue(hex.charCodeAt(0)) < 0 || hexValue(hex.charCodeAt(1)) < 0) return true;
  }
  return false;
}

/** `next` behind the check; `next` itself when nothing is denied, so the common case costs nothing. */
export function denyEncodedCharacters(denied: ReadonlySet<string>, next: Handler): Handler {
  if (denied.size === 0) return next;
  return (req, rw) => {
    if (!hasDeniedEncoding(splitUrl(req.url).path, denied)) return next(req, rw);
    rw.writeHead(400);
    rw.end();
    return Promise.resolve();
  };
}
