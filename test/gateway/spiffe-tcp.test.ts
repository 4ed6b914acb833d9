/**
 * TCP servers transports with `tls.spiffe` (Traefik's TLSClientConfig.Spiffe on tcp.serversTransports, the same
 * buildSpiffeAuthorizer rules as HTTP): a TCP router forwards a plain client connection over mTLS with the gateway's
 * mesh SVID (static `spiffe.mesh`) to a real `meshgate proxy` sidecar, which requires a client certificate from the
 * mesh's CA and presents `spiffe://<trust domain>/ns/default/dc/dc1/svc/db`. A transport allowing another ID gets
 * no answer; TLS fields beside `spiffe` and `spiffe` without an SVID source are refused, naming the transport.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { silentLogger } from '../../src/lib/logger.ts';
import { TcpServices } from '../../src/gateway/tcp/services.ts';
import { registerSidecar, runProxy, startHttpApp, startMesh, type Mesh } from '../proxy/helpers.ts';
import { eventually, startGateway, tempDir } from './helpers.ts';

let mesh: Mesh;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let trustDomain: string;

/** One HTTP/1.0 request over a raw TCP connection to `port`: everything the far side wrote before closing. */
function exchange(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /x HTTP/1.0\r\n\r\n'));
    socket.on('data', (chunk) => { data += chunk.toString(); });
    socket.on('error', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.setTimeout(20_000, () => socket.destroy());
  });
}

before(async () => {
  mesh = await startMesh();
  trustDomain = (await mesh.client.connect.caRoots()).value.TrustDomain;
  // db speaks tcp (the default protocol): the sidecar passes bytes after the mTLS handshake and its L4 intention check.
  const appPort = await startHttpApp(mesh, 'db');
  const db = await registerSidecar(mesh, { service: 'db', appPort });
  await runProxy(mesh, db.proxyId);
  const dir = await tempDir('mg-gw-spiffe-tcp-');
  const transport = (name: string, id: string) => `    ${name}:\n      tls:\n        spiffe:\n          ids: ["spiffe://${trustDomain}/ns/default/dc/dc1/svc/${id}"]\n`;
  const service = (name: string) => `    ${name}:\n      loadBalancer:\n        serversTransport: ${name}\n        servers:\n          - address: "127.0.0.1:${db.proxyPort}"\n            tls: true\n`;
  await writeFile(join(dir, 'dynamic.yml'), `tcp:
  routers:
    right:
      entryPoints: [right]
      rule: "HostSNI(\`*\`)"
      service: right
    wrong:
      entryPoints: [wrong]
      rule: "HostSNI(\`*\`)"
      service: wrong
  services:
${service('right')}${service('wrong')}  serversTransports:
${transport('right', 'db')}${transport('wrong', 'api')}`);
  // JSON is YAML: loopback entry points, one per TCP router, and the mesh as the SVID source.
  const loopback = { address: '127.0.0.1:0' };
  await writeFile(join(dir, 'traefik.yml'), JSON.stringify({
    entryPoints: { web: loopback, right: loopback, wrong: loopback, traefik: loopback },
    providers: { file: { filename: join(dir, 'dynamic.yml') } },
    spiffe: { mesh: { serviceName: 'edge', endpoint: { address: mesh.server.url } } },
    api: { insecure: true },
  }));
  gateway = await startGateway(join(dir, 'traefik.yml'));
});

after(async () => {
  await gateway?.close();
  await mesh?.close();
});

test('a TCP router reaches a mesh sidecar over mTLS with the gateway\'s SVID when the sidecar\'s SPIFFE ID is allowed', async () => {
  const port = gateway.addresses().right!.port;
  const reply = await eventually(async () => {
    const got = await exchange(port);
    assert.match(got, /^HTTP\/1\.[01] 200/, got);
    return got;
  }, 30_000);
  assert.match(reply, /db GET \/x$/);
});

test('a TCP transport allowing another SPIFFE ID gets no connection to the sidecar', async () => {
  assert.equal(await exchange(gateway.addresses().wrong!.port), '');
});

test('a deny intention from the gateway\'s service closes the TCP connection at the sidecar', async () => {
  await mesh.client.connect.intentionUpsert({ SourceName: 'edge', DestinationName: 'db', Action: 'deny' });
  await eventually(async () => assert.equal(await exchange(gateway.addresses().right!.port), ''), 30_000);
  await mesh.client.connect.intentionUpsert({ SourceName: 'edge', DestinationName: 'db', Action: 'allow' });
  await eventually(async () => assert.match(await exchange(gateway.addresses().right!.port), /db GET \/x$/), 30_000);
});

test('configuration errors: TLS beside SPIFFE, SPIFFE without an SVID source', () => {
  const services = (tls: Record<string, unknown>, svid?: () => undefined) => new TcpServices({
    services: { s: { loadBalancer: { serversTransport: 't', servers: [{ address: '127.0.0.1:1', tls: true }] } } },
    serversTransports: { t: { tls } },
    logger: silentLogger(),
    ...(svid ? { svid } : {}),
  });
  assert.throws(() => services({ spiffe: {}, rootCAs: ['/ca.pem'] }).handler('s'), /tcp serversTransport "t": TLS and SPIFFE configuration cannot be defined at the same time/);
  assert.throws(() => services({ spiffe: { ids: ['spiffe://td/a'] } }).handler('s'), /tcp serversTransport "t": SPIFFE is enabled for this transport, but not configured \(static spiffe\.workloadAPIAddr or spiffe\.mesh\)/);
  assert.throws(() => services({ spiffe: { ids: ['spiffe://td/a'] } }, () => undefined).handler('s'), /SPIFFE is enabled for this transport, but not configured/);
});
