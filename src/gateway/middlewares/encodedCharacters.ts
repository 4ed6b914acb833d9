/**
 * encodedCharacters: a request whose path carries one of the ambiguous reserved characters percent-encoded (%2F, %5C,
 * %00, %3B, %25, %3F, %23) answers 400 unless the matching allowEncoded* option is true — the per-router form of the
 * entry point option of the same name, for backends that decode such paths differently from the router (Traefik
 * v3.7 pkg/middlewares/encodedcharacters: every option defaults to false, the check runs on the escaped path only,
 * and the 400 has no body). The check itself is http/encoded-characters.ts, shared with the entry point option.
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { deniedEncodings, denyEncodedCharacters } from '../http/encoded-characters.ts';

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

registerMiddleware('encodedCharacters', {
  schema: encodedCharactersSchema,
  create(config) {
    const denied = deniedEncodings(config, false);
    return (next) => denyEncodedCharacters(denied, next);
  },
});
