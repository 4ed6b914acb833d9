import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NEVER_YIELD, Slicer, forEachSliced, nearTableGrowth, sortSliced, uniqueSliced } from './slices.ts';

test('sortSliced sorts like Array.prototype.sort, stably, at every size around its run length', async () => {
  for (const n of [0, 1, 5, 2047, 2048, 2049, 4096, 10_001, 70_000]) {
    const items = Array.from({ length: n }, (_, i) => ({ key: (i * 7919) % 101, at: i }));
    const expected = [...items].sort((a, b) => a.key - b.key);
    const got = await sortSliced(items, (a, b) => a.key - b.key, new Slicer(1));
    assert.deepEqual(got, expected, `n=${n}`);
    assert.equal(got, items, 'sorts in place');
  }
});

test('a Slicer gives the event loop turns during long work, and a timer set before the work runs during it', async () => {
  const slicer = new Slicer(2);
  let timerFiredAt = -1;
  let done = 0;
  setImmediate(() => (timerFiredAt = done));
  const items = Array.from({ length: 200_000 }, (_, i) => i);
  await forEachSliced(items, slicer, () => {
    // ~busy work so the whole run spans many slices
    for (let i = 0; i < 50; i++) Math.sqrt(i);
    done++;
  });
  assert.ok(slicer.yields > 0, 'the work yielded');
  assert.ok(timerFiredAt >= 0 && timerFiredAt < items.length, `the event loop ran in the middle of the work (at item ${timerFiredAt})`);
});

test('NEVER_YIELD runs the same code without giving way', async () => {
  let turn = false;
  setImmediate(() => (turn = true));
  await forEachSliced(Array.from({ length: 50_000 }, (_, i) => i), NEVER_YIELD, () => {});
  assert.equal(turn, false);
});

test('fresh() gives way on a new slicer, and again once the current slice has done some work', async () => {
  const slicer = new Slicer(1000);
  let ran = false;
  setImmediate(() => (ran = true));
  // A new slicer may be called in the middle of someone else's turn: its first fresh() always gives way.
  await slicer.fresh();
  assert.equal(slicer.yields, 1);
  assert.equal(ran, true, 'the callback queued before ran in between');
  // Once work has used a millisecond of it, the next unsplittable step gets a new one.
  const until = performance.now() + 2;
  while (performance.now() < until) { /* work */ }
  await slicer.fresh();
  assert.equal(slicer.yields, 2);
  await NEVER_YIELD.fresh();
});

test('two slicers working at once take turns: no turn of the event loop runs slices of both', async () => {
  // A build and the last good copy's writer once each took their own budget in the same turn (16+ ms of silence
  // with 8 ms slices); slicers now resume one per turn.
  let turn = 0;
  let counting = true;
  const mark = () => {
    turn++;
    if (counting) setImmediate(mark);
  };
  setImmediate(mark);
  const turnsOf = new Map<number, Set<string>>();
  const work = async (id: string) => {
    const slicer = new Slicer(1);
    await slicer.fresh();
    await forEachSliced(Array.from({ length: 30_000 }, (_, i) => i), slicer, () => {
      for (let i = 0; i < 30; i++) Math.sqrt(i);
      const ids = turnsOf.get(turn) ?? new Set();
      ids.add(id);
      turnsOf.set(turn, ids);
    });
    return slicer.yields;
  };
  const [a, b] = await Promise.all([work('a'), work('b')]);
  counting = false;
  assert.ok(a > 3 && b > 3, `both yielded several times (${a}, ${b})`);
  const shared = [...turnsOf].filter(([, ids]) => ids.size > 1).map(([t]) => t);
  assert.deepEqual(shared, [], `turns that ran both: ${shared.join(', ')}`);
});

test('a slicer started right after another one spent its slice gives way at its first tick', async () => {
  // The join is defined by time (two slices under 0.5 ms apart are one stretch), so a run where the process was
  // preempted between the first slicer's tick and the second's start is not the case under test and is run again;
  // a run that was not preempted must show the join.
  for (let attempt = 1; ; attempt++) {
    const first = new Slicer(2);
    const until = performance.now() + 3;
    while (performance.now() < until) { /* work */ }
    const pending = first.tick();
    assert.ok(pending, 'the first slicer is due');
    const tickedAt = performance.now();
    // Same stretch of work, nothing ran between: the new slicer's budget is that slice's.
    const second = new Slicer(2);
    const joined = second.due();
    const preempted = performance.now() - tickedAt > 0.4;
    await pending;
    // Resumed on a turn of its own, a slicer has its whole budget again.
    assert.equal(first.due(), false);
    if (preempted && attempt < 20) continue;
    assert.equal(joined, true, `the second slicer joined the spent slice (attempt ${attempt})`);
    break;
  }
});

test('uniqueSliced drops repeats in first-seen order, like a Set, and gives way on a long list', async () => {
  assert.deepEqual(await uniqueSliced(['b', 'a', 'b', 'c', 'a'], NEVER_YIELD), ['b', 'a', 'c']);
  const items = Array.from({ length: 300_000 }, (_, i) => `r${i % 150_000}`);
  const slicer = new Slicer(1);
  const unique = await uniqueSliced(items, slicer);
  assert.deepEqual(unique, [...new Set(items)]);
  assert.ok(slicer.yields > 0, 'it yielded');
});

test('nearTableGrowth names the sizes where V8 grows a Map, a Set or a dictionary-mode object, give or take one', () => {
  // Measured on Node 24 (the insert that takes a whole-table copy): Maps and Sets at powers of two, objects at a third of one.
  for (const size of [8192, 16384, 32768, 65536, 131072, 10923, 21845, 43691, 87381, 43690, 43692]) assert.equal(nearTableGrowth(size), true, String(size));
  for (const size of [0, 1000, 4096, 20000, 43694, 50000, 100000]) assert.equal(nearTableGrowth(size), false, String(size));
});

test('uniqueSliced starts a turn of its own where its set grows, even when the slice has budget left', async () => {
  const items = Array.from({ length: 40000 }, (_, i) => `n${i}`);
  // A budget no slice spends: any yield is a growth turn (the set grows at 8,192, 16,384 and 32,768 names).
  const slicer = new Slicer(1e9);
  assert.deepEqual(await uniqueSliced(items, slicer), items);
  assert.ok(slicer.yields >= 3, `yielded ${slicer.yields} times`);
});
