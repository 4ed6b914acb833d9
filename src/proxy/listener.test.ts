/**
 * An upstream listener that is already serving reports a server error (an accept that failed, such as EMFILE when the
 * sidecar runs out of descriptors) and goes on serving. Before, the one-shot listener set for listen() took the first
 * such error silently, and the second had no listener left: Node threw it and the whole sidecar went down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Server, type Socket } from 'node:net';
import { UpstreamListener } from './listener.ts';
import type { Upstream } from './upstream.ts';

test('errors after listening are reported, every one, and the listener keeps serving', async (t) => {
  // The listener needs only the upstream's bind address and its connection handler.
  const upstream = { spec: { localBindAddress: '127.0.0.1', localBindPort: 0 }, handleConnection: (socket: Socket) => socket.end('served') } as unknown as Upstream;
  const reported: string[] = [];
  const listener = new UpstreamListener(upstream, (err) => reported.push(err.message));
  const address = await listener.listen();
  t.after(() => listener.close());
  const server = (listener as unknown as { server: Server }).server;
  server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
  server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
  assert.deepEqual(reported, ['accept EMFILE', 'accept EMFILE']);
  const answer = await new Promise<string>((resolve, reject) => {
    let text = '';
    connect(address.port, '127.0.0.1').on('data', (d) => (text += d)).on('end', () => resolve(text)).on('error', reject);
  });
  assert.equal(answer, 'served');
});
