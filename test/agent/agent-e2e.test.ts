/**
 * `meshgate agent` end to end, with real processes on loopback: a `meshgate server` child and a `meshgate agent`
 * child reading a config dir. Consul's behaviour relied on: agent/local/state.go (SyncFull/SyncChanges: the
 * catalog is made to match the agent's local state, entries the agent does not own are removed), agent/agent.go
 * (service definitions, check IDs `service:<id>[:n]`), agent/sidecar_service.go (`<id>-sidecar-proxy`, port from
 * 21000–21255, TCP + alias default checks), command/reload (PUT /v1/agent/reload).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Consul from 'consul';
import { main } from '../../src/cli/main.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { freePort, spawnServer, tempDir, type ServerProcess } from '../helpers/server.ts';
import { getJson, spawnAgent, type AgentProcess } from './helpers.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const WAIT = { deadlineMs: 45_000, intervalMs: 100 };

interface CatalogService { ID: string; Service: string; Tags: string[]; Port: number; Kind?: string; Proxy?: Record<string, unknown> }
interface CatalogNodeServices { Node: { Node: string; Meta: Record<string, string> } | null; Services: CatalogService[] | null }
interface Check { CheckID: string; Status: string; Output: string; ServiceID: string; Name: string }

let dir: ReturnType<typeof tempDir>;
let serverPort: number;
let server: ServerProcess;
let agent: AgentProcess;
let app: Server;
let appPort: number;
const confDir = () => join(dir.path, 'conf');
const proxyLog = () => join(dir.path, 'proxy.log');
const countFile = () => join(dir.path, 'count.txt');
const rendered = () => join(dir.path, 'out', 'app.conf');

function nodeServices(): Promise<CatalogNodeServices> {
  return getJson(`${server.url}/v1/catalog/node-services/vm-1`);
}
function nodeChecks(): Promise<Check[]> {
  return getJson(`${server.url}/v1/health/node/vm-1`);
}
async function serviceIds(): Promise<string[]> {
  return ((await nodeServices().catch(() => ({ Services: null }))).Services ?? []).map((s) => s.ID).sort();
}
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(args, { out: (s) => (out += s), err: (s) => (out += s), env: {}, readStdin: async () => Buffer.alloc(0) });
  return { code, out };
}

before(async () => {
  dir = tempDir('meshgate-agent-e2e-');
  app = createServer((req, res) => res.end(req.url === '/health' ? 'ok' : 'app'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as { port: number }).port;
  const { mkdirSync } = await import('node:fs');
  mkdirSync(confDir());
  writeFileSync(join(confDir(), 'web.json'), JSON.stringify({
    service: {
      name: 'web', port: appPort, tags: ['v1'], token: 'web-token',
      check: { id: 'web-http', http: `http://127.0.0.1:${appPort}/health`, interval: '1s' },
      connect: { sidecar_service: { proxy: { upstreams: [{ destination_name: 'db', local_bind_port: 9191 }] } } },
    },
  }));
  writeFileSync(join(confDir(), 'api.hcl'), `
service {
  name = "api"
  port = 9000
  meta {
    version = "1"
  }
  check {
    id   = "api-ttl"
    name = "api heartbeat"
    ttl  = "30s"
  }
}
`);
  writeFileSync(join(confDir(), 'template.json'), JSON.stringify({
    template: [{
      contents: 'port={{ key "app/port" }}\nmode={{ keyOrDefault "app/mode" "normal" }}\n',
      destination: rendered(),
      command: [process.execPath, join(FIXTURES, 'count.mjs'), countFile()],
      wait: { min: '200ms', max: '1s' },
    }],
  }));
  serverPort = await freePort();
  server = await spawnServer(join(dir.path, 'server-1'), serverPort, ['--dns-port', '-1']);
  agent = await spawnAgent([
    '-retry-join', server.url, '-config-dir', confDir(), '-data-dir', join(dir.path, 'agent'), '-node-name', 'vm-1',
    '-anti-entropy-interval', '1s', '-proxy-command', join(FIXTURES, 'fake-proxy.sh'),
  ], { FAKE_PROXY_LOG: proxyLog() });
});

after(async () => {
  await agent?.stop();
  await server?.stop();
  app?.close();
  // A sleeping fake proxy must not outlive the test, even if the agent failed to stop it.
  if (existsSync(proxyLog())) {
    for (const m of readFileSync(proxyLog(), 'utf8').matchAll(/pid=(\d+)/g)) {
      try {
        process.kill(Number(m[1]), 'SIGKILL');
      } catch {
        // already gone: what we want
      }
    }
  }
  dir?.remove();
});

test('service files in the config dir appear in the catalog with their checks, the sidecar expanded as Consul does', async () => {
  await waitFor(async () => (await serviceIds()).join(',') === 'api,web,web-sidecar-proxy', 'the three services in the catalog', WAIT);
  const ns = await nodeServices();
  const web = ns.Services!.find((s) => s.ID === 'web')!;
  assert.deepEqual(web.Tags, ['v1']);
  assert.equal(web.Port, appPort);
  const sidecar = ns.Services!.find((s) => s.ID === 'web-sidecar-proxy')!;
  assert.equal(sidecar.Kind, 'connect-proxy');
  assert.equal(sidecar.Port, 21000, 'first port of the default sidecar range');
  assert.equal(sidecar.Proxy?.DestinationServiceName, 'web');
  assert.equal(sidecar.Proxy?.LocalServicePort, appPort);
  assert.equal((sidecar.Proxy?.Upstreams as Array<{ DestinationName: string }>)[0]!.DestinationName, 'db');
  // The HTTP check runs on the agent and its passing status reaches the catalog; the TTL one starts critical.
  const checks = await waitFor(async () => {
    const list = await nodeChecks();
    return list.find((c) => c.CheckID === 'web-http')?.Status === 'passing' ? list : undefined;
  }, 'web-http passing in the catalog', WAIT);
  assert.equal(checks.find((c) => c.CheckID === 'api-ttl')?.Status, 'critical');
  assert.ok(checks.some((c) => c.CheckID === 'service:web-sidecar-proxy:1' && c.Name === 'Connect Sidecar Listening'));
  assert.ok(checks.some((c) => c.CheckID === 'service:web-sidecar-proxy:2' && c.Name === 'Connect Sidecar Aliasing web'));
  // A TTL update through the agent's local API reaches the catalog.
  const res = await fetch(`${agent.url}/v1/agent/check/pass/api-ttl?note=alive`, { method: 'PUT' });
  assert.equal(res.status, 200);
  await waitFor(async () => (await nodeChecks()).find((c) => c.CheckID === 'api-ttl')?.Output === 'alive', 'TTL pass in the catalog', WAIT);
});

test('the agent forwards other /v1 paths to the server, blocking queries included', async () => {
  const put = await fetch(`${agent.url}/v1/kv/forwarded`, { method: 'PUT', body: 'yes' });
  assert.equal(await put.text(), 'true');
  const first = await fetch(`${agent.url}/v1/kv/forwarded`);
  const index = Number(first.headers.get('x-consul-index'));
  assert.ok(index > 0, 'X-Consul-Index passes through');
  const blocked = fetch(`${agent.url}/v1/kv/forwarded?index=${index}&wait=30s&raw`).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 200));
  await fetch(`${server.url}/v1/kv/forwarded`, { method: 'PUT', body: 'changed' });
  assert.equal(await blocked, 'changed');
});

test('a KV change re-renders the template atomically and runs its command once per change', async () => {
  const count = () => (existsSync(countFile()) ? readFileSync(countFile(), 'utf8').split('\n').filter(Boolean).length : 0);
  assert.equal(existsSync(rendered()), false, 'nothing rendered while app/port is missing (key waits for its key)');
  await fetch(`${server.url}/v1/kv/app/port`, { method: 'PUT', body: '8080' });
  await waitFor(() => existsSync(rendered()) && readFileSync(rendered(), 'utf8') === 'port=8080\nmode=normal\n', 'first render', WAIT);
  await waitFor(() => count() === 1, 'the command after the first render', WAIT);
  await fetch(`${server.url}/v1/kv/app/port`, { method: 'PUT', body: '9090' });
  await waitFor(() => readFileSync(rendered(), 'utf8') === 'port=9090\nmode=normal\n', 're-render after the KV change', WAIT);
  await waitFor(() => count() === 2, 'the command after the re-render', WAIT);
  // A write that leaves the rendered text unchanged, and one to a key the template does not read, run nothing:
  // proven by the next real change bringing the count to exactly 3.
  await fetch(`${server.url}/v1/kv/app/port`, { method: 'PUT', body: '9090' });
  await fetch(`${server.url}/v1/kv/unrelated`, { method: 'PUT', body: 'x' });
  await new Promise((r) => setTimeout(r, 1500));
  await fetch(`${server.url}/v1/kv/app/mode`, { method: 'PUT', body: 'safe' });
  await waitFor(() => readFileSync(rendered(), 'utf8') === 'port=9090\nmode=safe\n', 'keyOrDefault follows its key', WAIT);
  await waitFor(() => count() >= 3, 'the third command', WAIT);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(count(), 3, 'exactly one command run per change');
});

test('editing a file and `meshgate reload` applies the change; a removed file\'s service goes', async () => {
  const web = JSON.parse(readFileSync(join(confDir(), 'web.json'), 'utf8')) as { service: { tags: string[] } };
  web.service.tags = ['v2'];
  writeFileSync(join(confDir(), 'web.json'), JSON.stringify(web));
  const { unlinkSync } = await import('node:fs');
  unlinkSync(join(confDir(), 'api.hcl'));
  writeFileSync(join(confDir(), 'cache.json'), JSON.stringify({ services: [{ name: 'cache', port: 6379, checks: [{ name: 'cache ttl', ttl: '1m', status: 'passing' }] }] }));
  const { code, out } = await cli(['reload', '-http-addr', agent.addr]);
  assert.equal(code, 0, out);
  assert.match(out, /Configuration reload triggered/);
  await waitFor(async () => (await serviceIds()).join(',') === 'cache,web,web-sidecar-proxy', 'api gone and cache added', WAIT);
  await waitFor(async () => (await nodeServices()).Services!.find((s) => s.ID === 'web')?.Tags[0] === 'v2', 'web tagged v2', WAIT);
  const checks = await nodeChecks();
  assert.equal(checks.find((c) => c.ServiceID === 'cache')?.Status, 'passing');
  assert.equal(checks.some((c) => c.CheckID === 'api-ttl'), false);
  // The sidecar's tags follow its parent's (inherited when the sidecar sets none).
  assert.deepEqual((await nodeServices()).Services!.find((s) => s.ID === 'web-sidecar-proxy')?.Tags, ['v2']);
});

test('the npm consul client registers a service with the agent and it appears on the server', async () => {
  const consul = new Consul({ host: '127.0.0.1', port: Number(agent.addr.split(':')[1]) });
  await consul.agent.service.register({ name: 'billing', id: 'billing-1', port: 7070, tags: ['npm'], check: { ttl: '60s', status: 'passing' } as never });
  const local = await consul.agent.service.list() as Record<string, { Service: string }>;
  assert.equal(local['billing-1']?.Service, 'billing');
  await waitFor(async () => (await getJson<Array<{ ServiceID: string }>>(`${server.url}/v1/catalog/service/billing`)).some((s) => s.ServiceID === 'billing-1'), 'billing on the server', WAIT);
  // The service and its check travel in one catalog registration, so the check is there with the service.
  const checks = await getJson<Check[]>(`${server.url}/v1/health/checks/billing`);
  assert.equal(checks[0]?.CheckID, 'service:billing-1');
  assert.equal(checks[0]?.Status, 'passing');
});

test('anti-entropy: a rogue catalog entry under the node is removed and a deleted service comes back', async () => {
  await fetch(`${server.url}/v1/catalog/register`, { method: 'PUT', body: JSON.stringify({ Node: 'vm-1', Address: '127.0.0.1', Service: { ID: 'rogue', Service: 'rogue' } }) });
  await fetch(`${server.url}/v1/catalog/deregister`, { method: 'PUT', body: JSON.stringify({ Node: 'vm-1', ServiceID: 'cache' }) });
  await waitFor(async () => {
    const ids = await serviceIds();
    return ids.includes('cache') && !ids.includes('rogue');
  }, 'cache re-registered and rogue removed', WAIT);
});

test('kill -9 of the server and a restart with an empty catalog: anti-entropy repairs the node within its interval', async () => {
  await server.kill9();
  // A fresh data dir on the same address: everything the agent had registered is gone from the catalog.
  server = await spawnServer(join(dir.path, 'server-2'), serverPort, ['--dns-port', '-1']);
  await waitFor(async () => (await serviceIds()).join(',') === 'billing-1,cache,web,web-sidecar-proxy', 'the node\'s services back in the catalog', WAIT);
  await waitFor(async () => (await nodeChecks()).find((c) => c.CheckID === 'web-http')?.Status === 'passing', 'web-http passing again', WAIT);
  const node = await nodeServices();
  assert.equal(node.Node?.Node, 'vm-1');
});

test('sidecars are supervised: started with -sidecar-for and the agent address, token in the environment, restarted after a failure', async () => {
  const lines = await waitFor(() => {
    const l = existsSync(proxyLog()) ? readFileSync(proxyLog(), 'utf8').split('\n').filter(Boolean) : [];
    return l.length >= 2 ? l : undefined;
  }, 'a restart of the failed sidecar', WAIT);
  assert.match(lines[0]!, new RegExp(`^start args=proxy -sidecar-for web -http-addr ${agent.addr.replace(/\./g, '\\.')} token=web-token pid=\\d+$`));
  assert.match(lines[1]!, /^start args=proxy -sidecar-for web /);
  assert.match(agent.output(), /\[sidecar web-sidecar-proxy\] hello from the proxy/);
  const pid = Number(/pid=(\d+)/.exec(lines[1]!)![1]);
  assert.doesNotThrow(() => process.kill(pid, 0), 'the second start keeps running');
  await agent.stop();
  await waitFor(() => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 'the sidecar stopped with the agent', WAIT);
});
