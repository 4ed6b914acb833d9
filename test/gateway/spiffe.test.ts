/**
 * SPIFFE servers transports (Traefik's `spiffe` on http.serversTransports, pkg/server/service/transport.go with
 * buildSpiffeAuthorizer: `ids` → AuthorizeOneOf, else `trustDomain` → AuthorizeMemberOf, else AuthorizeAny; TLS fields
 * beside `spiffe` refused; "SPIFFE is enabled for this transport, but not configured" without the static block),
 * with the SVID from the mesh (static `spiffe.mesh`: the gateway's Connect leaf and the CA roots of a real
 * `meshgate server`). The backend is a real `meshgate proxy` sidecar, which requires a client certificate from the
 * mesh's CA and presents `spiffe://<trust domain>/ns/default/dc/dc1/svc/web`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isMeshgateError } from '../../src/lib/errors.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { ServersTransport } from '../../src/gateway/services/transport.ts';
import { serversTransportSchema } from '../../src/gateway/config/schema/services.ts';
import { registerSidecar, runProxy, startHttpApp, startMesh, type Mesh } from '../proxy/helpers.ts';
import { eventually, fileProviderStaticYaml, get, startGateway, tempDir, writeAtomic } from './helpers.ts';

let mesh: Mesh;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let dynamicFile: string;
let trustDomain: string;
let sidecarPort: number;

function dynamic(transports: Record<string, string>): string {
  const services = Object.keys(transports).map((name) => `    ${name}:
      loadBalancer:
        serversTransport: ${name}
        servers:
          - url: "https://127.0.0.1:${sidecarPort}"`).join('\n');
  const routers = Object.keys(transports).map((name) => `    ${name}:
      rule: "Host(\`${name}\`)"
      service: ${name}`).join('\n');
  const defs = Object.entries(transports).map(([name, body]) => `    ${name}:
      spiffe:
${body}`).join('\n');
  return `http:\n  routers:\n${routers}\n  services:\n${services}\n  serversTransports:\n${defs}\n`;
}

before(async () => {
  mesh = await startMesh();
  trustDomain = (await mesh.client.connect.caRoots()).value.TrustDomain;
  await mesh.client.configEntries.set({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' } as { Kind: string; Name: string });
  const webPort = await startHttpApp(mesh, 'web');
  const web = await registerSidecar(mesh, { service: 'web', appPort: webPort });
  sidecarPort = web.proxyPort;
  await runProxy(mesh, web.proxyId);
  const dir = await tempDir('mg-gw-spiffe-');
  dynamicFile = join(dir, 'dynamic.yml');
  await writeFile(dynamicFile, dynamic({
    byid: `        ids: ["spiffe://${trustDomain}/ns/default/dc/dc1/svc/web"]`,
    wrongid: `        ids: ["spiffe://${trustDomain}/ns/default/dc/dc1/svc/api"]`,
    member: `        trustDomain: "${trustDomain}"`,
    foreign: '        trustDomain: "other.example"',
    anyid: '        {}',
  }));
  const file = join(dir, 'traefik.yml');
  await writeFile(file, `${fileProviderStaticYaml(dynamicFile)}spiffe:
  mesh:
    serviceName: edge
    endpoint:
      address: "${mesh.server.url}"
api:
  insecure: true
`);
  gateway = await startGateway(file);
});

after(async () => {
  await gateway?.close();
  await mesh?.close();
});

test('the gateway presents its mesh SVID and accepts the backend by SPIFFE ID (ids), by trust domain, or any', async () => {
  for (const host of ['byid', 'member', 'anyid']) {
    const reply = await eventually(async () => {
      const r = await get(`${gateway.web}/x`, { host });
      assert.equal(r.status, 200, `${host}: ${r.status} ${r.text}`);
      return r;
    }, 30_000);
    assert.equal(reply.text, 'web GET /x');
  }
});

test('a backend whose SPIFFE ID is not allowed is refused: another ID, another trust domain', async () => {
  for (const host of ['wrongid', 'foreign']) {
    const reply = await get(`${gateway.web}/x`, { host });
    assert.equal(reply.status, 502, `${host}: ${reply.status} ${reply.text}`);
  }
});

test('intentions see the gateway as the service of spiffe.mesh.serviceName', async () => {
  await mesh.client.connect.intentionUpsert({ SourceName: 'edge', DestinationName: 'web', Action: 'deny' });
  // web speaks http: the sidecar judges each request, so the gateway's pooled connection gets 403 too.
  await eventually(async () => assert.equal((await get(`${gateway.web}/x`, { host: 'byid' })).status, 403), 30_000);
  await mesh.client.connect.intentionUpsert({ SourceName: 'edge', DestinationName: 'web', Action: 'allow' });
  await eventually(async () => assert.equal((await get(`${gateway.web}/x`, { host: 'byid' })).status, 200), 30_000);
  // Keep the file provider path alive in this test: a rewrite with only the good transport still serves.
  await writeAtomic(dynamicFile, dynamic({ byid: `        ids: ["spiffe://${trustDomain}/ns/default/dc/dc1/svc/web"]` }));
  await eventually(async () => assert.equal((await get(`${gateway.web}/x`, { host: 'wrongid' })).status, 404), 30_000);
});

test('configuration errors: TLS beside SPIFFE, SPIFFE without an SVID source, a bad ID, workloadAPIAddr beside mesh', () => {
  const config = (raw: unknown) => serversTransportSchema.parse(raw);
  const svid = { certPem: 'x', keyPem: 'y', bundle: ['z'], id: 'spiffe://td/a' };
  assert.throws(() => new ServersTransport('t', config({ spiffe: {}, rootCAs: ['/ca.pem'] }), svid), /TLS and SPIFFE configuration cannot be defined at the same time/);
  assert.throws(() => new ServersTransport('t', config({ spiffe: { ids: ['spiffe://td/a'] } })), /SPIFFE is enabled for this transport, but not configured/);
  assert.throws(() => new ServersTransport('t', config({ spiffe: { ids: ['https://td/a'] } }), svid), (err: unknown) => isMeshgateError(err) && /spiffe\.ids\[0\]: invalid SPIFFE ID/.test((err as Error).message));
  assert.throws(() => new ServersTransport('t', config({ spiffe: { trustDomain: 'Bad Domain' } }), svid), /invalid SPIFFE trust domain/);
  // Two sources of the SVID at once are refused; workloadAPIAddr alone loads (spiffe-workload-api.test.ts).
  assert.throws(() => validateStaticConfig({ spiffe: { workloadAPIAddr: 'unix:///run/spire.sock', mesh: {} } }), /spiffe\.workloadAPIAddr: workloadAPIAddr and mesh are two sources of the SVID: set one/);
  // Traefik's documented shape loads: the static default transport with spiffe.
  assert.doesNotThrow(() => validateStaticConfig({ spiffe: { mesh: {} }, serversTransport: { spiffe: { ids: ['spiffe://trust-domain/id1'], trustDomain: 'spiffe://trust-domain' } } }));
});
