/**
 * encodedCharacters: a request whose path carries one of the ambiguous reserved characters percent-encoded (%2F, %5C,
 * %00, %3B, %25, %3F, %23) answers 400 unless the matching allowEncoded* option is true — the per-router form of the
 * entry point option of the same name, for backends that decode such paths differently from the router (Traefik
 * v3.7 pkg/middlewares/encodedcharacters: every option defaults to false, the check runs on the escaped path only,
 * and the 400 has no body).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { splitUrl } from '../http/request.ts';

const flag = z.boolean().optional();
export const encodedCharactersSchema = z
  .object({
    allowEncodedSlash: flag,
    allowEncodedBackSlash: flag,
    allowEncodedNullCharacter: flag,
    allowEncodedSemicolon: flag,
    allowEncodedPercent: flag,
    allowEncodedQuestionMark: flag,
    allowEncodedHash: flag,
  })
  .strict();
type EncodedCharactersConfig = z.infer<typeof encodedCharactersSchema>;

/** Each option and the encoded character it allows (hex digits compared without regard to case). */
const OPTIONS: readonly [keyof EncodedCharactersConfig, string][] = [
  ['allowEncodedSlash', '2F'],
  ['allowEncodedBackSlash', '5C'],
  ['allowEncodedNullCharacter', '00'],
  ['allowEncodedSemicolon', '3B'],
  ['allowEncodedPercent', '25'],
  ['allowEncodedQuestionMark', '3F'],
  ['allowEncodedHash', '23'],
];

/** The encoded characters `config` refuses, upper-case hex. */
export function deniedEncodings(config: EncodedCharactersConfig): Set<string> {
  return new Set(OPTIONS.filter(([option]) => config[option] !== true).map(([, hex]) => hex));
}

/** Whether `path` (still percent-encoded) holds a denied encoding, or a `%` without two characters after it. */
export function hasDeniedEncoding(path: string, denied: ReadonlySet<string>): boolean {
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 3)) {
    if (i + 2 >= path.length) return true;
    if (denied.has(path.slice(i + 1, i + 3).toUpperCase())) return true;
  }
  return false;
}

registerMiddleware('encodedCharacters', {
  schema: encodedCharactersSchema,
  create(config) {
    const denied = deniedEncodings(config);
    return (next) => (req, rw) => {
      if (denied.size > 0 && hasDeniedEncoding(splitUrl(req.url).path, denied)) {
        rw.writeHead(400);
        rw.end();
        return Promise.resolve();
      }
      return next(req, rw);
    };
  },
});
