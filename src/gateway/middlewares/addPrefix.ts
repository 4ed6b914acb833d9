/** addPrefix: prepends a prefix to the path before forwarding (Traefik pkg/middlewares/addprefix). */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { ensureLeadingSlash } from '../http/request.ts';

export const addPrefixSchema = z.object({ prefix: z.string().min(1, 'prefix cannot be empty') }).strict();

registerMiddleware('addPrefix', {
  schema: addPrefixSchema,
  create(config) {
    const prefix = ensureLeadingSlash(config.prefix);
    // "/api" + "/users" must not become "/api//users" when the prefix ends with a slash.
    const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    return (next) => (req, rw) => {
      req.url = trimmed + ensureLeadingSlash(req.url);
      return next(req, rw);
    };
  },
});
