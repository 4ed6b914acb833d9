/**
 * stripPrefixRegex: the first regex whose leftmost match starts the path strips what it matched; that text
 * goes to X-Forwarded-Prefix (Traefik pkg/middlewares/stripprefixregex: `FindStringSubmatchIndex`, index 0).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileGoRegexp } from '../../lib/go-regexp/index.ts';
import { ensureLeadingSlash, splitUrl } from '../http/request.ts';

export const stripPrefixRegexSchema = z.object({ regex: z.array(z.string()).default([]) }).strict();

registerMiddleware('stripPrefixRegex', {
  schema: stripPrefixRegexSchema,
  create(config) {
    const regexes = config.regex.map((r) => compileGoRegexp(r.trim()));
    return (next) => (req, rw) => {
      const { path, query } = splitUrl(req.url);
      for (const re of regexes) {
        const loc = re.findSubmatchIndex(path);
        if (loc === null || loc[0] !== 0) continue;
        const prefix = path.slice(0, loc[1]);
        req.url = ensureLeadingSlash(path.slice(prefix.length)) + query;
        req.headers['x-forwarded-prefix'] = prefix;
        break;
      }
      return next(req, rw);
    };
  },
});
