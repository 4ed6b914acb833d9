/**
 * Certificate and root rotation without dropping traffic. A change of the CA's key type (PUT
 * /v1/connect/ca/configuration) rotates the root: the server lists both roots, cross-signs the new one with the old
 * and reissues every leaf at once (Consul's ConsulProvider / CAManager.UpdateConfiguration; the leaf endpoint's
 * blocking query wakes with the new leaf). During a bounded HTTP load through two sidecars no request may fail; a TCP
 * connection opened before the rotation keeps working after it; new connections are served with the new leaf.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningProxy } from '../../src/proxy/proxy.ts';
import { freePort } from '../helpers/server.ts';
import { allow, closeKeepAlive, httpGet, registerSidecar, runProxy, startHttpApp, startMesh, startTcpApp, type Mesh } from './helpers.ts';
import { connect as netConnect, type Socket } from 'node:net';

let mesh: Mesh;
let web: RunningProxy;
let api: RunningProxy;
let db: RunningProxy;
let apiPort: number;
let dbPort: number;

before(async () => {
  mesh = await startMesh();
  await mesh.client.configEntries.set({ Kind: 'service-defaults', Name: 'api', Protocol: 'http' });
  apiPort = await freePort();
  dbPort = await freePort();
  const w = await registerSidecar(mesh, { service: 'web', appPort: await freePort(), upstreams: [{ name: 'api', port: apiPort }, { name: 'db', port: dbPort }] });
  const a = await registerSidecar(mesh, { service: 'api', appPort: await startHttpApp(mesh, 'api') });
  const d = await registerSidecar(mesh, { service: 'db', appPort: await startTcpApp(mesh, 'db') });
  await allow(mesh, 'web', 'api');
  await allow(mesh, 'web', 'db');
  [web, api, db] = await Promise.all([runProxy(mesh, w.proxyId), runProxy(mesh, a.proxyId), runProxy(mesh, d.proxyId)]);
});

after(async () => {
  closeKeepAlive();
  await mesh?.close();
});

/** Sends a line on an open socket and resolves with the next chunk that comes back. */
function exchange(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (d) => resolve(d.toString()));
    socket.once('error', reject);
    socket.write(text);
  });
}

/** The serial of the certificate a public listener presents now, in the CA's colon-hex form. */
function presentedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    s.once('secureConnect', () => {
      const serial = s.getPeerCertificate().serialNumber.toLowerCase().match(/../g)!.join(':');
      s.destroy();
      resolve(serial);
    });
    s.once('error', reject);
  });
}

const norm = (serial: string): string => serial.toLowerCase().replace(/^(00:)+/, '');

test('a root rotation under load loses no request, keeps open connections and serves new ones with the new leaf', async () => {
  const longLived = netConnect({ host: '127.0.0.1', port: dbPort });
  mesh.cleanups.push(() => void longLived.destroy());
  assert.equal(await exchange(longLived, 'before'), 'db:before');
  const proxies = [web, api, db];
  const oldSerials = proxies.map((p) => p.identity.current().leafSerial);
  const oldRoot = (await mesh.client.connect.caRoots()).value.ActiveRootID;

  let ok = 0;
  const failures: string[] = [];
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await httpGet(apiPort, '/load');
        if (r.status === 200 && r.body === 'api GET /load') ok++;
        else failures.push(`${r.status} ${r.body}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const workers = Array.from({ length: 8 }, () => worker());
  await waitFor(() => ok >= 200, '200 requests before the rotation', { deadlineMs: 60_000 });

  const res = await fetch(`${mesh.server.url}/v1/connect/ca/configuration`, {
    method: 'PUT', body: JSON.stringify({ Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 } }),
  });
  assert.equal(res.status, 200, await res.text());
  const roots = (await mesh.client.connect.caRoots()).value;
  assert.notEqual(roots.ActiveRootID, oldRoot);
  assert.equal(roots.Roots!.length, 2, 'both roots are listed during the rotation');

  await waitFor(() => proxies.every((p, i) => p.identity.current().leafSerial !== oldSerials[i]), 'every sidecar to take its reissued leaf', { deadlineMs: 60_000 });
  const atRotation = ok;
  await waitFor(() => ok >= atRotation + 300, '300 requests after the rotation', { deadlineMs: 60_000 });
  stop = true;
  await Promise.all(workers);

  assert.deepEqual(failures, [], `${failures.length} of ${ok + failures.length} requests failed`);
  assert.equal(await exchange(longLived, 'after'), 'db:after', 'a connection opened before the rotation still works');
  assert.equal(norm(await presentedSerial(api.publicAddress.port)), norm(api.identity.current().leafSerial), 'new connections get the new leaf');
  assert.notEqual(norm(await presentedSerial(api.publicAddress.port)), norm(oldSerials[1]!));
  const fresh = netConnect({ host: '127.0.0.1', port: dbPort });
  mesh.cleanups.push(() => void fresh.destroy());
  assert.equal(await exchange(fresh, 'new'), 'db:new');
});
