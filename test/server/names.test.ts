/**
 * Names and IDs that no DNS, log line or client could handle are refused at registration, and nothing is stored.
 *
 * What Consul does, read in hashicorp/consul: Catalog.Register (agent/consul/catalog_endpoint.go) only requires a
 * node ("Must provide node") and a service name with an ID; NodeService.Validate / ValidateForAgent
 * (agent/structs/structs.go) check Connect, gateway and expose settings (`expose.paths: invalid listener port`);
 * agent.validateService (agent/agent.go) and the config builder only *warn* that a name "will not be discoverable
 * via DNS due to invalid characters" or "due to it being too long" (over 63 bytes). So DNS-incompatible names
 * (underscores, dots, 64+ bytes) stay accepted here too; what Consul would store but nothing can use — a NUL or
 * other control character, a 70 KB name, a port outside 0-65535 — is refused with a 400 naming the field.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './catalog/helpers.ts';

let s: TestServer;
before(async () => {
  s = await testServer();
});
after(() => s.close());

const HUGE = 'x'.repeat(70 * 1024);

async function state(): Promise<unknown> {
  const [nodes, services, agent, checks] = await Promise.all([
    s.get('/v1/catalog/nodes'), s.get('/v1/catalog/services'), s.get('/v1/agent/services'), s.get('/v1/agent/checks'),
  ]);
  return [nodes.json.map((n: { Node: string }) => n.Node), services.json, Object.keys(agent.json), Object.keys(checks.json)];
}

const refused: Array<[string, string, unknown, RegExp]> = [
  ['catalog: NUL in node name', '/v1/catalog/register', { Node: 'a\u0000b', Address: '10.0.0.1' }, /^Invalid node name "a\\u0000b": contains a control character$/],
  ['catalog: 70 KB node name', '/v1/catalog/register', { Node: HUGE, Address: '10.0.0.1' }, /^Invalid node name "x{32}"…: longer than 512 bytes$/],
  ['catalog: NUL in service ID', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'web', ID: 'w\u0000' } }, /^Invalid service ID "w\\u0000": contains a control character$/],
  ['catalog: 70 KB service name', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: HUGE } }, /^Invalid service name "x{32}"…: longer than 512 bytes$/],
  ['catalog: newline in check ID', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Check: { CheckID: 'c\nd', Name: 'c' } }, /^Invalid check ID "c\\nd": contains a control character$/],
  ['catalog: port -1', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'web', Port: -1 } }, /^Invalid service port: -1 \(must be 0-65535\)$/],
  ['catalog: port 65536', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'web', Port: 65536 } }, /^Invalid service port: 65536 \(must be 0-65535\)$/],
  ['catalog: tagged address port -1', '/v1/catalog/register', { Node: 'n1', Address: '10.0.0.1', Service: { Service: 'web', TaggedAddresses: { lan: { Address: '10.0.0.2', Port: -1 } } } }, /^Invalid service port: -1 \(must be 0-65535\) in TaggedAddresses\["lan"\]$/],
  ['agent: NUL in service name', '/v1/agent/service/register', { Name: 'w\u0000' }, /^Invalid service name "w\\u0000": contains a control character$/],
  ['agent: 70 KB service ID', '/v1/agent/service/register', { Name: 'web', ID: HUGE }, /^Invalid service ID "x{32}"…: longer than 512 bytes$/],
  ['agent: port -1', '/v1/agent/service/register', { Name: 'web', Port: -1 }, /^Invalid service port: -1 \(must be 0-65535\)$/],
  ['agent: NUL in check name', '/v1/agent/check/register', { Name: 'c\u0000', TTL: '10s' }, /^Invalid check name "c\\u0000": contains a control character$/],
  ['agent: NUL in a service check ID', '/v1/agent/service/register', { Name: 'web', Check: { CheckID: 'c\u0000', TTL: '10s' } }, /^Invalid check ID "c\\u0000": contains a control character$/],
];

describe('refused names, IDs and ports', () => {
  for (const [what, path, body, message] of refused) {
    test(what, async () => {
      const before = await state();
      const r = await s.put(path, body);
      assert.equal(r.status, 400, `${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.text, message);
      assert.deepEqual(await state(), before, 'something was stored');
    });
  }
});

test('DNS-incompatible but usable names are still accepted, as Consul accepts them with a warning', async () => {
  const long = 'a'.repeat(100);
  assert.equal((await s.put('/v1/catalog/register', { Node: 'node_with.dots', Address: '10.0.0.1', Service: { Service: `svc_${long}`, Port: 65535 } })).status, 200);
  assert.equal((await s.put('/v1/agent/service/register', { Name: 'under_score', ID: 'ünïcode-id', Port: 0 })).status, 200);
  assert.ok(Object.hasOwn((await s.get('/v1/catalog/services')).json, `svc_${long}`));
});
