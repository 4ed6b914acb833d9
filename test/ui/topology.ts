/**
 * The topology the browser tests drive: a `meshgate server` (serving /ui/), a `meshgate gateway` following its
 * catalog (serving /dashboard/ on the traefik entry point, and on the web entry point beside a router that sends
 * /v1 to the server, so the whole app works from either process), and a few services on loopback ports — two
 * instances of `web` with TTL checks routed by catalog tags, an `api` with an HTTP check, a database registered as an
 * external service, a Kubernetes-synced service — plus a KV folder and an intention.
 *
 * The demo script can provide the same shape (`Topology`): set MESHGATE_UI_TOPOLOGY to a module exporting
 * `startTopology()` and the browser tests run against that instead.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import { startGateway, staticYaml } from '../gateway/helpers.ts';

export interface Topology {
  /** The server's HTTP API (and /ui/). */
  readonly consul: string;
  /** The gateway's traefik entry point (dashboard API, /dashboard/, /metrics). */
  readonly gatewayAdmin: string;
  /** The gateway's web entry point (catalog routes; /dashboard/ and /v1 routed too). */
  readonly gatewayWeb: string;
  /** An ACL token with full rights when the topology runs with ACLs on. */
  readonly token?: string;
  /** A service routed by the gateway from catalog tags, with two instances whose TTL checks the test may fail. */
  readonly routed: { service: string; path: string; instances: ReadonlyArray<{ id: string; checkId: string }> };
  close(): Promise<void>;
}

async function upstream(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: name, path: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function put(base: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${base}${path}`, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body) });
  if (!res.ok) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
}

export async function startTopology(): Promise<Topology> {
  const cleanup: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  };
  try {
    const server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1' }, silentLogger());
    cleanup.push(() => server.close());
    const consul = server.url;

    const ups = await Promise.all(['web-1', 'web-2', 'api-1'].map((n) => upstream(n)));
    for (const u of ups) cleanup.push(() => new Promise<void>((r) => { u.server.closeAllConnections(); u.server.close(() => r()); }));
    const tags = ['traefik.enable=true', 'traefik.http.routers.web.rule=PathPrefix(`/web`)', 'traefik.http.routers.web.entrypoints=web', 'frontend'];
    const instances = [{ id: 'web-1', checkId: 'service:web-1' }, { id: 'web-2', checkId: 'service:web-2' }];
    for (const [i, inst] of instances.entries()) {
      await put(consul, '/v1/agent/service/register', {
        ID: inst.id, Name: 'web', Address: '127.0.0.1', Port: ups[i]!.port, Tags: tags, Meta: { version: '1.4.2', team: 'storefront' },
        Check: { TTL: '10m', Notes: 'reported by the test' },
      });
      await put(consul, `/v1/agent/check/pass/${encodeURIComponent(inst.checkId)}?note=${encodeURIComponent('ready')}`, '');
    }
    await put(consul, '/v1/agent/service/register', {
      ID: 'api-1', Name: 'api', Address: '127.0.0.1', Port: ups[2]!.port, Tags: ['backend', 'v2'],
      Check: { HTTP: `http://127.0.0.1:${ups[2]!.port}/health`, Interval: '10s' },
    });
    // A database outside any agent (Consul's external-service pattern: a node with external-node meta).
    await put(consul, '/v1/catalog/register', {
      Node: 'db-host', Address: '127.0.0.1', NodeMeta: { 'external-node': 'true', 'external-probe': 'true' },
      Service: { ID: 'postgres', Service: 'postgres', Port: 5432, Tags: ['database'] },
      Checks: [{ CheckID: 'postgres-tcp', Name: 'postgres TCP', Status: 'passing', ServiceID: 'postgres', Output: 'TCP connect 127.0.0.1:5432: Success' }],
    });
    // A service synced from Kubernetes (consul-k8s marks them with external-source).
    await put(consul, '/v1/catalog/register', {
      Node: 'k8s-sync', Address: '10.0.0.1',
      Service: { ID: 'billing-abc', Service: 'billing', Port: 8080, Tags: ['k8s'], Meta: { 'external-source': 'kubernetes', 'k8s-namespace': 'default' } },
    });
    await put(consul, '/v1/kv/config/web/settings', JSON.stringify({ theme: 'dark', items: 20 }));
    await put(consul, '/v1/kv/config/web/feature.yaml', 'flags:\n  search: true\n  beta: false\n');
    await put(consul, '/v1/connect/intentions/exact?source=web&destination=api', { SourceName: 'web', DestinationName: 'api', Action: 'allow' });
    await put(consul, '/v1/connect/intentions/exact?source=billing&destination=api', { SourceName: 'billing', DestinationName: 'api', Action: 'deny' });

    const dir = await mkdtemp(join(tmpdir(), 'mg-ui-topology-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    dashboard:
      rule: PathPrefix(\`/dashboard\`)
      entryPoints: [web]
      service: dashboard@internal
    gateway-api:
      rule: PathPrefix(\`/api\`)
      entryPoints: [web]
      service: api@internal
    gateway-metrics:
      rule: Path(\`/metrics\`)
      entryPoints: [web]
      service: prometheus@internal
    consul-api:
      rule: PathPrefix(\`/v1\`)
      entryPoints: [web]
      service: consul
  services:
    consul:
      loadBalancer:
        servers:
          - url: "${consul}"
`);
    await writeFile(join(dir, 'gateway.yml'), staticYaml(join(dir, 'dynamic.yml')));
    const gw = await startGateway(join(dir, 'gateway.yml'), {
      lastGoodFile: false,
      overrides: {
        'providers.consulCatalog.endpoint.address': consul.replace(/^http:\/\//, ''),
        'providers.consulCatalog.endpoint.endpointWaitTime': '30s',
        'providers.consulCatalog.exposedByDefault': false,
      },
    });
    cleanup.push(() => gw.close());
    return {
      consul,
      gatewayAdmin: gw.admin,
      gatewayWeb: gw.web,
      routed: { service: 'web', path: '/web', instances },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
