/**
 * ipAllowList (and its deprecated v2 name ipWhiteList): only clients whose address — chosen by ipStrategy —
 * is in sourceRange pass; others get rejectStatusCode (403) (Traefik pkg/middlewares/ipallowlist).
 */
import { z } from 'zod';
import type { Middleware } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';
import { ipStrategySchema, requestIpStrategy } from './source-criterion.ts';
import { writeError } from '../http/write-error.ts';
import { Checker } from '../../lib/ip/checker.ts';

export const ipAllowListSchema = z
  .object({
    sourceRange: z.array(z.string()).min(1, 'sourceRange is empty, IPAllowLister not created'),
    ipStrategy: ipStrategySchema.optional(),
    rejectStatusCode: z.number().int().min(100).max(599).optional(),
  })
  .strict();

const definition = {
  schema: ipAllowListSchema,
  create(config: z.infer<typeof ipAllowListSchema>): Middleware {
    const checker = new Checker(config.sourceRange, 'sourceRange');
    const strategy = requestIpStrategy(config.ipStrategy);
    const status = config.rejectStatusCode ?? 403;
    return (next) => (req, rw) => {
      const ip = strategy(req);
      if (ip === '' || !checker.contains(ip)) {
        writeError(rw, status);
        return Promise.resolve();
      }
      return next(req, rw);
    };
  },
};

registerMiddleware('ipAllowList', definition);
registerMiddleware('ipWhiteList', { ...definition, schema: ipAllowListSchema.omit({ rejectStatusCode: true }) });
