/**
 * Cooperative slicing for long, synchronous-looking work on an event loop that also serves traffic (building a
 * routing table of 400,000 routers, merging or hashing a large configuration). The work calls `tick()` between
 * small steps; once the slice's time budget is spent, `tick()` yields to the event loop with `setImmediate`, so
 * I/O callbacks (requests on the configuration still serving) run between slices. A tick is one clock read, so it
 * can sit inside a tight loop; `sortSliced` gives `Array.prototype.sort` the same property.
 *
 * Several slicers run at once during a reload (the build, the last good copy, the reader's hand-over): they share the
 * event loop's turns instead of each taking its own budget in the same one. Slicers that yield wait in one queue
 * and one of them resumes per turn; a slicer that starts right after another's slice (same stretch of work, no I/O
 * between) starts with that slice's budget already spent, so it gives way at its first tick.
 */
/**
 * Default slice: well under the ~50 ms a reload may delay a request, leaving room for the requests themselves and
 * for the steps no slice can split (collecting the names of a 50,000-property object, a scavenge). 4 ms rather than
 * 8: the serving turn between two slices takes about a millisecond under load, so the build still gets ~80 % of
 * the thread, and the longest silence shrinks by the difference.
 */
export const DEFAULT_SLICE_MS = 4;

/** A slice younger than this counts as fresh (`Slicer.fresh`). */
const FRESH_MS = 1;

/** Slicers waiting for a turn of their own, oldest first. */
const waiting: Array<() => void> = [];
let resumeScheduled = false;

/** Resumes one waiting slicer in this turn (its slice runs in the microtasks after this callback) and books the next turn. */
function resumeOne(): void {
  const next = waiting.shift();
  // Scheduled from the check phase, this runs in the next turn, after that turn's I/O.
  if (waiting.length > 0) setImmediate(resumeOne);
  else resumeScheduled = false;
  next?.();
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!resumeScheduled) {
      resumeScheduled = true;
      setImmediate(resumeOne);
    }
  });
}

/** The current stretch of background work: when its first slice began and when any slicer last looked at the clock. */
const stretch = { start: -Infinity, last: -Infinity };
/** Two slices less than this apart, with no yield between, are one stretch (nothing else could have run). */
const CONTIGUOUS_MS = 0.5;

/** Where a new slicer's first slice starts counting: the running stretch's start when it joins one. */
function joinStretch(): number {
  const now = performance.now();
  if (now - stretch.last > CONTIGUOUS_MS) stretch.start = now;
  stretch.last = now;
  return stretch.start;
}

export class Slicer {
  readonly #budgetMs: number;
  #sliceStart = joinStretch();
  /** Set by `yield()`: the current slice began on a turn of its own (a new slicer's first slice may not have). */
  #resumed = false;
  /** How many times work gave way to the event loop (for tests and logs). */
  yields = 0;

  constructor(budgetMs = DEFAULT_SLICE_MS) {
    this.#budgetMs = budgetMs;
  }

  /** True when the current slice has used its budget; the caller should `await this.yield()`. */
  due(): boolean {
    const now = performance.now();
    stretch.last = now;
    return now - this.#sliceStart >= this.#budgetMs;
  }

  async yield(): Promise<void> {
    this.yields++;
    // A slicer created right after this (a timer or callback in the same stretch) joins this spent slice.
    stretch.last = performance.now();
    await nextTurn();
    // Resumed from the queue: a turn of its own, after that turn's I/O — always a fresh stretch.
    this.#sliceStart = stretch.start = stretch.last = performance.now();
    this.#resumed = true;
  }

  /**
   * Starts a new slice unless this one began on its own turn less than `FRESH_MS` ago. Called before a step that
   * grows with the configuration and cannot be split — collecting the keys of an object of 50,000 properties (what
   * every `for…in` and `Object.keys` does first) takes 10–15 ms — so such a step never lands in a slice that is
   * already spent, and two of them, or one and the synchronous tail of whoever called us, never share one turn.
   */
  async fresh(): Promise<void> {
    if (!this.#resumed || performance.now() - this.#sliceStart >= FRESH_MS) await this.yield();
  }

  /** Yields when the slice's budget is spent; otherwise resolves without leaving the current turn's microtasks. */
  tick(): Promise<void> | undefined {
    return this.due() ? this.yield() : undefined;
  }
}

/** A slicer that never yields: the same code path run synchronously (tests, small configurations at start-up). */
export const NEVER_YIELD = Object.freeze({
  due: () => false,
  yield: () => Promise.resolve(),
  fresh: () => Promise.resolve(),
  tick: () => undefined,
}) as unknown as Slicer;

/** Below this many entries a hash table grows in well under a millisecond. */
const GROWTH_FROM = 8192;

/**
 * True when adding an entry to a hash table of `size` entries may make V8 grow it — a Map or a Set doubles at a
 * power of two, an object in dictionary mode at about a third of one (measured on Node 24: 21,845, 43,691, 87,381) —
 * give or take one entry. Growing copies every entry in one step (~14 ms of CPU at 43,691 names), so loops that fill
 * a large table start a turn of their own there (`await slicer.fresh()`): the step never lands in a spent slice.
 */
export function nearTableGrowth(size: number): boolean {
  if (size < GROWTH_FROM) return false;
  const power = 2 ** Math.round(Math.log2(size));
  if (Math.abs(size - power) <= 1) return true;
  return Math.abs(size - 2 ** Math.round(Math.log2(size * 3)) / 3) <= 1.5;
}

/** `items` without repeats, in first-seen order (`[...new Set(items)]`), in slices: 50,000 names are one step otherwise. */
export async function uniqueSliced<T>(items: readonly T[], slicer: Slicer): Promise<T[]> {
  const seen = new Set<T>();
  const out: T[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (!seen.has(item)) {
      if (nearTableGrowth(seen.size)) await slicer.fresh();
      seen.add(item);
      out.push(item);
    }
    if ((i & 255) === 255) {
      const pending = slicer.tick();
      if (pending) await pending;
    }
  }
  return out;
}

/** Runs `each` over `items`, yielding between items when the slice is spent. */
export async function forEachSliced<T>(items: Iterable<T>, slicer: Slicer, each: (item: T) => void): Promise<void> {
  for (const item of items) {
    each(item);
    const pending = slicer.tick();
    if (pending) await pending;
  }
}

/** Runs sorted in runs of this many items per synchronous step. */
const RUN = 2048;

/**
 * A stable merge sort that yields between runs and merge passes. `Array.prototype.sort` of 400,000 routers with a
 * string tie-break takes hundreds of milliseconds in one step; this does the same comparisons in slices. Sorts in
 * place and returns `items`.
 */
export async function sortSliced<T>(items: T[], compare: (a: T, b: T) => number, slicer: Slicer): Promise<T[]> {
  if (items.length <= RUN) return items.sort(compare);
  for (let start = 0; start < items.length; start += RUN) {
    const run = items.slice(start, start + RUN).sort(compare);
    for (let i = 0; i < run.length; i++) items[start + i] = run[i]!;
    const pending = slicer.tick();
    if (pending) await pending;
  }
  let from = items;
  let to = new Array<T>(items.length);
  for (let width = RUN; width < items.length; width *= 2) {
    for (let left = 0; left < items.length; left += 2 * width) {
      const mid = Math.min(left + width, items.length);
      const end = Math.min(left + 2 * width, items.length);
      let i = left;
      let j = mid;
      let k = left;
      while (i < mid && j < end) {
        // `<= 0` keeps equal items in their original order (stable, like Array.prototype.sort).
        to[k++] = compare(from[i]!, from[j]!) <= 0 ? from[i++]! : from[j++]!;
        if ((k & 1023) === 0) {
          const pending = slicer.tick();
          if (pending) await pending;
        }
      }
      while (i < mid) to[k++] = from[i++]!;
      while (j < end) to[k++] = from[j++]!;
    }
    [from, to] = [to, from];
  }
  if (from !== items) for (let i = 0; i < items.length; i++) items[i] = from[i]!;
  return items;
}

/**
 * The names of large objects built in slices, in the order `for…in` lists them, so a later step can walk them without
 * enumerating the object: collecting the names of a 50,000-property object is one step of 10–15 ms that no slice can
 * split. Kept weakly (they go with the object). Only objects that are complete and no longer changed are recorded.
 */
const knownNames = new WeakMap<object, readonly string[]>();

/** Matches the names `for…in` lists first, in numeric order (array indices), whatever the insertion order. */
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;

/** Collects an object's names as they are first added; `record` files them once the object is complete. */
export class NameRecorder {
  readonly names: string[] = [];
  /** False once a name is an array index (`for…in` would list it out of insertion order): nothing is recorded. */
  #inOrder = true;

  /** Call once per new name (not for a name that was already there). */
  add(name: string): void {
    this.names.push(name);
    // `__proto__` assigned to a plain object sets its prototype instead of adding a name: not recorded either.
    if (this.#inOrder && (ARRAY_INDEX.test(name) || name === '__proto__')) this.#inOrder = false;
  }

  /** Files the names for `target`, which must hold exactly them and stay unchanged from now on. */
  record(target: object): void {
    if (this.#inOrder) knownNames.set(target, this.names);
  }
}

/** The recorded names of `target` (see `NameRecorder`), or undefined. */
export function recordedNames(target: object): readonly string[] | undefined {
  return knownNames.get(target);
}

/** The names of `target`, from the record when there is one, else enumerated at the start of a turn of its own. */
export async function namesSliced(target: object, slicer: Slicer): Promise<readonly string[]> {
  const known = knownNames.get(target);
  if (known !== undefined) return known;
  await slicer.fresh();
  return Object.keys(target);
}
