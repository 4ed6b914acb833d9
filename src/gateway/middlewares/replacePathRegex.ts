/**
 * replacePathRegex: when the regex matches the path, every match is replaced with the replacement (Go
 * template syntax: $1, ${1}, ${name}); the original path goes to X-Replaced-Path
 * (Traefik pkg/middlewares/replacepathregex: `MatchString`, then `ReplaceAllString` — Go's regexp and Expand,
 * here `src/lib/go-regexp`).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileGoRegexp, compileGoTemplate } from '../../lib/go-regexp/index.ts';
import { splitUrl } from '../http/request.ts';

export const replacePathRegexSchema = z.object({ regex: z.string(), replacement: z.string() }).strict();

registerMiddleware('replacePathRegex', {
  schema: replacePathRegexSchema,
  create(config) {
    const regex = compileGoRegexp(config.regex.trim());
    const replacement = compileGoTemplate(config.replacement.trim());
    return (next) => (req, rw) => {
      const { path, query } = splitUrl(req.url);
      if (regex.test(path)) {
        req.headers['x-replaced-path'] = path;
        let replaced = regex.replaceAllString(path, replacement);
        if (!replaced.startsWith('/')) replaced = `/${replaced}`;
        req.url = replaced + query;
      }
      return next(req, rw);
    };
  },
});
