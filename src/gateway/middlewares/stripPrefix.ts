/**
 * stripPrefix: removes the first matching prefix from the path and records it in X-Forwarded-Prefix
 * (Traefik pkg/middlewares/stripprefix). The query string is kept as is.
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { ensureLeadingSlash, splitUrl } from '../http/request.ts';

export const stripPrefixSchema = z
  .object({
    prefixes: z.array(z.string()).default([]),
    /** Deprecated in Traefik v3 and without effect there; accepted so existing files load. */
    forceSlash: z.boolean().optional(),
  })
  .strict();

registerMiddleware('stripPrefix', {
  schema: stripPrefixSchema,
  create(config) {
    const prefixes = config.prefixes.map((p) => p.trim()).filter((p) => p.length > 0);
    return (next) => (req, rw) => {
      const { path, query } = splitUrl(req.url);
      for (const prefix of prefixes) {
        if (path.startsWith(prefix)) {
          req.url = ensureLeadingSlash(path.slice(prefix.length)) + query;
          req.headers['x-forwarded-prefix'] = prefix;
          break;
        }
      }
      return next(req, rw);
    };
  },
});
