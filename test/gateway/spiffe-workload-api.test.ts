/**
 * `spiffe.workloadAPIAddr` with a running `meshgate agent` serving the Workload API (spiffe_workload_api for the
 * service `edge`): the gateway takes its SVID from the agent's socket (Traefik: cmd/traefik/traefik.go builds a
 * go-spiffe workloadapi.NewX509Source WithAddr(workloadAPIAddr) and hands it to the HTTP transports and the TCP
 * dialers) and reaches real `meshgate proxy` sidecars — which require a client certificate from the mesh's CA — over
 * HTTP and TCP servers transports with `spiffe`, refusing a backend whose SPIFFE ID the transport does not allow
 * (buildSpiffeAuthorizer: ids → AuthorizeOneOf). The docs' `workloadAPIAddr: localhost` loads as a static file, and
 * the gateway then refuses to start with Traefik's words: go-spiffe's client parses the address when the source is
 * made (workloadapi/client.go New → setAddress → addr_posix.go parseTargetFromURLAddr: a URI with neither tcp://
 * nor unix:// scheme), and Traefik wraps it as "unable to create SPIFFE x509 source: …".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startAgent, type RunningAgent } from '../../src/agent/main.ts';
import { formatOf, parseConfigText } from '../../src/gateway/config/parse.ts';
import { validateStaticConfig } from '../../src/gateway/config/static.ts';
import { runGateway } from '../../src/gateway/main.ts';
import { workloadApiSvidSource } from '../../src/gateway/spiffe/workload-source.ts';
import { isMeshgateError } from '../../src/lib/errors.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { registerSidecar, runProxy, startHttpApp, startMesh, type Mesh } from '../proxy/helpers.ts';
import { eventually, get, startGateway, tempDir } from './helpers.ts';

let mesh: Mesh;
let agent: RunningAgent;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let trustDomain: string;
let socket: string;
let dir: string;

/** One HTTP/1.0 request over a raw TCP connection to `port`: everything the far side wrote before closing. */
function exchange(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const s = connect(port, '127.0.0.1', () => s.write('GET /x HTTP/1.0\r\n\r\n'));
    s.on('data', (chunk) => { data += chunk.toString(); });
    s.on('error', () => resolve(data));
    s.on('close', () => resolve(data));
    s.setTimeout(20_000, () => s.destroy());
  });
}

before(async () => {
  mesh = await startMesh();
  trustDomain = (await mesh.client.connect.caRoots()).value.TrustDomain;
  await mesh.client.configEntries.set({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' } as { Kind: string; Name: string });
  const web = await registerSidecar(mesh, { service: 'web', appPort: await startHttpApp(mesh, 'web') });
  const db = await registerSidecar(mesh, { service: 'db', appPort: await startHttpApp(mesh, 'db') });
  await runProxy(mesh, web.proxyId);
  await runProxy(mesh, db.proxyId);
  dir = await tempDir('mg-gw-workload-api-');
  socket = join(dir, 'workload.sock');
  await writeFile(join(dir, 'agent.json'), JSON.stringify({ spiffe_workload_api: { socket: `unix://${socket}`, service: 'edge' } }));
  agent = await startAgent({ retryJoin: [mesh.server.url], config: { files: [join(dir, 'agent.json')], dirs: [] }, nodeName: 'edge-node', httpAddr: '127.0.0.1:0' }, silentLogger());
  const id = (svc: string) => `["spiffe://${trustDomain}/ns/default/dc/dc1/svc/${svc}"]`;
  await writeFile(join(dir, 'dynamic.yml'), `http:
  routers:
    right:
      rule: "Host(\`right\`)"
      service: right
    wrong:
      rule: "Host(\`wrong\`)"
      service: wrong
  services:
    right:
      loadBalancer:
        serversTransport: right
        servers: [{ url: "https://127.0.0.1:${web.proxyPort}" }]
    wrong:
      loadBalancer:
        serversTransport: wrong
        servers: [{ url: "https://127.0.0.1:${web.proxyPort}" }]
  serversTransports:
    right: { spiffe: { ids: ${id('web')} } }
    wrong: { spiffe: { ids: ${id('api')} } }
tcp:
  routers:
    db:
      entryPoints: [db]
      rule: "HostSNI(\`*\`)"
      service: db
  services:
    db:
      loadBalancer:
        serversTransport: db
        servers: [{ address: "127.0.0.1:${db.proxyPort}", tls: true }]
  serversTransports:
    db: { tls: { spiffe: { trustDomain: "${trustDomain}" } } }
`);
  const loopback = { address: '127.0.0.1:0' };
  await writeFile(join(dir, 'traefik.yml'), JSON.stringify({
    entryPoints: { web: loopback, db: loopback, traefik: loopback },
    providers: { file: { filename: join(dir, 'dynamic.yml') } },
    spiffe: { workloadAPIAddr: `unix://${socket}` },
    api: { insecure: true },
  }));
  gateway = await startGateway(join(dir, 'traefik.yml'));
});

after(async () => {
  await gateway?.close();
  await agent?.close();
  await mesh?.close();
});

test('over HTTP: the gateway presents the agent\'s SVID of edge and reaches the sidecar whose SPIFFE ID is allowed', async () => {
  const reply = await eventually(async () => {
    const r = await get(`${gateway.web}/x`, { host: 'right' });
    assert.equal(r.status, 200, `${r.status} ${r.text}`);
    return r;
  }, 30_000);
  assert.equal(reply.text, 'web GET /x');
});

test('a backend presenting another SPIFFE ID than the transport allows is refused (502)', async () => {
  const reply = await get(`${gateway.web}/x`, { host: 'wrong' });
  assert.equal(reply.status, 502, `${reply.status} ${reply.text}`);
});

test('the sidecar sees the gateway as edge: a deny intention from edge answers 403', async () => {
  await mesh.client.connect.intentionUpsert({ SourceName: 'edge', DestinationName: 'web', Action: 'deny' });
  await eventually(async () => assert.equal((await get(`${gateway.web}/x`, { host: 'right' })).status, 403), 30_000);
  await mesh.client.connect.intentionUpsert({ SourceName: 'edge', DestinationName: 'web', Action: 'allow' });
  await eventually(async () => assert.equal((await get(`${gateway.web}/x`, { host: 'right' })).status, 200), 30_000);
});

test('over TCP: a TCP servers transport with tls.spiffe uses the same SVID to reach a sidecar of the trust domain', async () => {
  const reply = await eventually(async () => {
    const got = await exchange(gateway.addresses().db!.port);
    assert.match(got, /^HTTP\/1\.[01] 200/, got);
    return got;
  }, 30_000);
  assert.match(reply, /db GET \/x$/);
});

test('the source follows the stream: a Connect CA rotation delivers a new SVID under the new root', async () => {
  const source = workloadApiSvidSource({ addr: `unix://${socket}`, logger: silentLogger(), backoff: { initialMs: 100, maxMs: 1_000 } });
  try {
    const first = await source.ready(AbortSignal.timeout(60_000));
    assert.equal(first.id, `spiffe://${trustDomain}/ns/default/dc/dc1/svc/edge`);
    const changes: string[] = [];
    source.onChange((svid) => changes.push(svid.certPem));
    const res = await fetch(`${mesh.server.url}/v1/connect/ca/configuration`, {
      method: 'PUT', body: JSON.stringify({ Provider: 'consul', Config: { PrivateKeyType: 'rsa', PrivateKeyBits: 2048 } }),
    });
    assert.equal(res.status, 200, await res.text());
    await waitFor(() => source.current()!.bundle.length === 2 && source.current()!.certPem !== first.certPem, 'a new SVID and both roots', { deadlineMs: 60_000 });
    assert.ok(changes.length >= 1);
    assert.equal(source.current()!.id, first.id);
    // The gateway's transports rebuild with it: new connections still reach the sidecar.
    await eventually(async () => assert.equal((await get(`${gateway.web}/x`, { host: 'right' })).status, 200), 60_000);
  } finally {
    source.close();
  }
});

test('the docs\' `workloadAPIAddr: localhost` loads, and the gateway refuses to start with Traefik\'s words', async () => {
  const fixtures = new URL('./fixtures/traefik-docs/', import.meta.url).pathname;
  for (const file of ['spiffe.01.yaml', 'spiffe.02.toml']) {
    const text = readFileSync(join(fixtures, file), 'utf8');
    const config = validateStaticConfig(parseConfigText(text, formatOf(file)!, file), file);
    assert.equal(config.spiffe?.workloadAPIAddr, 'localhost');
    const staticFile = join(dir, `docs-${file}`);
    // The snippet as written, with a loopback entry point so nothing binds :80 if the start went further.
    await writeFile(staticFile, file.endsWith('.toml') ? `${text}\n[entryPoints.web]\n  address = "127.0.0.1:0"\n` : `${text}\nentryPoints:\n  web:\n    address: "127.0.0.1:0"\n`);
    await assert.rejects(runGateway({ configFile: staticFile, workers: 1, handleSignals: false, lastGoodFile: false, logger: silentLogger() }), (err: unknown) => {
      assert.ok(isMeshgateError(err, 'MG_INVALID_CONFIG'), String(err));
      assert.match((err as Error).message, /^spiffe\.workloadAPIAddr: unable to create SPIFFE x509 source: workload endpoint socket URI must have a tcp:\/\/ or unix:\/\/ scheme/);
      return true;
    });
  }
  // Other addresses go-spiffe refuses are refused the same way, before anything is dialled.
  assert.throws(() => workloadApiSvidSource({ addr: 'tcp://localhost:8081', logger: silentLogger() }), /unable to create SPIFFE x509 source: workload endpoint tcp socket URI host component must be an IP:port/);
});

test('the page\'s CLI tab and the TRAEFIK_* variable give the same static spiffe block', async () => {
  const { applyStaticOverrides } = await import('../../src/gateway/config/static.ts');
  const { parseTraefikFlags, traefikEnvFlags } = await import('../../src/gateway/config/sources.ts');
  // spiffe.md's CLI tab: `--spiffe.workloadAPIAddr=localhost`.
  const flags = parseTraefikFlags(['--spiffe.workloadAPIAddr=localhost']);
  assert.deepEqual(validateStaticConfig(applyStaticOverrides({}, flags)).spiffe, { workloadAPIAddr: 'localhost' });
  const env = traefikEnvFlags({ TRAEFIK_SPIFFE_WORKLOADAPIADDR: `unix://${socket}` });
  assert.deepEqual(validateStaticConfig(applyStaticOverrides({}, env)).spiffe, { workloadAPIAddr: `unix://${socket}` });
});
