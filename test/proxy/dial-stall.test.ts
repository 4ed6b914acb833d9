/**
 * The outbound sidecar's dial to a peer (src/proxy/dialer.ts: TCP connect + mTLS handshake + SPIFFE check, bounded by
 * the upstream's connect_timeout_ms) must not fail a dial whose peer answered in time because the sidecar's own event
 * loop was held up (a long synchronous turn, a GC pause, a starved process). The inbound side's TCP connect timeout
 * had that shape fixed in 38b2b2e (connect-timeout.ts armConnectTimeout, test/proxy/inbound-stall.test.ts); a TLS dial
 * had the plain timer still: after a turn longer than the timeout it fired before the loop polled the connect and
 * the peer's answer, and the dial failed with reason 'timeout' — which the upstream then counts and retries elsewhere.
 *
 * Real sockets on 127.0.0.1: a TLS server presenting api's leaf from a CA made by our Connect CA code and requiring
 * web's, and a TCP listener that accepts and never answers (a peer that is really too slow).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createRoot, generateSigningKey, signLeaf } from '../../src/server/connect-ca/crypto.ts';
import { ConnectFailure, dialPeer } from '../../src/proxy/dialer.ts';
import type { TlsMaterial } from '../../src/proxy/identity.ts';

const HOUR = 3_600_000;
const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul';
const uri = (service: string): string => `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/${service}`;

let peer: TlsServer;
let silent: NetServer;
const silentSockets: Socket[] = [];
let tls: TlsMaterial;

/** Holds the event loop (synchronously) for `ms`: what a starved or pausing process looks like from inside. */
function holdLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* held */ }
}

before(async () => {
  const key = await generateSigningKey('ec', 256);
  const root = await createRoot(key, { trustDomain: TRUST_DOMAIN, ttlMs: HOUR });
  const issuer = { certPem: root.pem, key };
  const api = await signLeaf(issuer, { commonName: 'api', spiffeUri: uri('api'), ttlMs: HOUR });
  const web = await signLeaf(issuer, { commonName: 'web', spiffeUri: uri('web'), ttlMs: HOUR });
  peer = createTlsServer({ key: api.privateKeyPem, cert: api.pem, ca: [root.pem], requestCert: true, rejectUnauthorized: true }, (s) => s.end());
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
  silent = createNetServer((s) => void silentSockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const options = { key: web.privateKeyPem, cert: web.pem, ca: [root.pem] };
  tls = { context: createSecureContext(options), options, trustDomain: TRUST_DOMAIN, leafSerial: web.serialNumber, leafUri: uri('web'), generation: 1 };
});

after(() => {
  peer?.close();
  for (const s of silentSockets) s.destroy();
  silent?.close();
});

const dial = (port: number, timeoutMs: number): ReturnType<typeof dialPeer> =>
  dialPeer({ endpoint: { host: '127.0.0.1', port, key: `127.0.0.1:${port}` } as Parameters<typeof dialPeer>[0]['endpoint'], expectedService: 'api', tls, timeoutMs });

test('control: the peer answers a dial (the first one in the process also warms TLS up, so its timeout is generous)', async () => {
  const socket = await dial((peer.address() as AddressInfo).port, 30_000);
  assert.equal(socket.authorized, true);
  socket.destroy();
});

test('a loop held 400 ms right after the dial began (before the connect left) does not fail a 100 ms dial', async () => {
  const pending = dial((peer.address() as AddressInfo).port, 100);
  holdLoop(400);
  const socket = await pending;
  assert.equal(socket.authorized, true);
  socket.destroy();
});

test('a loop held 400 ms once the connect has left (the peer answers meanwhile) does not fail a 100 ms dial', async () => {
  const pending = dial((peer.address() as AddressInfo).port, 100);
  // setImmediate: after the connect syscall (queued with process.nextTick) and the dialer arming its deadline.
  setImmediate(() => holdLoop(400));
  const socket = await pending;
  assert.equal(socket.authorized, true);
  socket.destroy();
});

test('a peer that accepts and never answers still times out, the loop held or not', async () => {
  for (const hold of [0, 400]) {
    const pending = dial((silent.address() as AddressInfo).port, 100);
    if (hold > 0) setImmediate(() => holdLoop(hold));
    const err = await pending.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConnectFailure, `hold ${hold}: ${String(err)}`);
    assert.equal(err.reason, 'timeout');
  }
});
