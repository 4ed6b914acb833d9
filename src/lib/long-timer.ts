/**
 * A timeout that waits as long as it says, however long. Node's setTimeout takes at most 2^31-1 ms (about 24.8
 * days); a longer delay is silently replaced by 1 ms, so a check with `"Interval": "720h"` would fire every
 * millisecond. Go's timers (hence Consul's) take any time.Duration, so we chain timers of at most that size until
 * the whole delay has passed.
 */

/** Node's largest setTimeout delay (TIMEOUT_MAX in lib/internal/timers.js). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface LongTimer {
  /** Cancels the timer; the callback will not run. Idempotent. */
  clear(): void;
  /** Lets the process exit while only this timer is pending (as Timeout.unref does), for every chained step. */
  unref(): LongTimer;
}

/** The timer primitives used, injectable so a test can watch the chain without waiting for weeks. */
export interface TimerFunctions {
  setTimeout(fn: () => void, ms: number): { unref(): unknown };
  clearTimeout(handle: { unref(): unknown }): void;
  now(): number;
  /** Longest single step; defaults to MAX_TIMER_DELAY_MS. */
  maxStep?: number;
}

const nodeTimers: TimerFunctions = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
};

/**
 * Runs `fn` once after `delayMs` (any finite non-negative number; Infinity never fires). Each step waits at most
 * `maxStep` and measures the time left against the clock, so drift between steps does not add up.
 */
export function setLongTimeout(fn: () => void, delayMs: number, timers: TimerFunctions = nodeTimers): LongTimer {
  const maxStep = timers.maxStep ?? MAX_TIMER_DELAY_MS;
  if (Number.isNaN(delayMs)) delayMs = 0;
  const deadline = timers.now() + Math.max(0, delayMs);
  let handle: { unref(): unknown } | undefined;
  let unrefd = false;
  let done = false;

  const step = (): void => {
    if (done) return;
    const left = deadline - timers.now();
    if (left <= 0) {
      done = true;
      handle = undefined;
      fn();
      return;
    }
    handle = timers.setTimeout(step, Math.min(left, maxStep));
    if (unrefd) handle.unref();
  };

  const timer: LongTimer = {
    clear() {
      done = true;
      if (handle) timers.clearTimeout(handle);
      handle = undefined;
    },
    unref() {
      unrefd = true;
      handle?.unref();
      return timer;
    },
  };
  // The first step always goes through a timer, as setTimeout(fn, 0) does: the callback never runs synchronously.
  if (delayMs !== Infinity) handle = timers.setTimeout(step, Math.min(Math.max(0, delayMs), maxStep));
  return timer;
}
