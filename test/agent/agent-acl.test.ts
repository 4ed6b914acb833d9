/**
 * Which token the agent sends on which call (Consul's agent/local/state.go: syncNodeInfo and the catalog reads use
 * the agent token, syncService and syncCheck the registration's own token, falling back to the agent's). The
 * server's catalog endpoints do not enforce ACLs yet, so the calls are recorded by a scripted stand-in for the
 * server (src/api/testing/stub-server.ts) that answers as an empty catalog does; the agent runs in process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../src/agent/main.ts';
import { startStub, type RecordedRequest, type StubServer } from '../../src/api/testing/stub-server.ts';
import { silentLogger } from '../../src/lib/logger.ts';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { tempDir } from '../helpers/server.ts';

let dir: ReturnType<typeof tempDir>;
let stub: StubServer;
let agent: RunningAgent;

before(async () => {
  dir = tempDir('meshgate-agent-acl-');
  stub = await startStub((req) => {
    if (req.path.startsWith('/v1/catalog/node-services/')) return { body: { Node: null, Services: null }, headers: { 'X-Consul-Index': '5' } };
    if (req.path.startsWith('/v1/health/node/')) return { body: [], headers: { 'X-Consul-Index': '5' } };
    return { body: true };
  });
  mkdirSync(join(dir.path, 'conf'));
  writeFileSync(join(dir.path, 'conf', 'agent.hcl'), `
acl {
  tokens {
    agent   = "agent-secret"
    default = "default-secret"
  }
}
service {
  name  = "web"
  port  = 8080
  token = "web-secret"
  check {
    ttl = "1m"
  }
}
service {
  name = "plain"
  port = 8081
}
`);
  agent = await startAgent({ retryJoin: [stub.url], config: { files: [], dirs: [join(dir.path, 'conf')] }, nodeName: 'vm-acl', httpAddr: '127.0.0.1:0' }, silentLogger());
});

after(async () => {
  await agent?.close();
  await stub?.close();
  dir?.remove();
});

function registration(r: RecordedRequest): { Service?: { ID: string }; Check?: unknown } | undefined {
  return r.path === '/v1/catalog/register' ? JSON.parse(r.body.toString()) as { Service?: { ID: string } } : undefined;
}

test('the node and the catalog reads carry acl.tokens.agent, each service its own token, a service without one the agent\'s', async () => {
  const web = await stub.waitFor((r) => registration(r)?.Service?.ID === 'web', 30_000);
  const plain = await stub.waitFor((r) => registration(r)?.Service?.ID === 'plain', 30_000);
  const node = await stub.waitFor((r) => registration(r) !== undefined && registration(r)!.Service === undefined, 30_000);
  assert.equal(web.headers['x-consul-token'], 'web-secret');
  assert.equal(plain.headers['x-consul-token'], 'agent-secret');
  assert.equal(node.headers['x-consul-token'], 'agent-secret');
  for (const read of stub.requests.filter((r) => r.method === 'GET')) assert.equal(read.headers['x-consul-token'], 'agent-secret', read.path);
});

test('a service registered through the local API syncs with the request\'s token; forwarded calls without one get acl.tokens.default', async () => {
  const res = await fetch(`${agent.url}/v1/agent/service/register`, { method: 'PUT', headers: { 'X-Consul-Token': 'api-secret' }, body: JSON.stringify({ Name: 'billing', Port: 7070 }) });
  assert.equal(res.status, 200);
  const reg = await stub.waitFor((r) => registration(r)?.Service?.ID === 'billing', 30_000);
  assert.equal(reg.headers['x-consul-token'], 'api-secret');

  await fetch(`${agent.url}/v1/kv/some/key`);
  await fetch(`${agent.url}/v1/kv/other/key`, { headers: { 'X-Consul-Token': 'caller-secret' } });
  const anonymous = await stub.waitFor((r) => r.path === '/v1/kv/some/key', 30_000);
  const caller = await stub.waitFor((r) => r.path === '/v1/kv/other/key', 30_000);
  assert.equal(anonymous.headers['x-consul-token'], 'default-secret');
  assert.equal(caller.headers['x-consul-token'], 'caller-secret');
  await waitFor(() => agent.agent.state.services().length === 3, 'three local services');
});
