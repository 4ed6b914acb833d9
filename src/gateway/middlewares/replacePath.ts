/**
 * replacePath: replaces the whole path (the query is kept) and stores the original path in X-Replaced-Path
 * (Traefik pkg/middlewares/replacepath).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { splitUrl } from '../http/request.ts';

export const replacePathSchema = z.object({ path: z.string() }).strict();

registerMiddleware('replacePath', {
  schema: replacePathSchema,
  create(config) {
    const replacement = config.path;
    return (next) => (req, rw) => {
      const { path, query } = splitUrl(req.url);
      req.headers['x-replaced-path'] = path;
      req.url = replacement + query;
      return next(req, rw);
    };
  },
});
