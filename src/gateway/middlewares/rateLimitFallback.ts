/**
 * `rateLimit.redis.whenUnavailable: localBucket` (Meshgate's own option; Traefik fails closed with a 500): while
 * Redis cannot answer, each gateway process limits from its own in-memory buckets instead, so an outage of the
 * shared store degrades the limit to per-process rather than refusing every request. The switch is logged once each
 * way and every request served locally is reported (`onFallback`, counted in metrics). Once Redis is known to be
 * down, requests do not try it at all — the client reconnects in the background and its `ready` switches back — so
 * a request waits at most one Redis timeout, the one that discovered the outage.
 */
import type { Logger } from '../../lib/logger.ts';
import { MemoryRateLimitStore, type RateLimitReservation, type RateLimitStore } from './rateLimitStore.ts';
import type { RedisRateLimitStore } from './rateLimitRedisStore.ts';

export class FallbackRateLimitStore implements RateLimitStore {
  readonly shared: RedisRateLimitStore;
  readonly local = new MemoryRateLimitStore();
  readonly #logger: Logger;
  #down = false;
  /** Called for each request served from the local buckets (the middleware's name goes with it). */
  onFallback: ((key: string) => void) | undefined;

  constructor(shared: RedisRateLimitStore, logger: Logger) {
    this.shared = shared;
    this.#logger = logger;
    shared.redis.on('ready', () => {
      if (!this.#down) return;
      this.#down = false;
      this.#logger.info('rate-limit redis reachable again: shared buckets in use');
    });
  }

  get usingLocal(): boolean {
    return this.#down;
  }

  reserve(key: string, limits: RateLimitReservation): number | Promise<number> {
    if (this.#down) return this.#local(key, limits);
    return this.shared.reserve(key, limits).catch((err: unknown) => {
      if (!this.#down) {
        this.#down = true;
        this.#logger.warn({ err: (err as Error).message }, 'rate-limit redis unreachable: limiting from per-process buckets until it is back');
      }
      return this.#local(key, limits);
    });
  }

  #local(key: string, limits: RateLimitReservation): number {
    this.onFallback?.(key);
    return this.local.reserve(key, limits);
  }

  close(): Promise<void> {
    return this.shared.close();
  }
}
