/**
 * Prepared queries through the HTTP API and DNS, checked against Consul's behaviour:
 * - agent/prepared_query_endpoint.go: POST /v1/query answers {"ID"}, GET lists, /:id answers a one-element list or
 *   404 "Query not found", PUT updates, DELETE removes, /execute and /explain by ID or name, ?limit, ?near;
 * - agent/consul/prepared_query_endpoint.go: parseQuery's messages ("Must be bound to a session", "Must provide a
 *   Service name to query", "Bad DNS TTL"), execute's FilterIgnore/OnlyPassing/IgnoreCheckIDs, NodeMeta,
 *   ServiceMeta and tagFilter (required and "!" tags, case-insensitive), the source node moved first after the
 *   distance sort, Limit, and queryFailover counting only known datacenters (Failovers 0 with one);
 * - agent/consul/state/prepared_query.go: names unique case-insensitively and never an existing ID, resolution by
 *   ID, then name, then the longest template prefix;
 * - agent/consul/prepared_query/template.go: name_prefix_match with ${name.full}/${name.prefix}/${name.suffix},
 *   RemoveEmptyTags, unknown variables and types refused at creation;
 * - agent/dns.go: <query>.query.<domain> answers A and SRV from the query's healthy instances with its DNS TTL.
 */
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { freePort } from '../helpers/server.ts';

const run = promisify(execFile);
let server: RunningServer;
let dnsPort: number;

interface Reply { status: number; text: string; json: any; headers: Headers }
async function req(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(server.url + path, { method, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined; // a text answer
  }
  return { status: res.status, text, json, headers: res.headers };
}
async function ok(method: string, path: string, body?: unknown): Promise<Reply> {
  const r = await req(method, path, body);
  assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
  return r;
}
const create = async (def: unknown): Promise<string> => ((await ok('POST', '/v1/query', def)).json as { ID: string }).ID;
interface Executed {
  Service: string; Nodes: Array<{ Node: { Node: string }; Service: { ID: string } }>; DNS: { TTL: string }; Datacenter: string; Failovers: number;
}
const execute = async (nameOrId: string, qs = ''): Promise<Executed> => (await ok('GET', `/v1/query/${nameOrId}/execute${qs}`)).json as Executed;
const ids = (r: Executed): string[] => r.Nodes.map((n) => n.Service.ID).sort();

async function register(
  node: string, address: string, service: Record<string, unknown>, checks: unknown[] = [], meta: Record<string, string> = {},
): Promise<void> {
  await ok('PUT', '/v1/catalog/register', { Node: node, Address: address, NodeMeta: meta, Service: service, ...(checks.length ? { Checks: checks } : {}) });
}
const coord = (x: number) => ({ Vec: [x, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0 });

before(async () => {
  dnsPort = await freePort();
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', ports: { dns: dnsPort } }, silentLogger());
  await register('n-a', '10.2.0.1', { ID: 'db-a', Service: 'db', Port: 5432, Tags: ['Primary', 'v1'], Meta: { tier: 'gold' } }, [], { rack: 'r1' });
  await register('n-b', '10.2.0.2', { ID: 'db-b', Service: 'db', Port: 5432, Tags: ['replica', 'v1'], Meta: { tier: 'silver' } },
    [{ CheckID: 'db-b-warn', Name: 'lag', Status: 'warning', ServiceID: 'db-b' }], { rack: 'r2' });
  await register('n-c', '10.2.0.3', { ID: 'db-c', Service: 'db', Port: 5432, Tags: ['replica', 'v2'] },
    [{ CheckID: 'db-c-down', Name: 'down', Status: 'critical', ServiceID: 'db-c' }], { rack: 'r2' });
  await register('n-d', '10.2.0.4', { ID: 'db-d', Service: 'db', Port: 5432, Tags: ['replica', 'v2'] }, [], { rack: 'r1' });
  await register('n-a', '10.2.0.1', { ID: 'cache-a', Service: 'cache-eu', Port: 6379, Tags: ['eu'] }, [], { rack: 'r1' });
  await register('n-b', '10.2.0.2', { ID: 'cache-b', Service: 'cache-us', Port: 6379, Tags: ['us'] }, [], { rack: 'r2' });
  for (const [node, x] of [['n-a', 0.05], ['n-b', 0.01], ['n-d', 0.02], ['node-1', 0]] as const) await ok('PUT', '/v1/coordinate/update', { Node: node, Coord: coord(x) });
});
after(() => server?.close());

describe('prepared queries: CRUD', () => {
  test('create, get, list, update, delete; missing is 404 "Query not found"', async () => {
    const id = await create({ Name: 'db-any', Service: { Service: 'db' }, DNS: { TTL: '10s' } });
    assert.match(id, /^[0-9a-f-]{36}$/);
    const got = await ok('GET', `/v1/query/${id}`);
    const [q] = got.json as Array<Record<string, any>>;
    assert.equal(q!.ID, id);
    assert.equal(q!.Name, 'db-any');
    assert.equal(q!.Service.Service, 'db');
    assert.equal(q!.Service.OnlyPassing, false);
    assert.deepEqual(q!.DNS, { TTL: '10s' });
    assert.deepEqual(q!.Template, { Type: '', Regexp: '', RemoveEmptyTags: false });
    assert.ok(q!.CreateIndex > 0 && q!.ModifyIndex === q!.CreateIndex);
    assert.ok(Number(got.headers.get('x-consul-index')) >= q!.ModifyIndex);
    assert.ok(((await ok('GET', '/v1/query')).json as Array<{ ID: string }>).some((x) => x.ID === id));

    await ok('PUT', `/v1/query/${id}`, { Name: 'db-any', Service: { Service: 'db', OnlyPassing: true } });
    const [updated] = (await ok('GET', `/v1/query/${id}`)).json as Array<{ Service: { OnlyPassing: boolean }; ModifyIndex: number; CreateIndex: number }>;
    assert.equal(updated!.Service.OnlyPassing, true);
    assert.ok(updated!.ModifyIndex > updated!.CreateIndex);

    await ok('DELETE', `/v1/query/${id}`);
    const missing = await req('GET', `/v1/query/${id}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'Query not found');
    assert.equal((await req('GET', '/v1/query/nope/execute')).status, 404);
    assert.equal((await req('PUT', `/v1/query/${id}`, { Name: 'x', Service: { Service: 'db' } })).status, 400);
  });

  test('validation in Consul\'s words; names unique and never an ID', async () => {
    const anon = await req('POST', '/v1/query', { Service: { Service: 'db' } });
    assert.equal(anon.status, 400);
    assert.equal(anon.text, 'Invalid prepared query: Must be bound to a session');
    const noService = await req('POST', '/v1/query', { Name: 'x' });
    assert.equal(noService.text, 'Invalid prepared query: Must provide a Service name to query');
    const badTtl = await req('POST', '/v1/query', { Name: 'x', Service: { Service: 'db' }, DNS: { TTL: 'soon' } });
    assert.equal(badTtl.status, 400);
    assert.match(badTtl.text, /^Invalid prepared query: Bad DNS TTL 'soon'/);
    const withId = await req('POST', '/v1/query', { ID: 'abc', Name: 'x', Service: { Service: 'db' } });
    assert.equal(withId.text, 'ID must be empty when creating a new prepared query');
    const id = await create({ Name: 'Unique-Name', Service: { Service: 'db' } });
    const dup = await req('POST', '/v1/query', { Name: 'unique-name', Service: { Service: 'db' } });
    assert.equal(dup.status, 400);
    assert.equal(dup.text, "name 'unique-name' aliases an existing query name");
    const alias = await req('POST', '/v1/query', { Name: id, Service: { Service: 'db' } });
    assert.equal(alias.text, `name '${id}' aliases an existing query id`);
    const badType = await req('POST', '/v1/query', { Name: 't', Template: { Type: 'other' }, Service: { Service: 'db' } });
    assert.equal(badType.text, "Bad Template.Type 'other'");
    const badVar = await req('POST', '/v1/query', { Name: 't', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.nope}' } });
    assert.equal(badVar.status, 400);
    assert.match(badVar.text, /unknown variable accessed: name\.nope/);
    const regexp = await req('POST', '/v1/query', { Name: 't', Template: { Type: 'name_prefix_match', Regexp: '^t-(\\1)$' }, Service: { Service: '${match(1)}' } });
    assert.equal(regexp.status, 400);
    assert.match(regexp.text, /^Bad Regexp: error parsing regexp: /, 'Go refuses backreferences');
    const badSession = await req('POST', '/v1/query', { Session: 'no-such-session', Service: { Service: 'db' } });
    assert.equal(badSession.text, 'invalid session "no-such-session"');
  });

  test('a query bound to a session goes with it; list blocks until a query changes', async () => {
    const { ID: session } = (await ok('PUT', '/v1/session/create', { Name: 's', LockDelay: '0s' })).json as { ID: string };
    const id = await create({ Session: session, Service: { Service: 'db' } });
    const list = await ok('GET', '/v1/query');
    const index = Number(list.headers.get('x-consul-index'));
    const blocked = req('GET', `/v1/query?index=${index}&wait=20s`);
    await new Promise((r) => setTimeout(r, 100));
    await ok('PUT', `/v1/session/destroy/${session}`);
    const woken = await blocked;
    assert.ok(!(woken.json as Array<{ ID: string }>).some((q) => q.ID === id), 'the bound query is gone with its session');
    assert.equal((await req('GET', `/v1/query/${id}`)).status, 404);
  });
});

describe('prepared queries: execute', () => {
  test('healthy instances only; OnlyPassing drops warnings; IgnoreCheckIDs; one DC means Failovers 0', async () => {
    await create({ Name: 'db', Service: { Service: 'db', Failover: { NearestN: 3, Datacenters: ['dc2'] } } });
    const all = await execute('db');
    assert.deepEqual(ids(all), ['db-a', 'db-b', 'db-d']);
    assert.equal(all.Service, 'db');
    assert.equal(all.Datacenter, 'dc1');
    assert.equal(all.Failovers, 0);
    await create({ Name: 'db-passing', Service: { Service: 'db', OnlyPassing: true } });
    assert.deepEqual(ids(await execute('db-passing')), ['db-a', 'db-d']);
    await create({ Name: 'db-ignore', Service: { Service: 'db', OnlyPassing: true, IgnoreCheckIDs: ['db-b-warn', 'db-c-down'] } });
    assert.deepEqual(ids(await execute('db-ignore')), ['db-a', 'db-b', 'db-c', 'db-d']);
    await create({ Name: 'nothing', Service: { Service: 'no-such-service', Failover: { NearestN: 2 } } });
    const none = await execute('nothing');
    assert.deepEqual(none.Nodes, []);
    assert.equal(none.Failovers, 0);
  });

  test('Tags (required and !excluded, case-insensitive), NodeMeta, ServiceMeta, ?limit', async () => {
    await create({ Name: 'db-replica-v1', Service: { Service: 'db', Tags: ['REPLICA', '!v2'] } });
    assert.deepEqual(ids(await execute('db-replica-v1')), ['db-b']);
    await create({ Name: 'db-rack1', Service: { Service: 'db', NodeMeta: { rack: 'r1' } } });
    assert.deepEqual(ids(await execute('db-rack1')), ['db-a', 'db-d']);
    await create({ Name: 'db-gold', Service: { Service: 'db', ServiceMeta: { tier: 'gold' } } });
    assert.deepEqual(ids(await execute('db-gold')), ['db-a']);
    assert.equal((await execute('db', '?limit=2')).Nodes.length, 2);
    assert.equal((await req('GET', '/v1/query/db/execute?limit=two')).status, 400);
  });

  test('Near sorts by coordinate distance, the source node first; ?near overrides; _agent is this agent', async () => {
    await create({ Name: 'db-near-b', Service: { Service: 'db', Near: 'n-b' } });
    for (let i = 0; i < 5; i++) {
      // From n-b (x = 0.01): n-b itself, n-d (0.02), n-a (0.05); the order is stable across shuffles.
      assert.deepEqual((await execute('db-near-b')).Nodes.map((n) => n.Node.Node), ['n-b', 'n-d', 'n-a']);
    }
    assert.deepEqual((await execute('db-near-b', '?near=n-a')).Nodes.map((n) => n.Node.Node), ['n-a', 'n-d', 'n-b']);
    await create({ Name: 'db-near-agent', Service: { Service: 'db', Near: '_agent' } });
    assert.deepEqual((await execute('db-near-agent')).Nodes.map((n) => n.Node.Node), ['n-b', 'n-d', 'n-a'], 'node-1 is at the origin');
  });

  test('name_prefix_match templates: interpolation, longest prefix, catch-all, explain', async () => {
    const id = await create({ Name: 'cache-', Template: { Type: 'name_prefix_match', RemoveEmptyTags: true }, Service: { Service: '${name.full}', Tags: ['${name.suffix}', ''] } });
    const eu = await execute('cache-eu');
    assert.equal(eu.Service, 'cache-eu');
    assert.deepEqual(ids(eu), ['cache-a']);
    assert.deepEqual(ids(await execute('cache-us')), ['cache-b']);
    const explained = (await ok('GET', '/v1/query/cache-us/explain')).json as { Query: { ID: string; Service: { Service: string; Tags: string[] } } };
    assert.equal(explained.Query.ID, id);
    assert.equal(explained.Query.Service.Service, 'cache-us');
    assert.deepEqual(explained.Query.Service.Tags, ['us'], 'RemoveEmptyTags drops the empty tag');
    await create({ Name: 'cache-e', Template: { Type: 'name_prefix_match' }, Service: { Service: 'db', Tags: ['${name.prefix}'] } });
    assert.equal(((await ok('GET', '/v1/query/cache-eu/explain')).json as { Query: { Name: string } }).Query.Name, 'cache-e', 'the longest prefix wins');
    assert.equal((await req('GET', '/v1/query/zzz/execute')).status, 404, 'no catch-all yet');
    await create({ Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: '${name.full}' } });
    assert.deepEqual(ids(await execute('db')), ['db-a', 'db-b', 'db-d'], 'an exact name beats the catch-all');
    assert.equal((await execute('zzz')).Service, 'zzz', 'the catch-all matches any name');
    const second = await req('POST', '/v1/query', { Name: '', Template: { Type: 'name_prefix_match' }, Service: { Service: 'x' } });
    assert.equal(second.text, 'a query template with an empty name already exists');
  });

  test('regexp templates: ${match(N)} is the Nth submatch of Template.Regexp against the full name (Go RE2)', async () => {
    await create({
      Name: 'geo-', Template: { Type: 'name_prefix_match', Regexp: '^geo-(?P<svc>[a-z]+)-(eu|us)$' },
      Service: { Service: '${match(1)}-${match(2)}', Tags: ['${match(2)}', '${match(7)}'], ServiceMeta: null, NodeMeta: { seen: '${match(7)}x' } },
    });
    const explained = (await ok('GET', '/v1/query/geo-cache-eu/explain')).json as { Query: { Service: { Service: string; Tags: string[]; NodeMeta: unknown } } };
    assert.equal(explained.Query.Service.Service, 'cache-eu');
    assert.deepEqual(explained.Query.Service.Tags, ['eu', ''], 'an out-of-range match is ""');
    assert.deepEqual(explained.Query.Service.NodeMeta, { seen: 'x' });
    await create({ Name: 'geo2-', Template: { Type: 'name_prefix_match', Regexp: '^geo2-([a-z]+)-(eu|us)$' }, Service: { Service: '${match(1)}-${match(2)}' } });
    const hit = await execute('geo2-cache-us');
    assert.equal(hit.Service, 'cache-us');
    assert.deepEqual(ids(hit), ['cache-b']);
    const miss = await execute('geo2-nowhere');
    assert.equal(miss.Service, '-', 'no match: every match(N) is ""');
    assert.deepEqual(miss.Nodes, []);
  });
});

describe('prepared queries: DNS', () => {
  const dig = async (name: string, type: string): Promise<{ status: string; records: string[][] }> => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(dnsPort), '+time=2', '+tries=1', name, type]);
    const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'none';
    const answer = stdout.split(';; ANSWER SECTION:')[1]?.split('\n\n')[0] ?? '';
    const records = answer.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));
    return { status, records };
  };

  test('<query>.query.consul answers A and SRV from the query\'s healthy instances, with its TTL', async () => {
    await create({ Name: 'dns-db', Service: { Service: 'db', OnlyPassing: true }, DNS: { TTL: '7s' } });
    const a = await dig('dns-db.query.consul', 'A');
    assert.equal(a.status, 'NOERROR');
    assert.deepEqual(a.records.map((r) => r[4]).sort(), ['10.2.0.1', '10.2.0.4']);
    assert.ok(a.records.every((r) => r[1] === '7'), 'the query\'s DNS TTL');
    const srv = await dig('dns-db.query.dc1.consul', 'SRV');
    assert.deepEqual(srv.records.map((r) => `${r[6]} ${r[7]}`).sort(), ['5432 n-a.node.dc1.consul.', '5432 n-d.node.dc1.consul.']);
    assert.equal((await dig('no-such-query.query.consul', 'A')).status, 'NXDOMAIN');
    assert.equal((await dig('dns-db.query.dc9.consul', 'A')).status, 'NXDOMAIN');
  });
});
