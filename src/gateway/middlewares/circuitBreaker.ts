/**
 * circuitBreaker: oxy's cbreaker as Traefik uses it (pkg/middlewares/circuitbreaker). Closed ("standby"): every
 * answer feeds a rolling window; every checkPeriod (100ms) the expression is evaluated and, when true, the
 * breaker opens ("tripped") for fallbackDuration (10s): requests get responseCode (503) without reaching the
 * service. Then it recovers for recoveryDuration (10s), letting a growing share of requests through (oxy's
 * ratio controller, up to half), and closes again. The breaker lives in the build context's `state` under the
 * middleware's name and expression, so a configuration reload does not reset it.
 */
import { z } from 'zod';
import type { ResponseWriter } from '../http/types.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { registerMiddleware } from './registry.ts';
import { HeaderHookWriter } from '../http/header-hook-writer.ts';
import { durationSchema } from '../services/schema.ts';
import { statusText } from '../../lib/http/status.ts';
import { parseCondition, type Condition } from './cbreakerExpression.ts';
import { RollingMetrics } from './cbreakerMetrics.ts';

export const circuitBreakerSchema = z
  .object({
    expression: z.string().min(1),
    checkPeriod: durationSchema.prefault('100ms'),
    fallbackDuration: durationSchema.prefault('10s'),
    recoveryDuration: durationSchema.prefault('10s'),
    responseCode: z.number().int().min(100).max(599).default(503),
  })
  .strict();

export const BreakerState = { standby: 'standby', tripped: 'tripped', recovering: 'recovering' } as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

export interface BreakerTimings {
  checkPeriod: number;
  fallbackDuration: number;
  recoveryDuration: number;
}

/** The state machine, separate from HTTP so it can be driven with a test clock. */
export class CircuitBreaker {
  state: BreakerState = BreakerState.standby;
  readonly metrics: RollingMetrics;
  private readonly condition: Condition;
  private timings: BreakerTimings;
  private readonly now: () => number;
  private until = 0;
  private nextCheck = 0;
  private recoveryStart = 0;
  private allowed = 0;
  private denied = 0;

  constructor(condition: Condition, timings: BreakerTimings, now: () => number = () => performance.now()) {
    this.condition = condition;
    this.timings = timings;
    this.now = now;
    this.metrics = new RollingMetrics({ now });
  }

  updateTimings(timings: BreakerTimings): void {
    this.timings = timings;
  }

  /** True when this request must get the fallback answer. */
  fallback(): boolean {
    if (this.state === BreakerState.standby) return false;
    const now = this.now();
    if (this.state === BreakerState.tripped) {
      if (now < this.until) return true;
      this.state = BreakerState.recovering;
      this.until = now + this.timings.recoveryDuration;
      this.recoveryStart = now;
      this.allowed = 0;
      this.denied = 0;
    }
    // recovering
    if (now >= this.until) {
      this.state = BreakerState.standby;
      this.nextCheck = now + this.timings.checkPeriod;
      return false;
    }
    const target = (0.5 * (now - this.recoveryStart)) / this.timings.recoveryDuration;
    const ratio = (this.allowed + 1) / (this.allowed + 1 + this.denied);
    if (ratio < target) {
      this.allowed++;
      return false;
    }
    this.denied++;
    return true;
  }

  /** Records an answer and, at most once per checkPeriod while closed, evaluates the expression. */
  record(status: number, latencyMs: number): void {
    this.metrics.record(status, latencyMs);
    if (this.state !== BreakerState.standby) return;
    const now = this.now();
    if (now < this.nextCheck) return;
    this.nextCheck = now + this.timings.checkPeriod;
    if (this.condition(this.metrics)) {
      this.state = BreakerState.tripped;
      this.until = now + this.timings.fallbackDuration;
      this.metrics.reset();
    }
  }
}

function statusOf(_status: number, _headers: unknown, box: { status: number }): void {
  box.status = _status;
}

registerMiddleware('circuitBreaker', {
  schema: circuitBreakerSchema,
  create(config, context) {
    const timings = { checkPeriod: config.checkPeriod, fallbackDuration: config.fallbackDuration, recoveryDuration: config.recoveryDuration };
    const key = `circuitBreaker:${context.name}:${config.expression}`;
    let breaker = context.state.get(key) as CircuitBreaker | undefined;
    if (breaker) breaker.updateTimings(timings);
    else {
      breaker = new CircuitBreaker(parseCondition(config.expression), timings);
      context.state.set(key, breaker);
    }
    const cb = breaker;
    const code = config.responseCode;
    const text = statusText(code);
    const fallback = (rw: ResponseWriter): void => {
      rw.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      rw.end(text);
    };

    return (next) => async (req, rw) => {
      if (cb.fallback()) {
        fallback(rw);
        return;
      }
      const start = performance.now();
      const box = { status: 0 };
      try {
        await next(req, new HeaderHookWriter(rw, statusOf, box));
      } catch (err) {
        // The proxy rejects with a coded error (502, 504) before writing: that is the answer the client gets.
        cb.record(isMeshgateError(err) ? err.statusCode : 500, performance.now() - start);
        throw err;
      }
      cb.record(box.status || rw.statusCode || 200, performance.now() - start);
    };
  },
});
