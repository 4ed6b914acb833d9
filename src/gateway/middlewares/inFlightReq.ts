/**
 * inFlightReq: at most `amount` requests per source in progress at once; the next one gets 429
 * (Traefik pkg/middlewares/inflightreq). The source defaults to the request host, as in Traefik.
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileSourceCriterion, sourceCriterionSchema } from './source-criterion.ts';
import { writeError } from '../http/write-error.ts';

export const inFlightReqSchema = z
  .object({ amount: z.number().int().min(1), sourceCriterion: sourceCriterionSchema.optional() })
  .strict();

registerMiddleware('inFlightReq', {
  schema: inFlightReqSchema,
  create(config) {
    const source = compileSourceCriterion(config.sourceCriterion, 'host');
    const amount = config.amount;
    const inFlight = new Map<string, number>();
    const release = (key: string): void => {
      const n = (inFlight.get(key) ?? 1) - 1;
      if (n <= 0) inFlight.delete(key);
      else inFlight.set(key, n);
    };
    return (next) => async (req, rw) => {
      const key = source(req);
      const current = inFlight.get(key) ?? 0;
      if (current >= amount) {
        writeError(rw, 429, 'Too Many Requests');
        return;
      }
      inFlight.set(key, current + 1);
      try {
        await next(req, rw);
      } finally {
        release(key);
      }
    };
  },
});
