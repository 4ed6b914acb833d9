/**
 * Following a blocking query (Consul's "Blocking Queries" rules):
 * - the first request carries no index (or `initialIndex`); each next one carries the last X-Consul-Index;
 * - an index of 0 from the server is treated as 1, so a broken answer cannot make every request return at once;
 * - an index that goes backwards (snapshot restore, leader change) resets the next request to index 0;
 * - a result is delivered only when its index differs from the last delivered one, and an unchanged blocking
 *   answer that came back early is followed by a pause, so a misbehaving server cannot cause a busy loop;
 * - failures back off exponentially with jitter up to a cap and keep the last index; success resets the backoff;
 * - the caller's AbortSignal ends the watch (the in-flight request is aborted too) without an error.
 */
import type { QueryResult } from './types.ts';

/** What the watched function receives: spread it into the endpoint's options. */
export interface BlockingParams {
  index: number;
  waitMs?: number;
  signal: AbortSignal;
}

export type BlockingQuery<T> = (params: BlockingParams) => Promise<QueryResult<T>>;

export interface WatchOptions {
  signal?: AbortSignal;
  /** `?wait=` of each blocking request (server default 5m when omitted). */
  waitMs?: number;
  /** Start blocking at this index: the caller already holds the state it names, so it is not delivered again. */
  initialIndex?: number;
  /** Exponential backoff on failures: first delay and cap. Defaults 250ms and 30s. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Least time between the starts of two requests (Consul's advice to rate-limit busy watches). Default 0. */
  minIntervalMs?: number;
  /** Called for each failure before the backoff pause. */
  onError?: (err: unknown, info: { attempt: number; delayMs: number }) => void;
  /** Return false to stop the watch with this error (the iterator throws it). Default: retry everything. */
  retry?: (err: unknown) => boolean;
}

export const DEFAULT_BACKOFF_INITIAL_MS = 250;
export const DEFAULT_BACKOFF_MAX_MS = 30_000;
/** Longest pause after an unchanged answer that returned before its wait was over. */
const UNCHANGED_PAUSE_MAX_MS = 1_000;

/** The delay before retry number `attempt` (1-based): base·2^(attempt-1), capped, with "equal jitter" (½…1 of it). */
export function backoffDelay(attempt: number, backoff: WatchOptions['backoff'] = {}, random: () => number = Math.random): number {
  const initial = backoff.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
  const max = backoff.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt - 1, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Yields the query's result each time it changes, until the signal aborts or the consumer stops iterating. */
export async function* watch<T>(query: BlockingQuery<T>, options: WatchOptions = {}): AsyncGenerator<QueryResult<T>, void, undefined> {
  const internal = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, internal.signal]) : internal.signal;
  let index = Math.max(0, options.initialIndex ?? 0);
  let lastDelivered: number | undefined = index > 0 ? index : undefined;
  let failures = 0;
  let lastStart = -Infinity;
  try {
    while (!signal.aborted) {
      if (options.minIntervalMs) {
        const gap = lastStart + options.minIntervalMs - performance.now();
        if (gap > 0 && !(await sleep(gap, signal))) return;
      }
      const requestedIndex = index;
      lastStart = performance.now();
      let result: QueryResult<T>;
      try {
        result = await query({ index: requestedIndex, ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}), signal });
      } catch (err) {
        if (signal.aborted) return;
        if (options.retry && !options.retry(err)) throw err;
        failures++;
        const delayMs = backoffDelay(failures, options.backoff);
        options.onError?.(err, { attempt: failures, delayMs });
        if (!(await sleep(delayMs, signal))) return;
        continue;
      }
      failures = 0;
      const returned = result.meta.LastIndex > 0 ? result.meta.LastIndex : 1;
      index = returned < requestedIndex ? 0 : returned;
      if (returned !== lastDelivered) {
        lastDelivered = returned;
        yield result;
        continue;
      }
      // Unchanged. A blocking request that came back early means the server did not block: pause before asking again.
      if (requestedIndex > 0) {
        const pause = Math.min(options.waitMs ?? UNCHANGED_PAUSE_MAX_MS, UNCHANGED_PAUSE_MAX_MS) - (performance.now() - lastStart);
        if (pause > 0 && !(await sleep(pause, signal))) return;
      }
    }
  } finally {
    internal.abort();
  }
}

/**
 * Callback form of `watch`: calls `onChange` for each change (awaiting it before the next request) and resolves
 * when `options.signal` aborts or `stop()` is called. A throwing handler stops the watch and rejects `done`.
 */
export function watchEach<T>(
  query: BlockingQuery<T>,
  onChange: (result: QueryResult<T>) => void | Promise<void>,
  options: WatchOptions = {},
): { stop(): void; done: Promise<void> } {
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const done = (async () => {
    for await (const result of watch(query, { ...options, signal })) await onChange(result);
  })();
  return { stop: () => controller.abort(), done };
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
