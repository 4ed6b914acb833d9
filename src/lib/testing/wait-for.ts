/**
 * The one polling wait for tests: `await waitFor(() => condition, 'what we wait for')`. It never asserts how long
 * something took; it only fails, naming `what`, when the condition still does not hold after a generous deadline.
 */

export interface WaitForOptions {
  /** ms before giving up; default 15 s, far beyond any honest wait on a loaded CI machine. */
  deadlineMs?: number;
  /** ms between polls; default 10. */
  intervalMs?: number;
}

/**
 * Polls `predicate` (sync or async) until it returns a truthy value, and resolves with that value. `what` may be a
 * function, called only when the wait fails: it can then name what the predicate last saw (the diagnostics a flake
 * needs), which a string fixed before the first poll cannot.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string | (() => string),
  options: WaitForOptions = {},
): Promise<T> {
  const end = Date.now() + (options.deadlineMs ?? 15_000);
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 10));
  }
}
