/**
 * The proxy follows its own connect-proxy registration (Consul's built-in proxy watches its service on the local
 * agent — `GET /v1/agent/service/:id?hash=` blocks until the ContentHash changes, agentLocalBlockingQuery in
 * agent/agent_endpoint.go): an upstream added to the registration gets a listener, a removed one's listener closes, a
 * changed one (new LocalBindPort) moves, all without a restart — and a connection open through an upstream that did
 * not change keeps working through every one of those edits.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AgentServiceRegistration } from '../../src/api/types.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { freePort } from '../helpers/server.ts';
import { portOutsideEphemeralRange } from '../helpers/quiet-port.ts';
import { allow, registerSidecar, runProxy, startMesh, startTcpApp, tcpExchange, type Mesh } from './helpers.ts';

let mesh: Mesh;
let proxyPort: number;
let webAppPort: number;
const ports = { db: 0, cache: 0, dbMoved: 0 };

/** Re-registers web's sidecar with these upstreams, everything else as before. */
async function setUpstreams(upstreams: Array<{ name: string; port: number }>): Promise<void> {
  const reg: AgentServiceRegistration = {
    Kind: 'connect-proxy', ID: 'web-sidecar-proxy', Name: 'web-sidecar-proxy', Address: '127.0.0.1', Port: proxyPort,
    Proxy: {
      DestinationServiceName: 'web', DestinationServiceID: 'web', LocalServiceAddress: '127.0.0.1', LocalServicePort: webAppPort,
      Upstreams: upstreams.map((u) => ({ DestinationName: u.name, LocalBindAddress: '127.0.0.1', LocalBindPort: u.port })),
    },
  };
  await mesh.client.agent.serviceRegister(reg);
}

/** A connection kept open: send a line, wait for the app's answer. */
function openConnection(port: number): Promise<{ socket: Socket; say(text: string): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve({
      socket,
      say: (text) => new Promise<string>((res, rej) => {
        socket.once('data', (d) => res(d.toString()));
        socket.once('close', () => rej(new Error('connection closed')));
        socket.write(text);
      }),
    }));
    socket.once('error', reject);
  });
}

/**
 * Waits (up to 60 s: the bound the suite gives a process start) until `port` answers `text` with `expected`. A
 * timeout names how many attempts ran and what the last ones got and how long each took, so an intermittent
 * failure says whether the listener refused, closed, or answered too slowly.
 */
async function waitForAnswer(port: number, text: string, expected: string, what: string): Promise<void> {
  const seen: string[] = [];
  await waitFor(async () => {
    const started = performance.now();
    const r = await tcpExchange(port, text, 1000);
    seen.push(`${JSON.stringify(r.data)} (${r.closed ? 'closed' : 'open'}) after ${Math.round(performance.now() - started)} ms`);
    return r.data === expected;
  }, () => `${what} (${seen.length} attempts, the last: ${seen.slice(-3).join('; ')})`, { deadlineMs: 60_000 });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

before(async () => {
  mesh = await startMesh();
  const db = await registerSidecar(mesh, { service: 'db', appPort: await startTcpApp(mesh, 'db') });
  const cache = await registerSidecar(mesh, { service: 'cache', appPort: await startTcpApp(mesh, 'cache') });
  // The upstream ports are bound only by later edits, seconds after they are chosen: from outside the ephemeral
  // range, so another process's listen(0) cannot take one meanwhile (a probe would then talk to that stranger).
  ports.db = await portOutsideEphemeralRange();
  ports.cache = await portOutsideEphemeralRange();
  ports.dbMoved = await portOutsideEphemeralRange();
  webAppPort = await freePort();
  ({ proxyPort } = await registerSidecar(mesh, { service: 'web', appPort: webAppPort, upstreams: [{ name: 'db', port: ports.db }] }));
  await allow(mesh, 'web', 'db');
  await allow(mesh, 'web', 'cache');
  await Promise.all([runProxy(mesh, 'web-sidecar-proxy'), runProxy(mesh, db.proxyId), runProxy(mesh, cache.proxyId)]);
});

after(async () => {
  await mesh?.close();
});

test('upstreams added, removed and moved in the registration apply without a restart; an unchanged one keeps its connections', async () => {
  const kept = await openConnection(ports.db);
  assert.equal(await kept.say('one'), 'db:one');
  assert.equal(await refused(ports.cache), true);

  await setUpstreams([{ name: 'db', port: ports.db }, { name: 'cache', port: ports.cache }]);
  // The change travels registration watch → new listener → cache's endpoints (a blocking health query) → mTLS to
  // cache's sidecar; one clean-clone CI run at load ~20 needed more than waitFor's default 15 s, so the bound is the
  // one the suite gives a process start.
  await waitForAnswer(ports.cache, 'hi', 'cache:hi', 'the added upstream to answer');
  assert.equal(await kept.say('two'), 'db:two');

  await setUpstreams([{ name: 'db', port: ports.db }]);
  await waitFor(() => refused(ports.cache), 'the removed upstream listener to close');
  assert.equal(await kept.say('three'), 'db:three');

  // A changed upstream (its listener moves) is restarted: the old port closes, the new one answers.
  await setUpstreams([{ name: 'db', port: ports.dbMoved }, { name: 'cache', port: ports.cache }]);
  await waitForAnswer(ports.dbMoved, 'moved', 'db:moved', 'the moved upstream to answer on its new port');
  await waitFor(() => refused(ports.db), 'the old port of the moved upstream to close');
  // cache comes back in the same edit; its listener opens after db's (one apply opens them in turn), so it is
  // waited for, not asked once.
  await waitForAnswer(ports.cache, 'back', 'cache:back', 'the re-added upstream to answer');
  kept.socket.destroy();
});
