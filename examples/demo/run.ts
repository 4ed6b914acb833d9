/**
 * The quick-start demo's services: starts small HTTP services on loopback (web ×2, api, billing, a legacy
 * inventory app) and registers them with a running `meshgate server` the way users would — agent registrations with
 * HTTP checks for the services, a direct catalog registration for an external database — plus some KV config.
 * Runs until interrupted. The demo issue replaces this with the whole architecture (gateway, proxies, UI).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '../../src/api/client.ts';

const address = process.env.MESHGATE_HTTP_ADDR ?? process.env.CONSUL_HTTP_ADDR ?? '127.0.0.1:8500';
const client = createClient({ address });

interface DemoService {
  id: string;
  name: string;
  tags: string[];
  meta: Record<string, string>;
}

const services: DemoService[] = [
  { id: 'web-1', name: 'web', tags: ['frontend', 'v1', 'traefik.enable=true'], meta: { version: '1.4.2' } },
  { id: 'web-2', name: 'web', tags: ['frontend', 'v1', 'traefik.enable=true'], meta: { version: '1.4.2' } },
  { id: 'api-1', name: 'api', tags: ['backend', 'traefik.enable=true', 'traefik.http.routers.api.rule=PathPrefix(`/api`)'], meta: { version: '2.0.0' } },
  { id: 'billing-1', name: 'billing', tags: ['backend'], meta: { version: '0.9.1', team: 'payments' } },
  { id: 'inventory-legacy', name: 'inventory', tags: ['legacy', 'vm'], meta: { runtime: 'java8' } },
];

function listen(service: DemoService): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: service.name, instance: service.id, path: req.url }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const running: Server[] = [];
for (const service of services) {
  const server = await listen(service);
  running.push(server);
  const port = (server.address() as AddressInfo).port;
  await client.agent.serviceRegister({
    ID: service.id,
    Name: service.name,
    Tags: service.tags,
    Meta: service.meta,
    Address: '127.0.0.1',
    Port: port,
    Check: { Name: `${service.name} HTTP health`, HTTP: `http://127.0.0.1:${port}/health`, Interval: '5s', Timeout: '2s' },
  });
  console.log(`registered ${service.id.padEnd(17)} http://127.0.0.1:${port}`);
}

// An external service: a database on a host without an agent, registered straight into the catalog.
await client.catalog.register({
  Node: 'db-host-1',
  Address: '127.0.0.1',
  NodeMeta: { 'external-node': 'true' },
  Service: { ID: 'postgres-1', Service: 'postgres', Tags: ['primary', 'database'], Port: 5432 },
});
console.log('registered postgres-1        (external, catalog registration)');

await client.kv.put('config/web/feature-flags', JSON.stringify({ newCheckout: true }));
await client.kv.put('config/api/db-url', 'postgres://postgres.service.consul:5432/app');

console.log(`
Meshgate demo is running against http://${address}. Try:
  curl -s http://${address}/v1/catalog/services?pretty
  curl -s 'http://${address}/v1/health/service/web?passing&pretty'
  curl -s http://${address}/v1/kv/config/?recurse&pretty
  dig @127.0.0.1 -p 8600 web.service.consul SRV        (DNS, healthy instances only)
Press Ctrl-C to stop.`);

const stop = async (): Promise<void> => {
  for (const service of services) await client.agent.serviceDeregister(service.id).catch(() => undefined);
  for (const s of running) s.close();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
