/**
 * The behaviour every RateLimitStore must show (hono's shared-suite pattern): run it against the in-memory store
 * now and against the Redis store when it exists. Uses real time with hour-long refill so no timing is asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RateLimitStore } from './rateLimitStore.ts';

export function rateLimitStoreContract(name: string, makeStore: () => RateLimitStore | Promise<RateLimitStore>): void {
  const hourly = { ratePerMs: 1 / 3_600_000, burst: 2, maxDelayMs: 0 };

  test(`${name}: a full bucket gives burst tokens, then asks to wait about one interval`, async () => {
    const store = await makeStore();
    const key = `k-${Math.random()}`;
    assert.equal(await store.reserve(key, hourly), 0);
    assert.equal(await store.reserve(key, hourly), 0);
    const wait = await store.reserve(key, hourly);
    assert.ok(wait > 3_500_000 && wait <= 3_600_000, `wait ${wait}`);
  });

  test(`${name}: a refused reservation takes nothing; keys are independent`, async () => {
    const store = await makeStore();
    const key = `k-${Math.random()}`;
    await store.reserve(key, hourly);
    await store.reserve(key, hourly);
    const first = await store.reserve(key, hourly);
    const second = await store.reserve(key, hourly);
    assert.ok(second <= first, 'the second refusal does not wait longer: nothing was taken');
    assert.equal(await store.reserve(`${key}-other`, hourly), 0);
  });

  test(`${name}: a delay within maxDelay is granted and counted`, async () => {
    const store = await makeStore();
    const key = `k-${Math.random()}`;
    const patient = { ratePerMs: 1 / 3_600_000, burst: 1, maxDelayMs: 4_000_000 };
    assert.equal(await store.reserve(key, patient), 0);
    const granted = await store.reserve(key, patient);
    assert.ok(granted > 0 && granted <= 3_600_000);
    const next = await store.reserve(key, patient);
    assert.ok(next > 3_600_000, 'the granted reservation consumed its token');
  });
}
