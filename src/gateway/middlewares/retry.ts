/**
 * retry: sends the request again, up to `attempts` times in all, with exponential backoff starting at
 * initialInterval (the interval grows to twice the initial over the attempts, as Traefik computes it)
 * (Traefik pkg/middlewares/retry).
 *
 * When a retry happens:
 * - network errors: the proxy rejects with a retryable GatewayError (502/504) before writing anything. Traefik
 *   retries those only when the request never reached the server; a proxy that knows it says so through
 *   `shouldRetry(req)`: true before dialing, false once the request was written upstream. With that signal any
 *   method is retried while nothing was sent; without it, only idempotent methods (or all with
 *   retryNonIdempotentMethod) are. An answer the proxy writes while the signal is up is dropped and retried too.
 *   disableRetryOnNetworkError turns this off.
 * - `status` ranges: the answer is retried when its status is in a range, but only for idempotent methods
 *   (not POST, PATCH, LOCK) unless retryNonIdempotentMethod; the body is buffered (maxRequestBodyBytes,
 *   default 2 MiB, larger bodies get 413) so it can be replayed.
 * Nothing is ever retried once a byte went to the client. `timeout` bounds the whole sequence.
 */
import { z } from 'zod';
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';
import { HeldStatusWriter } from '../http/held-status-writer.ts';
import { isRetryableGatewayError } from '../http/errors.ts';
import { registerMiddleware } from './registry.ts';
import { durationSchema } from '../services/schema.ts';
import { inRanges, parseStatusRanges, type StatusRanges } from '../http/status-ranges.ts';
import { readBody } from '../http/request.ts';
import { writeError } from '../http/write-error.ts';

export const retrySchema = z
  .object({
    attempts: z.number().int().min(1, 'incorrect (or empty) value for attempt'),
    initialInterval: durationSchema.optional(),
    status: z.array(z.string()).optional(),
    disableRetryOnNetworkError: z.boolean().optional(),
    retryNonIdempotentMethod: z.boolean().optional(),
    maxRequestBodyBytes: z.number().int().optional(),
    timeout: durationSchema.optional(),
  })
  .strict()
  .refine((c) => !(c.disableRetryOnNetworkError && (c.status ?? []).length === 0), {
    message: 'retry middleware requires at least HTTP status codes or retry on TCP',
    path: ['disableRetryOnNetworkError'],
  });

const DEFAULT_MAX_REQUEST_BODY_BYTES = 2 * 1024 * 1024;
const SIGNAL_KEY = 'retry.shouldRetry';

/** What the proxy calls around dialing; undefined when no retry middleware is in the chain. */
export type ShouldRetry = (shouldRetry: boolean) => void;

export function shouldRetry(req: GatewayRequest): ShouldRetry | undefined {
  return req.data[SIGNAL_KEY] as ShouldRetry | undefined;
}

/** Keeps the attempt's answer back while it may still be retried; passes it through once it is final. */
class RetryWriter extends HeldStatusWriter {
  private readonly ranges: StatusRanges | undefined;
  private readonly remaining: boolean;
  private readonly deadline: number;
  /** Whether the proxy used the signal in this attempt, and its last value. */
  signalled = false;
  signalUp = false;

  constructor(inner: ResponseWriter, ranges: StatusRanges | undefined, remaining: boolean, deadline: number) {
    super(inner, true);
    this.ranges = ranges;
    this.remaining = remaining;
    this.deadline = deadline;
  }
  /** This attempt's answer is being dropped so the request can go again. */
  get retry(): boolean {
    return this.state === 'dropped';
  }
  set retry(value: boolean) {
    if (this.state !== 'passed') this.state = value ? 'dropped' : 'held';
  }
  /** Its answer went to the client: nothing can be retried any more. */
  get written(): boolean {
    return this.state === 'passed';
  }
  /** An attempt being dropped has sent nothing: the next one may still write. */
  override get headersSent(): boolean {
    return this.written ? this.inner.headersSent : false;
  }
  protected drops(statusCode: number): boolean {
    return this.ranges !== undefined && inRanges(this.ranges, statusCode) && this.remaining && performance.now() < this.deadline;
  }
  setShouldRetry(value: boolean): void {
    this.signalled = true;
    this.signalUp = value;
    this.retry = value && this.remaining && performance.now() < this.deadline;
  }
}

registerMiddleware('retry', {
  schema: retrySchema,
  create(config, context) {
    const attempts = config.attempts;
    const ranges = config.status && config.status.length > 0 ? parseStatusRanges(config.status) : undefined;
    const onNetwork = config.disableRetryOnNetworkError !== true;
    const nonIdempotent = config.retryNonIdempotentMethod === true;
    const maxBody = config.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    const timeout = config.timeout ?? 0;
    const initial = config.initialInterval ?? 0;
    // cenkalti/backoff as Traefik configures it: multiplier so the interval doubles over the attempts,
    // randomization ±50%.
    const multiplier = attempts > 1 ? 2 ** (1 / (attempts - 1)) : 1;
    const backoff = (retryIndex: number): number => {
      if (initial <= 0) return 0;
      const base = initial * multiplier ** retryIndex;
      return base * (0.5 + Math.random());
    };
    const retried = context.hooks?.retried;

    return (next) => {
      if (attempts === 1) return next;
      return async (req, rw) => {
        const idempotent = req.method !== 'POST' && req.method !== 'PATCH' && req.method !== 'LOCK';
        const statusRanges = ranges && (idempotent || nonIdempotent) ? ranges : undefined;
        if (statusRanges && !req.bufferedBody) {
          const { body, overflow } = await readBody(req, maxBody);
          if (overflow) {
            writeError(rw, 413, 'Request body too large');
            return;
          }
          req.bufferedBody = body;
        }
        const start = performance.now();
        const deadline = timeout > 0 ? start + timeout : Infinity;
        for (let attempt = 1; ; attempt++) {
          const remaining = attempt < attempts;
          const writer = new RetryWriter(rw, statusRanges, remaining, deadline);
          if (onNetwork) req.data[SIGNAL_KEY] = (value: boolean) => writer.setShouldRetry(value);
          try {
            await next(req, writer);
          } catch (err) {
            const unsent = writer.signalled ? writer.signalUp : idempotent || nonIdempotent;
            const retryable = isRetryableGatewayError(err) && unsent;
            if (writer.written || !onNetwork || !retryable || !remaining || performance.now() >= deadline) throw err;
            context.logger.debug({ err, middleware: context.name, attempt }, 'retry: attempt failed before reaching the service');
            writer.retry = true;
          } finally {
            delete req.data[SIGNAL_KEY];
          }
          if (!writer.retry || rw.closed) return;
          const wait = backoff(attempt - 1);
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, Math.max(0, deadline - performance.now()))));
          retried?.(req, attempt + 1);
        }
      };
    };
  },
});
