/**
 * stripPrefixRegex: the first regex that matches at the start of the path strips what it matched; that text
 * goes to X-Forwarded-Prefix (Traefik pkg/middlewares/stripprefixregex).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileGoRegex, ensureLeadingSlash, splitUrl } from './common.ts';

export const stripPrefixRegexSchema = z.object({ regex: z.array(z.string()).default([]) }).strict();

registerMiddleware('stripPrefixRegex', {
  schema: stripPrefixRegexSchema,
  create(config) {
    const regexes = config.regex.map((r) => compileGoRegex(r.trim()));
    return (next) => (req, rw) => {
      const { path, query } = splitUrl(req.url);
      for (const re of regexes) {
        const m = re.exec(path);
        if (m === null || m.index !== 0) continue;
        const prefix = m[0];
        req.url = ensureLeadingSlash(path.slice(prefix.length)) + query;
        req.headers['x-forwarded-prefix'] = prefix;
        break;
      }
      return next(req, rw);
    };
  },
});
