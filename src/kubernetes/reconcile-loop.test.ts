import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../lib/logger.ts';
import { waitFor } from '../lib/testing/wait-for.ts';
import { ReconcileLoop, type ReconcileCache } from './reconcile-loop.ts';

function cache(): ReconcileCache & { started: number; stopped: number } {
  return {
    started: 0, stopped: 0,
    async start() { this.started++; },
    async stop() { this.stopped++; },
  };
}

test('a loop starts and stops its caches, and a new leader forgets the past term before reconciling', async (t) => {
  const events: string[] = [];
  const caches = [cache(), cache()];
  const loop = new ReconcileLoop({
    logger: silentLogger(), what: 'test', caches, quietPeriodMs: 1,
    reconcile: async () => { events.push(loop.leading ? 'reconcile as leader' : 'reconcile as follower'); },
    onStartedLeading: () => events.push('forget'),
  });
  t.after(() => loop.stop());
  await loop.start();
  assert.deepEqual(caches.map((c) => c.started), [1, 1]);
  assert.equal(loop.leading, false);
  loop.setLeading(true);
  await waitFor(() => events.length === 2, 'the first reconcile of a new leader');
  assert.deepEqual(events, ['forget', 'reconcile as leader']);
  loop.setLeading(false);
  assert.equal(loop.leading, false);
  await loop.stop();
  assert.deepEqual(caches.map((c) => c.stopped), [1, 1]);
});

test('the periodic resync reconciles without a change, and stops with the loop', async () => {
  let reconciles = 0;
  const loop = new ReconcileLoop({ logger: silentLogger(), what: 'test', quietPeriodMs: 1, resyncIntervalMs: 5, reconcile: async () => { reconciles++; } });
  await loop.start();
  await waitFor(() => reconciles >= 2, 'two resyncs');
  await loop.stop();
  const after = reconciles;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(reconciles, after, 'no reconcile after stop()');
});

test('a failed reconcile is retried', async () => {
  let calls = 0;
  const loop = new ReconcileLoop({
    logger: silentLogger(), what: 'test', quietPeriodMs: 1, retryDelayMs: 1,
    reconcile: async () => { calls++; if (calls === 1) throw new Error('catalog down'); },
  });
  loop.trigger();
  await waitFor(() => calls >= 2, 'the retry after a failure');
  await loop.stop();
});
