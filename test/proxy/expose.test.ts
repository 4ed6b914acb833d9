/**
 * The sidecar's expose paths, as Consul has Envoy serve `Proxy.Expose.Paths` (agent/xds/listeners.go
 * makeExposedCheckListener: one plain listener per path on the proxy's address at ListenerPort, the exact path
 * routed to the local app at LocalPathPort — Envoy's `path` route match ignores the query string — and every other
 * path answered 404 by the route table). A real `meshgate proxy` process reads a Kubernetes-shaped registration from
 * the catalog (the endpoints controller's: probes moved to 20300+ by the injector, src/kubernetes/probes.ts): the
 * exposed path answers plain HTTP from the app, another path on the same listener is 404, and the public listener
 * still speaks only mTLS.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { parseExposePaths } from '../../src/proxy/expose.ts';
import { freePort } from '../helpers/server.ts';
import { spawnProxy, startHttpApp, startMesh, type Mesh } from './helpers.ts';

const NODE = 'kind-node-virtual';
let mesh: Mesh;
let proxyPort: number;
let livePort: number;
let readyPort: number;
let appPort: number;
let healthPort: number;

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  mesh = await startMesh();
  appPort = await startHttpApp(mesh, 'web');
  // The probes' original port: a second app port, as a pod whose health endpoint is not its service port.
  healthPort = await startHttpApp(mesh, 'health', (path) => (path.startsWith('/ready') ? 200 : 500));
  [proxyPort, livePort, readyPort] = [await freePort(), await freePort(), await freePort()];
  const register = mesh.client.catalog.register.bind(mesh.client.catalog) as (body: unknown) => Promise<unknown>;
  await register({ Node: NODE, Address: '127.0.0.1', Service: { ID: 'web-0-web', Service: 'web', Address: '127.0.0.1', Port: appPort } });
  // Not in transparent mode: that needs the conntrack table (root), which expose paths do not.
  await register({
    Node: NODE, Address: '127.0.0.1',
    Service: {
      Kind: 'connect-proxy', ID: 'web-0-web-sidecar-proxy', Service: 'web-sidecar-proxy', Address: '127.0.0.1', Port: proxyPort,
      Proxy: {
        DestinationServiceName: 'web', DestinationServiceID: 'web-0-web', LocalServiceAddress: '127.0.0.1', LocalServicePort: appPort,
        Expose: { Paths: [
          { ListenerPort: livePort, Path: '/live', LocalPathPort: appPort },
          { ListenerPort: readyPort, Path: '/ready', LocalPathPort: healthPort },
        ] },
      },
    },
  });
  await spawnProxy(mesh, 'web-0-web-sidecar-proxy', ['-node-name', NODE]);
});

after(async () => {
  await mesh?.close();
});

test('an exposed path answers plain HTTP from the local app at LocalPathPort, query string and all', async () => {
  assert.deepEqual(await get(livePort, '/live'), { status: 200, body: 'web GET /live' });
  assert.deepEqual(await get(readyPort, '/ready?verbose=1'), { status: 200, body: 'health GET /ready?verbose=1' });
});

test('any other path on an expose listener is 404, and never reaches the app', async () => {
  for (const [port, path] of [[livePort, '/'], [livePort, '/live/more'], [livePort, '/ready'], [readyPort, '/live'], [readyPort, '/readyz']] as const) {
    const answer = await get(port, path);
    assert.equal(answer.status, 404, `${port}${path}`);
    assert.equal(answer.body, '', `${port}${path}`);
  }
});

test('the public listener still refuses plaintext: a plain HTTP request gets no HTTP answer', async () => {
  const reply = await new Promise<string>((resolve) => {
    let got = '';
    const socket = connect(proxyPort, '127.0.0.1', () => socket.write('GET /live HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => resolve(got));
    socket.on('close', () => resolve(got));
  });
  assert.ok(!reply.startsWith('HTTP/'), `no HTTP response from the mTLS listener, got ${JSON.stringify(reply.slice(0, 40))}`);
});

test('bad Expose.Paths fields are coded config errors naming the field', () => {
  assert.deepEqual(parseExposePaths(undefined), []);
  assert.deepEqual(parseExposePaths({ Checks: true }), []);
  assert.deepEqual(parseExposePaths({ Paths: [{ ListenerPort: 20300, Path: '/h', LocalPathPort: 8080, Protocol: 'http' }] }), [{ listenerPort: 20300, path: '/h', localPathPort: 8080 }]);
  assert.throws(() => parseExposePaths({ Paths: [{ ListenerPort: 0, Path: '/h', LocalPathPort: 8080 }] }), (e: Error & { code?: string }) => e.code === 'MG_PROXY_CONFIG' && /Paths\[0\]\.ListenerPort/.test(e.message));
  assert.throws(() => parseExposePaths({ Paths: [{ ListenerPort: 1, Path: 'h', LocalPathPort: 8080 }] }), /Paths\[0\]\.Path: must begin with "\/"/);
  assert.throws(() => parseExposePaths({ Paths: [{ ListenerPort: 1, Path: '/h', LocalPathPort: 8080, Protocol: 'http2' }] }), /Paths\[0\]\.Protocol: "http2" is not served/);
});
