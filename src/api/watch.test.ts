import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ConsulClient } from './client.ts';
import { backoffDelay, watch, watchEach } from './watch.ts';
import { parseDuration } from '../lib/duration.ts';
import { startStub, type StubAnswer } from './testing/stub-server.ts';

/** A stub that blocks like Consul: holds `?index=N` while N >= the current index, up to `?wait`. */
async function blockingStub(initialIndex: number) {
  const state = { index: initialIndex, override: undefined as undefined | ((want: number) => StubAnswer | undefined) };
  let wake = () => {};
  const stub = await startStub(async (req) => {
    const want = Number(req.query.get('index') ?? '0');
    const special = state.override?.(want);
    if (special) return special;
    if (want > 0 && want >= state.index) {
      const waitMs = parseDuration(req.query.get('wait') ?? '5m');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        const prev = wake;
        wake = () => { clearTimeout(timer); prev(); resolve(); };
      });
    }
    return { headers: { 'X-Consul-Index': String(state.index) }, body: { web: [`v${state.index}`] } };
  });
  return {
    stub,
    state,
    bump(to: number) {
      state.index = to;
      const w = wake;
      wake = () => {};
      w();
    },
  };
}

const indexesSent = (stub: { requests: Array<{ query: URLSearchParams }> }) => stub.requests.map((r) => r.query.get('index'));

/** Resolves once `pred()` holds, polling; a generous deadline rather than a timed assertion. */
async function until(pred: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('watch follows X-Consul-Index and delivers only changes', async (t) => {
  const { stub, bump } = await blockingStub(5);
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  const seen: Array<{ index: number; value: unknown }> = [];
  const handle = client.watchEach((q) => client.catalog.services(q), ({ value, meta }) => { seen.push({ index: meta.LastIndex, value }); }, { waitMs: 100 });
  t.after(() => handle.stop());
  // Let blocking rounds on index 5 time out unchanged (no delivery), then change the state.
  await stub.waitFor(() => stub.requests.filter((r) => r.query.get('index') === '5').length >= 3);
  assert.equal(seen.length, 1);
  bump(6);
  await until(() => seen.length === 2, 'the change to be delivered');
  handle.stop();
  await handle.done;
  assert.deepEqual(seen, [{ index: 5, value: { web: ['v5'] } }, { index: 6, value: { web: ['v6'] } }]);
  const sent = indexesSent(stub);
  assert.equal(sent[0], null);
  const afterFirst = sent.slice(1, sent.lastIndexOf('5') + 1);
  assert.ok(afterFirst.every((i) => i === '5'), `expected blocking on 5, sent ${sent.join(',')}`);
  assert.ok(stub.requests.slice(1).every((r) => r.query.get('wait') === '100ms'));
});

test('watch resets to index 0 when the index goes backwards, and treats index 0 as 1', async (t) => {
  const { stub, state } = await blockingStub(10);
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  let phase = 0;
  state.override = (want) => {
    if (want === 10 && phase === 0) {
      phase = 1;
      state.index = 3; // snapshot restore: the server's index went backwards
    }
    return undefined;
  };
  const seen: number[] = [];
  const handle = watchEach((q) => client.catalog.services(q), ({ meta }) => { seen.push(meta.LastIndex); }, { waitMs: 50 });
  await stub.waitFor((r) => r.query.get('index') === '3');
  handle.stop();
  await handle.done;
  assert.deepEqual(seen, [10, 3]);
  assert.deepEqual(indexesSent(stub).slice(0, 4), [null, '10', null, '3']);

  const zero = await startStub((req) => (req.query.get('index') ? { hang: true } : { headers: { 'X-Consul-Index': '0' }, body: {} }));
  t.after(() => zero.close());
  const zc = new ConsulClient({ address: zero.url, env: {} });
  const h0 = watchEach((q) => zc.catalog.services(q), () => {}, { waitMs: 50 });
  const blocking = await zero.waitFor((r) => r.query.get('index') !== null);
  h0.stop();
  await h0.done;
  assert.equal(blocking.query.get('index'), '1');
});

test('an unchanged answer that returns early does not cause a busy loop', async (t) => {
  // A broken server: ignores ?index and answers at once with the same index.
  const stub = await startStub(() => ({ headers: { 'X-Consul-Index': '5' }, body: {} }));
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  const controller = new AbortController();
  const done = watchEach((q) => client.catalog.services(q), () => {}, { waitMs: 200, signal: controller.signal }).done;
  await new Promise((r) => setTimeout(r, 700));
  controller.abort();
  await done;
  // Each unchanged round is paused to at least the 200ms wait: about 4 requests in 700ms, never hundreds.
  assert.ok(stub.requests.length >= 2 && stub.requests.length <= 6, `requests: ${stub.requests.length}`);
});

test('failures back off exponentially with jitter, keep the index, and recover', async (t) => {
  let n = 0;
  const stub = await startStub(() => (++n <= 3 ? { status: 500, body: 'rpc error: No cluster leader' } : { headers: { 'X-Consul-Index': '7' }, body: {} }));
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  const errors: Array<{ attempt: number; delayMs: number; status: number }> = [];
  const it = watch((q) => client.catalog.services(q), {
    backoff: { initialMs: 20, maxMs: 60 },
    onError: (err, info) => errors.push({ ...info, status: (err as { statusCode: number }).statusCode }),
  });
  const first = await it.next();
  await it.return();
  assert.equal(first.done, false);
  assert.equal(first.value!.meta.LastIndex, 7);
  assert.deepEqual(errors.map((e) => [e.attempt, e.status]), [[1, 500], [2, 500], [3, 500]]);
  const ceilings = [20, 40, 60];
  errors.forEach((e, i) => assert.ok(e.delayMs >= ceilings[i]! / 2 && e.delayMs <= ceilings[i]!, `delay ${e.delayMs}`));

  // retry() can stop the watch with the error.
  const fatal = await startStub(() => ({ status: 403, body: 'Permission denied' }));
  t.after(() => fatal.close());
  const fc = new ConsulClient({ address: fatal.url, env: {} });
  await assert.rejects(
    watch((q) => fc.catalog.services(q), { retry: (e) => (e as { statusCode: number }).statusCode !== 403 }).next(),
    (e) => (e as { statusCode: number }).statusCode === 403,
  );
});

test('backoffDelay doubles up to the cap with equal jitter', () => {
  assert.equal(backoffDelay(1, { initialMs: 100, maxMs: 1000 }, () => 0), 50);
  assert.equal(backoffDelay(1, { initialMs: 100, maxMs: 1000 }, () => 1), 100);
  assert.equal(backoffDelay(3, { initialMs: 100, maxMs: 1000 }, () => 1), 400);
  assert.equal(backoffDelay(10, { initialMs: 100, maxMs: 1000 }, () => 1), 1000);
  assert.equal(backoffDelay(200, { initialMs: 100, maxMs: 1000 }, () => 0.5), 750);
});

test('aborting ends the watch quietly and closes the in-flight blocking request', async (t) => {
  let closed: Promise<unknown> | undefined;
  const stub = await startStub((req, raw) => {
    if (req.query.get('index')) {
      closed = once(raw.res, 'close');
      return { hang: true };
    }
    return { headers: { 'X-Consul-Index': '2' }, body: {} };
  });
  t.after(() => stub.close());
  const client = new ConsulClient({ address: stub.url, env: {} });
  const controller = new AbortController();
  const results: number[] = [];
  const handle = watchEach((q) => client.catalog.services(q), (r) => { results.push(r.meta.LastIndex); }, { signal: controller.signal });
  await stub.waitFor((r) => r.query.get('index') === '2');
  controller.abort();
  await handle.done;
  await closed;
  assert.deepEqual(results, [2]);

  // stop() does the same without an external signal.
  const h2 = watchEach((q) => client.catalog.services(q), () => {});
  await stub.waitFor(() => stub.requests.filter((r) => r.query.get('index') === '2').length >= 2);
  h2.stop();
  await h2.done;
});
