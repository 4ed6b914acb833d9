import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMER_DELAY_MS, setLongTimeout, type TimerFunctions } from './long-timer.ts';

/** A virtual clock: timers fire only when the test advances time, so a month passes in microseconds. */
function virtualTimers(): TimerFunctions & { advance(ms: number): void; delays: number[]; pending(): number } {
  let now = 0;
  let nextId = 0;
  const queue = new Map<number, { at: number; fn: () => void }>();
  const delays: number[] = [];
  return {
    delays,
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      delays.push(ms);
      queue.set(id, { at: now + ms, fn });
      return { id, unref: () => undefined } as { unref(): unknown };
    },
    clearTimeout(handle) {
      queue.delete((handle as unknown as { id: number }).id);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...queue].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        queue.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    pending: () => queue.size,
  };
}

const DAY = 86_400_000;

describe('setLongTimeout', () => {
  it('waits 30 days as chained steps no longer than Node allows, then fires once', () => {
    const timers = virtualTimers();
    let fired = 0;
    setLongTimeout(() => fired++, 30 * DAY, timers);
    timers.advance(29 * DAY);
    assert.equal(fired, 0, 'fired before the 30 days were up');
    timers.advance(DAY);
    assert.equal(fired, 1);
    timers.advance(60 * DAY);
    assert.equal(fired, 1, 'fired again');
    // Every step fits Node's timer range: 30 days = one full step of 2^31-1 ms and the rest.
    assert.deepEqual(timers.delays, [MAX_TIMER_DELAY_MS, 30 * DAY - MAX_TIMER_DELAY_MS]);
    assert.equal(timers.pending(), 0);
  });

  it('cancels between steps', () => {
    const timers = virtualTimers();
    let fired = 0;
    const t = setLongTimeout(() => fired++, 100 * DAY, timers);
    timers.advance(50 * DAY);
    t.clear();
    timers.advance(100 * DAY);
    assert.equal(fired, 0);
    assert.equal(timers.pending(), 0);
  });

  it('with a small step size and the real clock, a short delay never fires early', async () => {
    // Real clock: 60 ms in steps of at most 20 ms must not fire at the first step.
    const start = performance.now();
    const steps: number[] = [];
    const real: TimerFunctions = {
      setTimeout: (fn, ms) => { steps.push(ms); return setTimeout(fn, ms); },
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
      now: () => performance.now(),
      maxStep: 20,
    };
    const elapsed = await new Promise<number>((resolve) => setLongTimeout(() => resolve(performance.now() - start), 60, real));
    assert.ok(elapsed >= 59, `fired after ${elapsed} ms, before its 60 ms`);
    // No step is longer than allowed; how many there were depends on how late a loaded machine ran each one
    // (the virtual-clock tests above pin the chain exactly).
    assert.ok(steps.every((ms) => ms <= 20), `a step of ${Math.max(...steps)} ms`);
  });

  it('does not fire early with Node\'s real timers for a delay beyond 2^31-1 ms', async () => {
    // Node's own setTimeout replaces such a delay with 1 ms (TimeoutOverflowWarning); this one must not fire.
    let fired = false;
    const t = setLongTimeout(() => { fired = true; }, 30 * DAY);
    await new Promise((r) => setTimeout(r, 50));
    t.clear();
    assert.equal(fired, false);
  });
});
