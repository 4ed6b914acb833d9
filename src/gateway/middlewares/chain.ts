/**
 * chain: a named list of middlewares applied in order, the first outermost (Traefik pkg/middlewares/chain).
 * Names resolve through the build context (unqualified names within the chain's own provider).
 */
import { z } from 'zod';
import type { Middleware } from '../http/types.ts';
import { registerMiddleware } from './registry.ts';

export const chainSchema = z.object({ middlewares: z.array(z.string()).default([]) }).strict();

registerMiddleware('chain', {
  schema: chainSchema,
  create(config, context) {
    const middlewares: Middleware[] = config.middlewares.map((name) => context.resolveMiddleware(name));
    return (next) => {
      let handler = next;
      for (let i = middlewares.length - 1; i >= 0; i--) handler = middlewares[i]!(handler);
      return handler;
    };
  },
});
