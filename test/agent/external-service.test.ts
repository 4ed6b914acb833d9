/**
 * External services (docs/external-services.md): a legacy app on a VM without an agent is registered through the
 * catalog on an external node (`NodeMeta external-node = true`, consul-esm's convention) with an HTTP check in its
 * Definition; the server runs that check (its consul-esm role), and the gateway reaches the app by its catalog
 * address, with no sidecar on the path. When the app's health fails, the server marks the check critical, the
 * instance leaves every healthy view and the gateway stops routing to it; when it recovers, routing comes back.
 * Consul behaviour relied on: the catalog register endpoint (agent/catalog_endpoint.go Register) and consul-esm's
 * external-node meta (hashicorp/consul-esm README: "external-node" and "external-probe" node meta).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer, tempDir } from '../helpers/server.ts';
import { catalogStaticYaml, get, startGateway } from '../gateway/helpers.ts';

const WAIT = { deadlineMs: 90_000, intervalMs: 100 };

let server: RunningServer;
let legacy: Server;
let legacyPort: number;
let healthy = true;
let gw: Awaited<ReturnType<typeof startGateway>>;
let dir: ReturnType<typeof tempDir>;

before(async () => {
  dir = tempDir('meshgate-external-');
  legacy = createServer((req, res) => {
    if (req.url === '/health') {
      res.statusCode = healthy ? 200 : 503;
      res.end(healthy ? 'ok' : 'down');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ app: 'legacy-billing', path: req.url }));
  });
  await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
  legacyPort = (legacy.address() as { port: number }).port;
  server = await startTestServer();
  const configFile = join(dir.path, 'gateway.yml');
  await writeFile(configFile, catalogStaticYaml(server.url));
  gw = await startGateway(configFile);
});

after(async () => {
  await gw?.close();
  await server?.close();
  legacy?.closeAllConnections();
  legacy?.close();
  dir?.remove();
});

async function passingInstances(): Promise<Array<{ Node: { Node: string }; Service: { Address: string; Port: number } }>> {
  const res = await fetch(`${server.url}/v1/health/service/billing?passing`);
  return (await res.json()) as never;
}

test('an external node\'s service with a server-run check is reached through the gateway by address, no sidecar', async () => {
  // The registration a VM without an agent gets: the same body as examples/legacy/billing.json, with this test's port.
  const registration = {
    Node: 'legacy-vm-1',
    Address: '127.0.0.1',
    NodeMeta: { 'external-node': 'true', 'external-probe': 'true' },
    Service: {
      ID: 'billing-1', Service: 'billing', Address: '127.0.0.1', Port: legacyPort,
      Tags: ['traefik.enable=true', 'traefik.http.routers.billing.rule=PathPrefix(`/billing`)', 'traefik.http.routers.billing.entrypoints=web'],
    },
    Checks: [{
      CheckID: 'billing-1-http', Name: 'billing HTTP', ServiceID: 'billing-1', Status: 'critical',
      Definition: { HTTP: `http://127.0.0.1:${legacyPort}/health`, Interval: '1s', Timeout: '1s' },
    }],
  };
  const put = await fetch(`${server.url}/v1/catalog/register`, { method: 'PUT', body: JSON.stringify(registration) });
  assert.equal(put.status, 200);
  // Registered critical: nothing healthy until the server's own probe passes.
  await waitFor(async () => (await passingInstances()).length === 1, 'the server-run check to pass', WAIT);
  const [instance] = await passingInstances();
  assert.equal(instance!.Node.Node, 'legacy-vm-1');
  assert.equal(instance!.Service.Port, legacyPort);

  const reply = await waitFor(async () => {
    const r = await get(`${gw.web}/billing/invoices`);
    return r.status === 200 ? r : undefined;
  }, 'the gateway to route /billing to the legacy app', WAIT);
  assert.deepEqual(reply.json(), { app: 'legacy-billing', path: '/billing/invoices' });
});

test('the legacy app failing its health leaves the healthy views and the gateway; recovery brings it back', async () => {
  healthy = false;
  await waitFor(async () => (await passingInstances()).length === 0, 'the instance out of ?passing', WAIT);
  const checks = (await (await fetch(`${server.url}/v1/health/checks/billing`)).json()) as Array<{ Status: string; Output: string }>;
  assert.equal(checks[0]!.Status, 'critical');
  assert.match(checks[0]!.Output, /503/);
  await waitFor(async () => (await get(`${gw.web}/billing/x`)).status !== 200, 'the gateway to stop routing to the failed instance', WAIT);
  healthy = true;
  await waitFor(async () => (await get(`${gw.web}/billing/x`)).status === 200, 'routing back after recovery', WAIT);
});
