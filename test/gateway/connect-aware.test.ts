/**
 * The mesh-aware catalog: `providers.consulCatalog.connectAware` against a real `meshgate server` (its Connect CA)
 * and real `meshgate proxy` sidecars. Expectations from Traefik's pkg/provider/consulcatalog: consul_catalog.go
 * (connectAware waits for the leaf of `serviceName` and the roots before the first configuration; Connect services
 * are read with Health().Connect, i.e. their proxies), config.go (addServer: `https://` to the proxy and the
 * `tls-<ns>-<dc>-<name>` servers transport) and connect_tls.go (the transport presents the gateway's leaf and
 * accepts only the service's SPIFFE ID, trust domain taken from the peer, chain verified against the roots).
 * The gateway is then a mesh client like any other: the sidecar checks intentions for source `traefik`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { allow, registerSidecar, runProxy, startHttpApp, startMesh, type Mesh } from '../proxy/helpers.ts';
import { catalogStaticYaml, get, startGateway, tempDir } from './helpers.ts';

let mesh: Mesh;
let gateway: Awaited<ReturnType<typeof startGateway>>;

async function through(host: string) {
  return get(`${gateway.web}/hello`, { host });
}

before(async () => {
  mesh = await startMesh();
  // L7: the sidecar checks intentions per request and tells the app who called (XFCC). With tcp, intentions are
  // checked per connection, and the gateway's pooled connection would outlive a new deny, as in Consul.
  await mesh.client.configEntries.set({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' } as { Kind: string; Name: string });
  const webPort = await startHttpApp(mesh, 'web');
  const { proxyId } = await registerSidecar(mesh, { service: 'web', appPort: webPort });
  await runProxy(mesh, proxyId);
  const dir = await tempDir('mg-gw-connect-');
  const file = join(dir, 'traefik.yml');
  await writeFile(file, catalogStaticYaml(mesh.server.url, { throttle: '20ms', waitTime: null, catalog: `    connectAware: true
    connectByDefault: true
    serviceName: traefik
    defaultRule: "Host(\`{{ .Name }}\`)"
` }));
  gateway = await startGateway(file);
});

after(async () => {
  await gateway?.close();
  await mesh?.close();
});

test('a Connect service is reached through its sidecar over mTLS with the gateway\'s own leaf (SPIFFE ID of serviceName)', async () => {
  const reply = await waitFor(async () => {
    const r = await through('web');
    return r.status === 200 ? r : undefined;
  }, 'the route to web through its sidecar', { deadlineMs: 30_000 });
  assert.equal(reply.text, 'web GET /hello');
  // The sidecar forwards the client certificate it verified: the gateway's identity is `traefik`.
  assert.match(String(reply.headers['x-got-xfcc']), /URI=spiffe:\/\/[^/]+\/ns\/default\/dc\/dc1\/svc\/traefik/);
  // The gateway's API shows the Connect transport and the https server on the sidecar's port.
  const service = (await get(`${gateway.admin}/api/http/services/web@consulcatalog`)).json();
  // As written by the provider; the runtime resolves it in the provider's namespace (Traefik's GetQualifiedName).
  assert.equal(service.loadBalancer.serversTransport, 'tls-default-dc1-web');
  assert.match(service.loadBalancer.servers[0].url, /^https:\/\/127\.0\.0\.1:\d+$/);
});

test('intentions apply to the gateway: deny traefik → web and the route fails; allow and it serves again', async () => {
  await allow(mesh, 'traefik', 'web', 'deny');
  await waitFor(async () => [502, 403].includes((await through('web')).status), 'the deny intention to reach the sidecar', { deadlineMs: 30_000 });
  await allow(mesh, 'traefik', 'web', 'allow');
  await waitFor(async () => (await through('web')).status === 200, 'the allow intention to reach the sidecar', { deadlineMs: 30_000 });
});

test('a proxy that presents another service\'s identity is refused (peerCertURI), a real one is served', async () => {
  const apiPort = await startHttpApp(mesh, 'api');
  const api = await registerSidecar(mesh, { service: 'api', appPort: apiPort });
  await runProxy(mesh, api.proxyId);
  // A Connect proxy for `shop` that is really api's sidecar: its certificate says svc/api.
  await mesh.client.agent.serviceRegister({ ID: 'shop', Name: 'shop', Address: '127.0.0.1', Port: apiPort });
  await mesh.client.agent.serviceRegister({
    Kind: 'connect-proxy', ID: 'shop-sidecar-proxy', Name: 'shop-sidecar-proxy', Address: '127.0.0.1', Port: api.proxyPort,
    Proxy: { DestinationServiceName: 'shop', DestinationServiceID: 'shop', LocalServiceAddress: '127.0.0.1', LocalServicePort: apiPort },
  });
  await waitFor(async () => (await through('api')).status === 200, 'the route to api', { deadlineMs: 30_000 });
  await waitFor(async () => (await get(`${gateway.admin}/api/http/routers/shop@consulcatalog`)).status === 200, 'the shop router', { deadlineMs: 30_000 });
  const reply = await through('shop');
  assert.equal(reply.status, 502, `expected the gateway to refuse api's certificate for shop, got ${reply.status} ${reply.text}`);
});
