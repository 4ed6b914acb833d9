/**
 * Traefik's passive health check (pkg/healthcheck PassiveServiceHealthChecker.WrapHandler): every answer of a
 * server counts. One below 500 from a server that was reached clears its failures; an answer of 500 or more, or a
 * request that never got an answer (refused, reset, timed out), adds a failure. When `maxFailedAttempts` failures
 * fall within the last `failureWindow`, the server is taken out of the load balancer; it comes back after
 * `failureWindow` — unless the service also has an active `healthCheck`, which then alone decides when it is back.
 */
import type { Handler, GatewayRequest, ResponseWriter } from '../http/types.ts';
import type { PassiveHealthCheckConfig } from './schema.ts';

export interface PassiveHealthOptions {
  config: PassiveHealthCheckConfig;
  hasActiveHealthCheck: boolean;
  /** Takes a server out of (false) or back into (true) the balancer. */
  setUp(url: string, up: boolean): void;
}

export class PassiveHealthChecker {
  private readonly options: PassiveHealthOptions;
  private readonly failures = new Map<string, number[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(options: PassiveHealthOptions) {
    this.options = options;
  }

  /** The server's handler, counting its answers. */
  wrap(url: string, next: Handler): Handler {
    return async (req: GatewayRequest, rw: ResponseWriter) => {
      let failed = false;
      try {
        await next(req, rw);
      } catch (err) {
        failed = true;
        throw err;
      } finally {
        const status = rw.statusCode;
        if (!failed && status > 0 && status < 500) this.failures.delete(url);
        else this.fail(url);
      }
    };
  }

  private fail(url: string): void {
    const now = performance.now();
    const windowStart = now - this.options.config.failureWindow;
    const list = (this.failures.get(url) ?? []).filter((t) => t > windowStart);
    list.push(now);
    this.failures.set(url, list);
    if (list.length < this.options.config.maxFailedAttempts || this.timers.has(url) || this.stopped) return;
    this.options.setUp(url, false);
    if (this.options.hasActiveHealthCheck) return;
    const timer = setTimeout(() => {
      this.timers.delete(url);
      this.failures.delete(url);
      if (!this.stopped) this.options.setUp(url, true);
    }, this.options.config.failureWindow);
    timer.unref();
    this.timers.set(url, timer);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
