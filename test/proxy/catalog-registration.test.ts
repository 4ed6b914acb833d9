/**
 * A sidecar whose registration lives in the catalog, not with a local agent: how Kubernetes pods run, registered by
 * the endpoints controller on a synthetic `<node>-virtual` node (consul-k8s endpoints_controller.go) and proxied by
 * a sidecar given `-node-name` (consul-dataplane's `-service-node-name`). It must serve its public listener with
 * the service's identity and follow registration changes through `/v1/catalog/node-services/<node>`.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { startProxy } from '../../src/proxy/proxy.ts';
import { freePort } from '../helpers/server.ts';
import { closeKeepAlive, httpGet, registerSidecar, runProxy, startHttpApp, startMesh, type Mesh } from './helpers.ts';

const NODE = 'kind-node-virtual';
let mesh: Mesh;
let webPort: number;
let webProxyPort: number;

async function registerWebOnNode(upstreams: Array<{ DestinationName: string; LocalBindPort: number }>): Promise<void> {
  await mesh.client.catalog.register({
    Node: NODE, Address: '127.0.0.1', NodeMeta: { 'synthetic-node': 'true' },
    Service: {
      Kind: 'connect-proxy', ID: 'web-0-web-sidecar-proxy', Service: 'web-sidecar-proxy', Address: '127.0.0.1', Port: webProxyPort,
      Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web-0-web', LocalServiceAddress: '127.0.0.1', LocalServicePort: webPort, Upstreams: upstreams },
    },
  } as Parameters<Mesh['client']['catalog']['register']>[0]);
}

before(async () => {
  mesh = await startMesh();
  webPort = await startHttpApp(mesh, 'web');
  webProxyPort = await freePort();
  await mesh.client.catalog.register({
    Node: NODE, Address: '127.0.0.1', Service: { ID: 'web-0-web', Service: 'web', Address: '127.0.0.1', Port: webPort },
  } as Parameters<Mesh['client']['catalog']['register']>[0]);
  await registerWebOnNode([]);
});

after(async () => {
  closeKeepAlive();
  await mesh?.close();
});

test('a sidecar reads its registration from the catalog node and serves the service\'s identity', async () => {
  await assert.rejects(
    startProxy({ client: mesh.client, logger: silentLogger(), proxyId: 'web-0-web-sidecar-proxy' }),
    /not registered with the local agent/,
    'without -node-name the agent is asked, and it has no such proxy',
  );
  const web = await startProxy({ client: mesh.client, logger: silentLogger(), proxyId: 'web-0-web-sidecar-proxy', nodeName: NODE });
  mesh.cleanups.push(() => web.stop());
  assert.equal(web.settings.service, 'web');
  assert.equal(web.publicAddress.port, webProxyPort);
  // An agent-registered client reaches it through the mesh: mTLS, web's SPIFFE ID verified by the client's sidecar.
  const clientApp = await startHttpApp(mesh, 'client');
  const upstreamPort = await freePort();
  const client = await registerSidecar(mesh, { service: 'client', appPort: clientApp, upstreams: [{ name: 'web', port: upstreamPort }] });
  await runProxy(mesh, client.proxyId);
  const reply = await waitFor(async () => {
    const r = await httpGet(upstreamPort, '/hello').catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  }, 'client → web through both sidecars', { deadlineMs: 30_000 });
  assert.equal(reply.body, 'web GET /hello');

  // An upstream added to the catalog registration opens without a restart (followed on the node's index).
  const added = await freePort();
  await registerWebOnNode([{ DestinationName: 'client', LocalBindPort: added }]);
  await waitFor(() => new Promise<boolean>((resolve) => {
    const s = connect(added, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), 'the added upstream to listen', { deadlineMs: 30_000 });
  assert.deepEqual([...web.upstreamAddresses.keys()], ['client']);
});
