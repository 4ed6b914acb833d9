/**
 * A closed-loop load generator: `concurrency` workers each keep one request in flight on their own keep-alive
 * connection for a fixed time and count only acknowledged operations (the op returns true). A short warm-up is run
 * and discarded first. Latency percentiles are per acknowledged operation.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface LoadResult {
  concurrency: number;
  acked: number;
  /** Acknowledged during the discarded warm-up (for per-commit ratios that cannot separate the two). */
  warmupAcked: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
}

export type Op = (pool: Pool, i: number) => Promise<boolean>;

export async function closedLoop(origin: string, concurrency: number, seconds: number, op: Op, warmupSeconds = 0.5): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1 });
  let next = 0;
  const phase = async (ms: number, record: boolean) => {
    const latencies: number[] = [];
    let acked = 0;
    let failed = 0;
    const started = performance.now();
    const stopAt = started + ms;
    const worker = async (): Promise<void> => {
      while (performance.now() < stopAt) {
        const t0 = performance.now();
        let ok: boolean;
        try {
          ok = await op(pool, next++);
        } catch {
          ok = false;
        }
        if (ok) {
          acked++;
          if (record) latencies.push(performance.now() - t0);
        } else failed++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { acked, failed, elapsed: (performance.now() - started) / 1000, latencies };
  };
  try {
    const warmup = await phase(warmupSeconds * 1000, false);
    const { acked, failed, elapsed, latencies } = await phase(seconds * 1000, true);
    latencies.sort((a, b) => a - b);
    return {
      concurrency,
      acked,
      warmupAcked: warmup.acked,
      failed,
      seconds: elapsed,
      perSecond: acked / elapsed,
      p50ms: percentile(latencies, 0.5),
      p99ms: percentile(latencies, 0.99),
    };
  } finally {
    await pool.close();
  }
}

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Reads the body (so the connection is reused) and returns status and text. */
export async function send(pool: Pool, method: 'GET' | 'PUT' | 'POST', path: string, body?: string): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  const res = await pool.request({ method, path, ...(body !== undefined ? { body } : {}) });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}
