import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tcpServersTransportSchema } from './tcp.ts';

// Traefik's TCPServersTransport.SetDefaults (pkg/config/dynamic/tcp_config.go): dialTimeout 30s, dialKeepAlive 15s,
// terminationDelay 100ms. The schema holds durations in milliseconds; zod 4's .default() hands its value out
// without running the duration transform, which once made these 30 ms, 15 ms and 0.1 ms (a loaded host's dials
// then timed out: the TCP benchmark row's connect errors).
test('a TCP serversTransport without keys has Traefik\'s defaults, in milliseconds', () => {
  assert.deepEqual(tcpServersTransportSchema.parse({}), { dialTimeout: 30_000, dialKeepAlive: 15_000, terminationDelay: 100 });
});

test('a TCP serversTransport\'s durations parse as Go durations or seconds', () => {
  const t = tcpServersTransportSchema.parse({ dialTimeout: '2s', dialKeepAlive: 5, terminationDelay: '250ms' });
  assert.equal(t.dialTimeout, 2_000);
  assert.equal(t.dialKeepAlive, 5_000);
  assert.equal(t.terminationDelay, 250);
});
