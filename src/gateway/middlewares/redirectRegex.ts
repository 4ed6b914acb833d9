/**
 * redirectRegex: redirects when `regex` matches the client's URL (scheme://host[:port]/path?query) and the
 * replacement (Go template: $1, ${1}) changes it (Traefik pkg/middlewares/redirect/redirect_regex.go).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileGoRegexp } from '../../lib/go-regexp/index.ts';
import { rawHost } from '../http/request.ts';
import { redirectHandler } from './redirect.ts';

export const redirectRegexSchema = z
  .object({ regex: z.string(), replacement: z.string(), permanent: z.boolean().default(false) })
  .strict();

registerMiddleware('redirectRegex', {
  schema: redirectRegexSchema,
  create(config) {
    const regex = compileGoRegexp(config.regex);
    return (next) =>
      redirectHandler(next, {
        regex,
        replacement: config.replacement,
        permanent: config.permanent,
        clientUrl: (req) => `${req.tls ? 'https' : 'http'}://${rawHost(req)}${req.url}`,
      });
  },
});
