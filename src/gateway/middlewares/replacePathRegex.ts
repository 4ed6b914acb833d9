/**
 * replacePathRegex: when the regex matches the path, every match is replaced with the replacement (Go
 * template syntax: $1, ${1}, ${name}); the original path goes to X-Replaced-Path
 * (Traefik pkg/middlewares/replacepathregex).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileGoRegex, compileGoTemplate, goReplacer, splitUrl } from './common.ts';

export const replacePathRegexSchema = z.object({ regex: z.string(), replacement: z.string() }).strict();

registerMiddleware('replacePathRegex', {
  schema: replacePathRegexSchema,
  create(config) {
    const test = compileGoRegex(config.regex.trim());
    const global = compileGoRegex(config.regex.trim(), 'g');
    const expand = compileGoTemplate(config.replacement.trim());
    const replacer = goReplacer(expand);
    return (next) => (req, rw) => {
      const { path, query } = splitUrl(req.url);
      if (test.test(path)) {
        req.headers['x-replaced-path'] = path;
        let replaced = path.replace(global, replacer);
        if (!replaced.startsWith('/')) replaced = `/${replaced}`;
        req.url = replaced + query;
      }
      return next(req, rw);
    };
  },
});
