/**
 * Where rateLimit keeps its token buckets. The in-memory store answers synchronously (the hot path never awaits);
 * a shared store (Redis, for several gateway replicas) answers with a promise. Both implement the same
 * reservation: take one token if it becomes available within `maxDelayMs`, and say how long to wait.
 */
export interface RateLimitReservation {
  /** Tokens per millisecond. */
  readonly ratePerMs: number;
  /** Bucket capacity. */
  readonly burst: number;
  /** Longest wait the caller accepts; beyond it nothing is taken. */
  readonly maxDelayMs: number;
}

export interface RateLimitStore {
  /**
   * Returns the delay in ms after which the reserved token is available (0: now) when it is at most
   * maxDelayMs; otherwise takes nothing and returns the (larger) delay the caller would have to wait.
   */
  reserve(key: string, limits: RateLimitReservation): number | Promise<number>;
}

interface Bucket {
  tokens: number;
  last: number;
  /** Time when this bucket is full again; a bucket idle past it is indistinguishable from a new one. */
  fullAt: number;
}

export class MemoryRateLimitStore implements RateLimitStore {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private nextSweep = 0;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  get size(): number {
    return this.buckets.size;
  }

  reserve(key: string, limits: RateLimitReservation): number {
    const now = this.now();
    if (now >= this.nextSweep) this.sweep(now);
    const { ratePerMs, burst, maxDelayMs } = limits;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, last: now, fullAt: now };
      this.buckets.set(key, bucket);
    }
    // Refill (x/time/rate semantics: tokens may go negative while reservations are pending).
    const tokens = Math.min(burst, bucket.tokens + (now - bucket.last) * ratePerMs);
    const after = tokens - 1;
    const delay = after >= 0 ? 0 : -after / ratePerMs;
    bucket.last = now;
    if (delay > maxDelayMs) {
      bucket.tokens = tokens;
      return delay;
    }
    bucket.tokens = after;
    bucket.fullAt = now + (burst - after) / ratePerMs;
    return delay;
  }

  private sweep(now: number): void {
    this.nextSweep = now + 10_000;
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
  }
}
