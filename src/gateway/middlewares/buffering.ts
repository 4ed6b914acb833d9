/**
 * buffering: reads the whole request before the service sees it (maxRequestBodyBytes, 413 beyond) and the whole
 * response before the client sees it (maxResponseBodyBytes, 500 beyond), so the upstream works at its own speed and
 * a failed attempt can be replayed by retryExpression (oxy's predicate over `Attempts()`, `ResponseCode()`,
 * `IsNetworkError()`) (Traefik pkg/middlewares/buffering on oxy's buffer). Bodies are kept in memory:
 * memRequestBodyBytes/memResponseBodyBytes are accepted for compatibility; nothing spills to disk.
 */
import { z } from 'zod';
import { isMeshgateError } from '../../lib/errors.ts';
import { isRetryableGatewayError } from '../http/errors.ts';
import { registerMiddleware } from './registry.ts';
import { RecordingWriter } from '../http/recording-writer.ts';
import { readBody } from '../http/request.ts';
import { writeError } from '../http/write-error.ts';
import { parsePredicate, type PredicateFunction } from './cbreakerExpression.ts';

export const bufferingSchema = z
  .object({
    maxRequestBodyBytes: z.number().int().min(0).default(0),
    memRequestBodyBytes: z.number().int().min(0).default(1_048_576),
    maxResponseBodyBytes: z.number().int().min(0).default(0),
    memResponseBodyBytes: z.number().int().min(0).default(1_048_576),
    retryExpression: z.string().optional(),
  })
  .strict();

interface Attempt {
  attempts: number;
  code: number;
  networkError: boolean;
}

const RETRY_FUNCTIONS: Record<string, PredicateFunction<Attempt>> = {
  Attempts: { arity: 0, build: () => (a) => a.attempts },
  ResponseCode: { arity: 0, build: () => (a) => a.code },
  IsNetworkError: { arity: 0, build: () => (a) => a.networkError },
};

registerMiddleware('buffering', {
  schema: bufferingSchema,
  create(config, context) {
    const maxRequest = config.maxRequestBodyBytes;
    const maxResponse = config.maxResponseBodyBytes;
    const shouldRetry = config.retryExpression ? parsePredicate(config.retryExpression, RETRY_FUNCTIONS, 'buffering.retryExpression') : undefined;

    return (next) => async (req, rw) => {
      const declared = Number(req.headers['content-length']);
      if (maxRequest > 0 && Number.isFinite(declared) && declared > maxRequest) {
        writeError(rw, 413, 'Request Entity Too Large');
        return;
      }
      const { body, overflow } = await readBody(req, maxRequest);
      if (overflow) {
        writeError(rw, 413, 'Request Entity Too Large');
        return;
      }
      req.bufferedBody = body;
      if (req.headers['transfer-encoding'] !== undefined) {
        delete req.headers['transfer-encoding'];
      }
      req.headers['content-length'] = String(body.length);

      for (let attempt = 1; ; attempt++) {
        const recorder = new RecordingWriter(maxResponse > 0 ? maxResponse : Infinity, rw);
        let failure: unknown;
        try {
          await next(req, recorder);
        } catch (err) {
          failure = err;
        }
        const networkError = failure !== undefined ? isRetryableGatewayError(failure) : recorder.statusCode === 502 || recorder.statusCode === 504;
        const code = failure !== undefined ? (isMeshgateError(failure) ? failure.statusCode : 500) : recorder.statusCode;
        if (shouldRetry && !rw.closed && shouldRetry({ attempts: attempt, code, networkError })) {
          context.logger.debug({ middleware: context.name, attempt, code }, 'buffering: retrying');
          continue;
        }
        // The failure is whatever the chain threw, rethrown unchanged for the entry point's error handler.
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        if (failure !== undefined) throw failure;
        if (recorder.overflow) {
          writeError(rw, 500, 'Internal Server Error');
          return;
        }
        const payload = recorder.body();
        recorder.headers['content-length'] = String(payload.length);
        delete recorder.headers['transfer-encoding'];
        recorder.replay(rw);
        return;
      }
    };
  },
});
