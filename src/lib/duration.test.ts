import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, formatDuration, decodeDuration } from './duration.ts';

test('parses Go duration strings as Consul sends them', () => {
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('300ms'), 300);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('-2s'), -2000);
  assert.ok(Math.abs(parseDuration('1.9067416191101074s') - 1906.7416191101074) < 1e-9);
});

test('refuses what Go refuses, naming the field', () => {
  for (const bad of ['', '10', 's', '1x', '1s2', '--1s']) {
    assert.throws(() => parseDuration(bad, 'TTL'), (err: Error) => err.message.startsWith('TTL: invalid duration'));
  }
});

test('decodes nanosecond numbers as Go JSON does', () => {
  assert.equal(decodeDuration(15_000_000_000, 'Interval'), 15_000);
  assert.throws(() => decodeDuration(true, 'Interval'), /Interval/);
});

test('formats like Go Duration.String()', () => {
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(15_000), '15s');
  assert.equal(formatDuration(3_600_000), '1h0m0s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(0), '0s');
});
