/**
 * A RateLimitStore in Redis, so gateway replicas share their token buckets (Traefik v3's `rateLimit.redis`). The
 * reservation runs as one Lua script — refill, take, expire — so concurrent gateways never race on a bucket, and it
 * reads Redis's own clock (TIME), so replicas with skewed clocks still agree. Same semantics as the in-memory store
 * (see rateLimitStore.ts and its contract suite). ioredis (about 15 MiB resident) is required when the first store
 * is made, so a gateway whose rate limits stay in memory never loads it.
 */
import { createRequire } from 'node:module';
import type * as IORedis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from '../../lib/logger.ts';
import type { RateLimitReservation, RateLimitStore } from './rateLimitStore.ts';

// KEYS[1] bucket; ARGV: ratePerMs, burst, maxDelayMs. Returns the delay as a string (Lua numbers would be truncated
// to integers on the way out).
const RESERVE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local maxDelay = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil then
  tokens = burst
  last = now
end
tokens = math.min(burst, tokens + (now - last) * rate)
local after = tokens - 1
local delay = 0
if after < 0 then delay = -after / rate end
if delay > maxDelay then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
else
  tokens = after
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
end
local fullIn = math.ceil((burst - tokens) / rate) + 1000
redis.call('PEXPIRE', KEYS[1], fullIn)
return tostring(delay)
`;

export interface RedisRateLimitOptions {
  /** `host:port` entries; the first is used (a single Redis or a primary). */
  endpoints: string[];
  username?: string;
  password?: string;
  db?: number;
  /** Key prefix, so several gateways' other data can share the Redis. */
  prefix?: string;
  /** Extra ioredis options (TLS, timeouts). */
  connection?: RedisOptions;
  /** Connection errors are logged here (reservations that fail also reject, so the middleware sees them). */
  logger?: Logger;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly redis: Redis;
  private readonly prefix: string;

  constructor(options: RedisRateLimitOptions) {
    const [host, port] = splitEndpoint(options.endpoints[0] ?? '127.0.0.1:6379');
    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof IORedis;
    this.redis = new RedisClient({
      host,
      port,
      ...(options.username ? { username: options.username } : {}),
      ...(options.password ? { password: options.password } : {}),
      db: options.db ?? 0,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      ...options.connection,
    });
    this.redis.on('error', (err: Error) => options.logger?.warn({ err: err.message }, 'rate-limit redis connection error'));
    this.redis.defineCommand('meshgateReserve', { numberOfKeys: 1, lua: RESERVE_SCRIPT });
    this.prefix = options.prefix ?? 'meshgate:ratelimit:';
  }

  async reserve(key: string, limits: RateLimitReservation): Promise<number> {
    const reply = await (this.redis as Redis & { meshgateReserve(key: string, ...args: string[]): Promise<string> }).meshgateReserve(
      this.prefix + key,
      String(limits.ratePerMs),
      String(limits.burst),
      String(limits.maxDelayMs),
    );
    return Number(reply);
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

function splitEndpoint(endpoint: string): [string, number] {
  const at = endpoint.lastIndexOf(':');
  if (at <= 0) return [endpoint, 6379];
  return [endpoint.slice(0, at).replace(/^\[|\]$/g, ''), Number(endpoint.slice(at + 1))];
}
