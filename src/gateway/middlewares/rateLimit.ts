/**
 * rateLimit: a token bucket per source (Traefik pkg/middlewares/ratelimiter). `average` requests per `period`
 * (default 1s) on average, `burst` (default 1) at once. A request whose token comes within maxDelay (half the
 * interval between two tokens, at most 500ms) is delayed by that much; later ones get 429 with Retry-After.
 * Buckets live in a RateLimitStore kept in the build context's `state`, so they survive configuration reloads;
 * with `redis` (Traefik v3's shape) they live in Redis, shared by every gateway replica. A Redis call never takes
 * longer than `redis.readTimeout` (Traefik's default, 3s); when Redis cannot answer, Traefik's 500 by default, or
 * with `redis.whenUnavailable: localBucket` (Meshgate's own) per-process buckets until it is back (rateLimitFallback.ts).
 */
import { z } from 'zod';
import { registerMiddleware } from './registry.ts';
import { compileSourceCriterion, sourceCriterionSchema } from './source-criterion.ts';
import { durationSchema } from '../services/schema.ts';
import { writeError } from '../http/write-error.ts';
import { MemoryRateLimitStore, type RateLimitStore } from './rateLimitStore.ts';
import { RedisRateLimitStore } from './rateLimitRedisStore.ts';
import { FallbackRateLimitStore } from './rateLimitFallback.ts';
import type { Logger } from '../../lib/logger.ts';
import type { MiddlewareHooks } from './registry.ts';

const redisSchema = z
  .object({
    endpoints: z.array(z.string()).min(1).default(['127.0.0.1:6379']),
    username: z.string().optional(),
    password: z.string().optional(),
    db: z.number().int().min(0).default(0),
    dialTimeout: durationSchema.optional(),
    readTimeout: durationSchema.optional(),
    writeTimeout: durationSchema.optional(),
    // Pool sizing is Go-client specific; accepted so Traefik files load, ioredis multiplexes one connection.
    poolSize: z.number().int().optional(),
    minIdleConns: z.number().int().optional(),
    maxActiveConns: z.number().int().optional(),
    /** Meshgate's own: `failClosed` (Traefik's 500) or `localBucket` (per-process buckets while Redis is unreachable). */
    whenUnavailable: z.enum(['failClosed', 'localBucket']).default('failClosed'),
  })
  .strict();

/** go-redis's ReadTimeout default, which Traefik keeps: the longest a request waits on Redis. */
const DEFAULT_REDIS_TIMEOUT_MS = 3000;

export const rateLimitSchema = z
  .object({
    average: z.number().int().min(0).default(0),
    period: durationSchema.prefault('1s'),
    burst: z.number().int().min(1).default(1),
    sourceCriterion: sourceCriterionSchema.optional(),
    redis: redisSchema.optional(),
  })
  .strict();

/** The state key of the bucket store shared by every rateLimit of a gateway (a shared store may replace it). */
export const RATE_LIMIT_STORE_STATE_KEY = 'rateLimit:store';

function storeFrom(state: Map<string, unknown>, redis: z.output<typeof redisSchema> | undefined, logger: Logger, hooks: MiddlewareHooks | undefined): RateLimitStore {
  // One store per distinct Redis configuration, kept across reloads like the in-memory one.
  const key = redis ? `${RATE_LIMIT_STORE_STATE_KEY}:redis:${JSON.stringify(redis)}` : RATE_LIMIT_STORE_STATE_KEY;
  let store = state.get(key) as RateLimitStore | undefined;
  if (!store) {
    if (redis) {
      const shared = new RedisRateLimitStore({
        endpoints: redis.endpoints,
        ...(redis.username !== undefined ? { username: redis.username } : {}),
        ...(redis.password !== undefined ? { password: redis.password } : {}),
        db: redis.db,
        connection: {
          ...(redis.dialTimeout !== undefined ? { connectTimeout: redis.dialTimeout } : {}),
          // Without a command timeout a Redis that accepts and never answers would hold requests forever.
          commandTimeout: redis.readTimeout ?? DEFAULT_REDIS_TIMEOUT_MS,
        },
        logger,
      });
      if (redis.whenUnavailable === 'localBucket') {
        const fallback = new FallbackRateLimitStore(shared, logger);
        // Keys start with the middleware's name (see `prefix` below).
        fallback.onFallback = (bucket) => hooks?.rateLimitFallback?.(bucket.slice(0, bucket.indexOf('|')));
        store = fallback;
      } else {
        store = shared;
      }
    } else {
      store = new MemoryRateLimitStore();
    }
    state.set(key, store);
  }
  return store;
}

registerMiddleware('rateLimit', {
  schema: rateLimitSchema,
  create(config, context) {
    const source = compileSourceCriterion(config.sourceCriterion, 'ip');
    if (config.average === 0) return (next) => next; // Traefik: average 0 means no limit
    const periodMs = config.period > 0 ? config.period : 1000;
    const ratePerMs = config.average / periodMs;
    const ratePerSecond = ratePerMs * 1000;
    const maxDelayMs = ratePerSecond > 1 ? 1000 / (2 * ratePerSecond) : 500;
    const limits = { ratePerMs, burst: config.burst, maxDelayMs };
    const store = storeFrom(context.state, config.redis, context.logger, context.hooks);
    // Buckets of different middlewares (and of a changed configuration) must not mix.
    const prefix = `${context.name}|${config.average}/${periodMs}/${config.burst}|`;

    return (next) => (req, rw) => {
      const result = store.reserve(prefix + source(req), limits);
      if (typeof result === 'number') {
        if (result === 0) return next(req, rw);
        if (result > maxDelayMs) return reject(rw, result);
        return new Promise<void>((resolve) => setTimeout(resolve, result)).then(() => next(req, rw));
      }
      return result.then(
        (delay) => {
          if (delay === 0) return next(req, rw);
          if (delay > maxDelayMs) return reject(rw, delay);
          return new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => next(req, rw));
        },
        (err: unknown) => {
          // A shared store that cannot answer fails closed with Traefik's answer (500 "Could not insert/update bucket"); no internals leak.
          context.logger.error({ err, middleware: context.name }, 'rate-limit store unavailable');
          writeError(rw, 500, 'Could not insert/update bucket');
          return Promise.resolve();
        },
      );
    };
  },
});

function reject(rw: Parameters<typeof writeError>[0], delayMs: number): Promise<void> {
  writeError(rw, 429, 'Too Many Requests', {
    'retry-after': String(Math.floor(delayMs / 1000) + 1),
    'x-retry-in': `${Math.round(delayMs)}ms`,
  });
  return Promise.resolve();
}
