/**
 * ACL enforcement on every door of `meshgate server`, with the real ACL system (tokens and policies created through
 * /v1/acl/policy and /v1/acl/token) and `acl.default_policy = "deny"`:
 *
 * - the route walk: every route of the HTTP API's route table must have a row below — ACL-free (Consul asks no
 *   permission: /v1/status/*, the datacenters lists, the CA roots, the agent's version), denied to the anonymous
 *   token with Consul's 403 text, or filtered (an anonymous caller gets an empty answer where the management
 *   token sees data). A route added without a row fails the walk;
 * - list filtering reports X-Consul-Results-Filtered-By-ACLs to a token-carrying caller and not to a token-less one
 *   (agent/consul/rpc.go maskResultsFilteredByACLs);
 * - a token deleted while its blocking KV or health query waits ends that request with 403 "ACL not found";
 * - tokens are read from `?token=`, `X-Consul-Token` and `Authorization: Bearer`, in Consul's order
 *   (agent/http.go parseTokenInternal);
 * - the npm `consul` client with a scoped token does what its policy allows and gets 403 for the rest.
 *
 * Everything runs on SQLite and on etcd. The expected permissions per endpoint are Consul's, read from its source
 * (named in each endpoint module's header); see src/server/acl/enforce.ts.
 */
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import Consul from 'consul';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { ApiRouter } from '../../src/server/http/router.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer, StoreChoice } from '../../src/server/options.ts';
import { UNSUPPORTED_ROUTES } from '../../src/server/endpoints/unsupported.ts';
import { startEtcd, type EtcdProcess } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { freePort } from '../helpers/server.ts';

endLingeringProcessAfterSuite();

const run = promisify(execFile);

interface Reply { status: number; text: string; json: any; headers: Headers }

const MANAGEMENT = randomUUID();

async function call(base: string, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['X-Consul-Token'] = options.token;
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** Creates a policy from HCL rules and a token holding it; answers the token's SecretID and AccessorID. */
async function tokenWith(base: string, rules: string, secret?: string): Promise<{ secret: string; accessor: string; policy: string }> {
  const policy = await call(base, 'PUT', '/v1/acl/policy', { token: MANAGEMENT, body: { Name: `p-${randomUUID().slice(0, 8)}`, Rules: rules } });
  assert.equal(policy.status, 200, policy.text);
  const token = await call(base, 'PUT', '/v1/acl/token', {
    token: MANAGEMENT, body: { Policies: [{ ID: policy.json.ID }], ...(secret ? { SecretID: secret } : {}) },
  });
  assert.equal(token.status, 200, token.text);
  return { secret: token.json.SecretID, accessor: token.json.AccessorID, policy: policy.json.ID };
}

/** What the route walk expects of one route, with the concrete request that exercises it. */
type Expect =
  | { kind: 'free'; path: string; why: string }
  | { kind: 'deny'; path: string; body?: unknown; method?: string }
  /** A transaction refuses per operation: 409 with Consul's 403 text as the operation's error. */
  | { kind: 'deny-txn'; path: string; body: unknown }
  /** Anonymous gets nothing (size 0 or 404) where the management token gets something. */
  | { kind: 'filtered'; path: string }
  /** Refused before any token is read (input validation), so there is nothing to guard. */
  | { kind: 'no-data'; path: string; why: string };

const free = (path: string, why: string): Expect => ({ kind: 'free', path, why });
const deny = (path: string, body?: unknown): Expect => ({ kind: 'deny', path, ...(body !== undefined ? { body } : {}) });
const filtered = (path: string): Expect => ({ kind: 'filtered', path });

const COORD = { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 };

/** Keyed by `METHOD pattern` as the router registers them. `$session`, `$intention`, `$query` are fixture IDs. */
const TABLE: Record<string, Expect> = {
  'GET /v1/status/leader': free('/v1/status/leader', 'Consul\'s Status endpoint takes no token'),
  'GET /v1/status/peers': free('/v1/status/peers', 'Consul\'s Status endpoint takes no token'),
  'GET /v1/catalog/datacenters': free('/v1/catalog/datacenters', 'Catalog.ListDatacenters asks no permission'),
  'GET /v1/coordinate/datacenters': free('/v1/coordinate/datacenters', 'Coordinate.ListDatacenters asks no permission'),
  'GET /v1/agent/version': free('/v1/agent/version', 'AgentVersion reads no token'),
  'GET /v1/connect/ca/roots': free('/v1/connect/ca/roots', 'the CA roots are public (ConnectCA.Roots)'),
  'GET /v1/agent/connect/ca/roots': free('/v1/agent/connect/ca/roots', 'the CA roots are public (AgentConnectCARoots)'),
  'GET /': free('/', 'the redirect to the UI; Consul\'s Index handler reads no token'),
  'GET /ui': free('/ui', 'the UI\'s static files: Consul serves them without a token, the data comes through the API'),
  'GET /ui/*path': free('/ui/index.html', 'the UI\'s static files: Consul serves them without a token, the data comes through the API'),
  'PUT /v1/session/destroy/': { kind: 'no-data', path: '/v1/session/destroy/', why: 'answers 400 "Missing session" before a token is read' },

  'PUT /v1/catalog/register': deny('/v1/catalog/register', { Node: 'intruder', Address: '10.9.9.9' }),
  'PUT /v1/catalog/deregister': deny('/v1/catalog/deregister', { Node: 'ext-1' }),
  'GET /v1/catalog/nodes': filtered('/v1/catalog/nodes'),
  'GET /v1/catalog/services': filtered('/v1/catalog/services'),
  'GET /v1/catalog/service/:service': filtered('/v1/catalog/service/web'),
  'GET /v1/catalog/node/:node': filtered('/v1/catalog/node/ext-1'),
  'GET /v1/catalog/node-services/:node': filtered('/v1/catalog/node-services/ext-1'),
  'GET /v1/catalog/connect/:service': filtered('/v1/catalog/connect/web'),
  'GET /v1/health/node/:node': filtered('/v1/health/node/ext-1'),
  'GET /v1/health/checks/:service': filtered('/v1/health/checks/web'),
  'GET /v1/health/state/:state': filtered('/v1/health/state/any'),
  'GET /v1/health/service/:service': filtered('/v1/health/service/web'),
  'GET /v1/health/connect/:service': filtered('/v1/health/connect/web'),

  'GET /v1/agent/self': deny('/v1/agent/self'),
  'GET /v1/agent/members': filtered('/v1/agent/members'),
  'GET /v1/agent/services': filtered('/v1/agent/services'),
  'GET /v1/agent/service/:id': deny('/v1/agent/service/agent-web'),
  'PUT /v1/agent/service/register': deny('/v1/agent/service/register', { Name: 'intruder' }),
  'PUT /v1/agent/service/deregister/:id': deny('/v1/agent/service/deregister/agent-web'),
  'PUT /v1/agent/service/maintenance/:id': deny('/v1/agent/service/maintenance/agent-web?enable=true'),
  'PUT /v1/agent/maintenance': deny('/v1/agent/maintenance?enable=true'),
  'GET /v1/agent/checks': filtered('/v1/agent/checks'),
  'PUT /v1/agent/check/register': deny('/v1/agent/check/register', { Name: 'intruder', TTL: '10s' }),
  'PUT /v1/agent/check/deregister/:id': deny('/v1/agent/check/deregister/agent-ttl'),
  'PUT /v1/agent/check/pass/:id': deny('/v1/agent/check/pass/agent-ttl'),
  'PUT /v1/agent/check/warn/:id': deny('/v1/agent/check/warn/agent-ttl'),
  'PUT /v1/agent/check/fail/:id': deny('/v1/agent/check/fail/agent-ttl'),
  'PUT /v1/agent/check/update/:id': deny('/v1/agent/check/update/agent-ttl', { Status: 'passing' }),
  'GET /v1/agent/health/service/id/:id': deny('/v1/agent/health/service/id/agent-web'),
  'GET /v1/agent/health/service/name/:name': deny('/v1/agent/health/service/name/agent-web'),
  'GET /v1/agent/metrics': deny('/v1/agent/metrics'),
  'GET /v1/agent/host': deny('/v1/agent/host'),
  'PUT /v1/agent/reload': deny('/v1/agent/reload'),
  'PUT /v1/agent/leave': deny('/v1/agent/leave'),
  'PUT /v1/agent/join/*address': deny('/v1/agent/join/127.0.0.1'),
  'PUT /v1/agent/force-leave/*node': deny('/v1/agent/force-leave/ghost'),
  'GET /v1/agent/monitor': deny('/v1/agent/monitor'),
  'GET /v1/agent/connect/ca/leaf/:service': deny('/v1/agent/connect/ca/leaf/web'),
  'POST /v1/agent/connect/authorize': {
    kind: 'deny', method: 'POST', path: '/v1/agent/connect/authorize',
    body: { Target: 'db', ClientCertURI: 'spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web' },
  },

  'GET /v1/kv/*key': deny('/v1/kv/app/config'),
  'PUT /v1/kv/*key': deny('/v1/kv/app/intruder', 'x'),
  'DELETE /v1/kv/*key': deny('/v1/kv/app/config'),
  'PUT /v1/txn': { kind: 'deny-txn', path: '/v1/txn', body: [{ KV: { Verb: 'set', Key: 'app/intruder', Value: 'eA==' } }] },

  'PUT /v1/session/create': deny('/v1/session/create', {}),
  'PUT /v1/session/destroy/:id': deny('/v1/session/destroy/$session'),
  'PUT /v1/session/renew/:id': deny('/v1/session/renew/$session'),
  'GET /v1/session/info/:id': filtered('/v1/session/info/$session'),
  'GET /v1/session/list': filtered('/v1/session/list'),
  'GET /v1/session/node/:node': filtered('/v1/session/node/node-1'),

  'GET /v1/snapshot': deny('/v1/snapshot'),
  'PUT /v1/snapshot': deny('/v1/snapshot', 'not a snapshot'),

  'GET /v1/config/:kind': filtered('/v1/config/service-defaults'),
  'GET /v1/config/:kind/:name': deny('/v1/config/service-defaults/web'),
  'DELETE /v1/config/:kind/:name': deny('/v1/config/service-defaults/web'),
  'PUT /v1/config': deny('/v1/config', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }),
  'PUT /v1/config/:kind/:name': deny('/v1/config/service-defaults/web', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }),
  'GET /v1/discovery-chain/:service': deny('/v1/discovery-chain/web'),
  'POST /v1/discovery-chain/:service': { kind: 'deny', method: 'POST', path: '/v1/discovery-chain/web' },

  'GET /v1/connect/ca/configuration': deny('/v1/connect/ca/configuration'),
  'PUT /v1/connect/ca/configuration': deny('/v1/connect/ca/configuration', { Provider: 'consul', Config: {} }),
  'GET /v1/connect/intentions': filtered('/v1/connect/intentions'),
  'POST /v1/connect/intentions': { kind: 'deny', method: 'POST', path: '/v1/connect/intentions', body: { SourceName: 'a', DestinationName: 'b', Action: 'allow' } },
  'GET /v1/connect/intentions/match': deny('/v1/connect/intentions/match?by=destination&name=db'),
  'GET /v1/connect/intentions/check': deny('/v1/connect/intentions/check?source=web&destination=db'),
  'GET /v1/connect/intentions/exact': deny('/v1/connect/intentions/exact?source=web&destination=db'),
  'PUT /v1/connect/intentions/exact': deny('/v1/connect/intentions/exact?source=x&destination=y', { Action: 'allow' }),
  'DELETE /v1/connect/intentions/exact': deny('/v1/connect/intentions/exact?source=web&destination=db'),
  'GET /v1/connect/intentions/:id': deny('/v1/connect/intentions/$intention'),
  'PUT /v1/connect/intentions/:id': deny('/v1/connect/intentions/$intention', { SourceName: 'web', DestinationName: 'db', Action: 'deny' }),
  'DELETE /v1/connect/intentions/:id': deny('/v1/connect/intentions/$intention'),

  'GET /v1/coordinate/nodes': filtered('/v1/coordinate/nodes'),
  'GET /v1/coordinate/node/*node': filtered('/v1/coordinate/node/ext-1'),
  'PUT /v1/coordinate/update': deny('/v1/coordinate/update', { Node: 'ext-1', Coord: COORD }),

  'PUT /v1/event/fire/*name': deny('/v1/event/fire/deploy'),
  'GET /v1/event/list': filtered('/v1/event/list'),

  'GET /v1/operator/raft/configuration': deny('/v1/operator/raft/configuration'),
  'GET /v1/operator/autopilot/health': deny('/v1/operator/autopilot/health'),
  'GET /v1/operator/autopilot/state': deny('/v1/operator/autopilot/state'),
  'GET /v1/operator/autopilot/configuration': deny('/v1/operator/autopilot/configuration'),
  'PUT /v1/operator/autopilot/configuration': deny('/v1/operator/autopilot/configuration', {}),
  'GET /v1/operator/usage': deny('/v1/operator/usage'),

  'POST /v1/query': { kind: 'deny', method: 'POST', path: '/v1/query', body: { Name: 'intruder-q', Service: { Service: 'web' } } },
  'GET /v1/query': filtered('/v1/query'),
  'GET /v1/query/:id': deny('/v1/query/$query'),
  'PUT /v1/query/:id': deny('/v1/query/$query', { Name: 'web-q', Service: { Service: 'web' } }),
  'DELETE /v1/query/:id': deny('/v1/query/$query'),
  'GET /v1/query/:id/execute': filtered('/v1/query/$query/execute'),
  'GET /v1/query/:id/explain': deny('/v1/query/$query/explain'),
};

/** How much an answer holds: entries of a list or map, a node's services, an executed query's nodes. */
function size(reply: Reply): number {
  if (reply.status === 404) return 0;
  const body = reply.json;
  if (body === null || body === undefined) return 0;
  if (Array.isArray(body)) return body.length;
  if (typeof body === 'object' && 'Nodes' in body && Array.isArray(body.Nodes)) return body.Nodes.length;
  if (typeof body === 'object' && 'Node' in body && 'Services' in body) {
    const services = body.Services;
    return (body.Node ? 1 : 0) + (Array.isArray(services) ? services.length : Object.keys(services ?? {}).length);
  }
  return Object.keys(body).length;
}

for (const backend of ['sqlite', 'etcd'] as const) {
  describe(`ACL enforcement with default deny on ${backend}`, () => {
    let etcd: EtcdProcess | undefined;
    let server: RunningServer;
    let base = '';
    let routes: Array<{ method: string; pattern: string }> = [];
    const ids: Record<string, string> = {};

    const as = (token: string | undefined) => (method: string, path: string, body?: unknown) =>
      call(base, method, path.replace(/\$(\w+)/g, (_m, k: string) => ids[k] ?? k), { ...(token !== undefined ? { token } : {}), ...(body !== undefined ? { body } : {}) });
    const admin = as(MANAGEMENT);
    const anonymous = as(undefined);

    before(async () => {
      let store: StoreChoice | undefined;
      if (backend === 'etcd') {
        etcd = await startEtcd();
        store = { backend: 'etcd', endpoints: [etcd.url], prefix: `/meshgate-aclenf-${randomUUID()}` };
      }
      server = await startServer({
        dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', logLevel: 'silent',
        ...(store ? { store } : {}),
        acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: MANAGEMENT } },
      }, undefined, { inspectRouter: (router: ApiRouter) => (routes = router.routeTable()) });
      base = server.url;
      // Fixtures the management token can see and the anonymous token must not.
      const ok = async (r: Promise<Reply>): Promise<Reply> => {
        const reply = await r;
        assert.ok(reply.status < 300, `fixture: ${reply.status} ${reply.text}`);
        return reply;
      };
      await ok(admin('PUT', '/v1/kv/app/config', 'v1'));
      await ok(admin('PUT', '/v1/kv/other/secret', 's'));
      await ok(admin('PUT', '/v1/catalog/register', {
        Node: 'ext-1', Address: '10.0.0.1',
        Service: { ID: 'web-1', Service: 'web', Port: 80 },
        Check: { CheckID: 'web-1-alive', Name: 'alive', Status: 'passing', ServiceID: 'web-1' },
      }));
      await ok(admin('PUT', '/v1/catalog/register', {
        Node: 'ext-1', Address: '10.0.0.1',
        Service: { ID: 'web-proxy-1', Service: 'web-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web' } },
      }));
      await ok(admin('PUT', '/v1/catalog/register', { Node: 'ext-2', Address: '10.0.0.2', Service: { ID: 'db-1', Service: 'db', Port: 5432 } }));
      await ok(admin('PUT', '/v1/coordinate/update', { Node: 'ext-1', Coord: COORD }));
      await ok(admin('PUT', '/v1/agent/service/register', { Name: 'agent-web', Check: { CheckID: 'agent-ttl', TTL: '1h' } }));
      ids.session = (await ok(admin('PUT', '/v1/session/create', { Name: 'fixture', TTL: '1h' }))).json.ID;
      await ok(admin('PUT', '/v1/event/fire/deploy', 'payload'));
      await ok(admin('PUT', '/v1/config', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }));
      await ok(admin('PUT', '/v1/connect/intentions/exact?source=web&destination=db', { Action: 'allow' }));
      // A legacy-created intention has an ID (ones written through `exact` do not, as in Consul 1.9+).
      ids.intention = (await ok(admin('POST', '/v1/connect/intentions', { SourceName: 'api', DestinationName: 'cache', Action: 'deny' }))).json.ID;
      ids.query = (await ok(admin('POST', '/v1/query', { Name: 'web-q', Service: { Service: 'web' } }))).json.ID;
      await waitFor(async () => (await admin('GET', '/v1/coordinate/nodes')).json?.length > 0, 'the coordinate fixture to be visible');
    });

    after(async () => {
      await server?.close();
      await etcd?.stop();
    });

    test('every route of the route table is classified, and default deny keeps the anonymous token out of each', async () => {
      const unsupported = new Set(UNSUPPORTED_ROUTES.map(([m, p]) => `${m} ${p}`));
      const seen = new Set<string>();
      const unclassified: string[] = [];
      let checked = 0;
      for (const { method, pattern } of routes) {
        const key = `${method} ${pattern}`;
        if (seen.has(key)) continue; // the router serves the first registration
        seen.add(key);
        const row = TABLE[key];
        if (!row) {
          // The ACL system's own endpoints are guarded (and tested) in endpoints/acl.ts and test/server/acl.test.ts;
          // the routes answered on purpose as not supported (501, or 401 "ACL support disabled") serve no data.
          if (pattern.startsWith('/v1/acl/') || unsupported.has(key)) continue;
          unclassified.push(key);
          continue;
        }
        checked++;
        const what = `${key} (${row.path})`;
        const m = row.kind === 'deny' && row.method ? row.method : method;
        const body = 'body' in row ? row.body : undefined;
        const reply = await anonymous(m, row.path, body);
        switch (row.kind) {
          case 'free':
            assert.notEqual(reply.status, 403, `${what} is ACL-free (${row.why}) but answered 403: ${reply.text}`);
            break;
          case 'no-data':
            assert.equal(reply.status, 400, `${what}: ${row.why}; got ${reply.status} ${reply.text}`);
            break;
          case 'deny':
            assert.equal(reply.status, 403, `${what} must deny the anonymous token, got ${reply.status}: ${reply.text.slice(0, 200)}`);
            // acl/errors.go PermissionDeniedError for the anonymous token.
            assert.match(reply.text, /^Permission denied: anonymous token lacks permission '[a-z]+:(read|write|list)'/, what);
            break;
          case 'deny-txn':
            assert.equal(reply.status, 409, `${what}: ${reply.text}`);
            assert.match(reply.json.Errors[0].What, /^Permission denied: anonymous token lacks permission 'key:write'/, what);
            break;
          case 'filtered': {
            const seenByAdmin = await admin(m, row.path);
            assert.ok(size(seenByAdmin) > 0, `${what}: the management token should see the fixture, got ${seenByAdmin.status} ${seenByAdmin.text.slice(0, 200)}`);
            assert.notEqual(reply.status, 403, `${what} filters rather than denies: ${reply.text}`);
            assert.equal(size(reply), 0, `${what} must show the anonymous token nothing, got ${reply.text.slice(0, 300)}`);
            break;
          }
        }
      }
      assert.deepEqual(unclassified, [], 'routes without an ACL row in test/server/acl-enforcement.test.ts');
      assert.ok(checked >= Object.keys(TABLE).length, `every row was exercised (${checked} of ${Object.keys(TABLE).length})`);
      // Nothing the anonymous token tried went through.
      assert.equal((await admin('GET', '/v1/kv/app/intruder')).status, 404);
      assert.equal((await admin('GET', '/v1/catalog/node/intruder')).json, null);
      assert.equal((await admin('GET', '/v1/kv/app/config')).status, 200);
    });

    test('lists are filtered by read permission and say so with X-Consul-Results-Filtered-By-ACLs', async () => {
      const reader = await tokenWith(base, 'key_prefix "app/" { policy = "read" }\nservice "web" { policy = "read" }\nnode_prefix "" { policy = "read" }');
      const as2 = as(reader.secret);
      const kv = await as2('GET', '/v1/kv/?recurse');
      assert.equal(kv.status, 200, kv.text);
      assert.deepEqual(kv.json.map((e: { Key: string }) => e.Key), ['app/config']);
      assert.equal(kv.headers.get('x-consul-results-filtered-by-acls'), 'true');
      const keys = await as2('GET', '/v1/kv/?keys');
      assert.deepEqual(keys.json, ['app/config']);
      assert.equal(keys.headers.get('x-consul-results-filtered-by-acls'), 'true');
      // Only what the token may read of its own prefix: nothing hidden, no header.
      const own = await as2('GET', '/v1/kv/app/?recurse');
      assert.equal(own.headers.get('x-consul-results-filtered-by-acls'), null);
      const services = await as2('GET', '/v1/catalog/services');
      assert.deepEqual(Object.keys(services.json), ['web']);
      assert.equal(services.headers.get('x-consul-results-filtered-by-acls'), 'true');
      const health = await as2('GET', '/v1/health/service/web');
      assert.equal(health.json.length, 1);
      assert.equal(health.headers.get('x-consul-results-filtered-by-acls'), null);
      // A request with no token gets the empty answer without the header (maskResultsFilteredByACLs).
      const anon = await anonymous('GET', '/v1/catalog/services');
      assert.deepEqual(anon.json, {});
      assert.equal(anon.headers.get('x-consul-results-filtered-by-acls'), null);
      // A single key outside the token's rules is Consul's 403 naming the token and the permission.
      const denied = await as2('GET', '/v1/kv/other/secret');
      assert.equal(denied.status, 403);
      assert.equal(denied.text, `Permission denied: token with AccessorID '${reader.accessor}' lacks permission 'key:read' on "other/secret"`);
    });

    test('the token is read from ?token=, X-Consul-Token and Authorization: Bearer, ?token= first', async () => {
      const reader = await tokenWith(base, 'key_prefix "app/" { policy = "read" }');
      const get = (path: string, headers: Record<string, string>) => call(base, 'GET', path, { headers });
      assert.equal((await get('/v1/kv/app/config', { 'X-Consul-Token': reader.secret })).status, 200);
      assert.equal((await get('/v1/kv/app/config', { Authorization: `Bearer ${reader.secret}` })).status, 200);
      assert.equal((await get('/v1/kv/app/config', { Authorization: `bearer   ${reader.secret}` })).status, 200);
      assert.equal((await get(`/v1/kv/app/config?token=${reader.secret}`, {})).status, 200);
      // parseTokenInternal: the query parameter wins over the header, the header over Authorization.
      assert.equal((await get(`/v1/kv/app/config?token=${reader.secret}`, { 'X-Consul-Token': 'not-a-token' })).status, 200);
      assert.equal((await get('/v1/kv/app/config?token=not-a-token', { 'X-Consul-Token': reader.secret })).text, 'ACL not found');
      assert.equal((await get('/v1/kv/app/config', { 'X-Consul-Token': reader.secret, Authorization: 'Bearer not-a-token' })).status, 200);
      assert.equal((await get('/v1/kv/app/config', { 'X-Consul-Token': 'not-a-token', Authorization: `Bearer ${reader.secret}` })).status, 403);
      // Another scheme is no token at all: the anonymous token answers.
      assert.match((await get('/v1/kv/app/config', { Authorization: `Basic ${reader.secret}` })).text, /anonymous token/);
    });

    for (const family of ['kv', 'health'] as const) {
      test(`a token deleted while its blocking ${family} query waits ends that query with 403 at once`, async () => {
        const reader = await tokenWith(base, 'key_prefix "app/" { policy = "read" }\nservice_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }');
        const path = family === 'kv' ? '/v1/kv/app/config' : '/v1/health/service/web';
        const first = await call(base, 'GET', path, { token: reader.secret });
        assert.equal(first.status, 200, first.text);
        const index = Number(first.headers.get('x-consul-index'));
        const parkedBefore = await parked(base);
        const started = Date.now();
        let settled = false;
        const pending = call(base, 'GET', `${path}?index=${index}&wait=5m`, { token: reader.secret }).finally(() => (settled = true));
        await waitFor(async () => (await parked(base)) > parkedBefore, 'the blocking query to be parked');
        assert.equal(settled, false, 'the query should be waiting for a change');
        const removed = await call(base, 'DELETE', `/v1/acl/token/${reader.accessor}`, { token: MANAGEMENT });
        assert.equal(removed.status, 200, removed.text);
        const reply = await pending;
        assert.equal(reply.status, 403);
        assert.equal(reply.text, 'ACL not found');
        // Generous: proves the request did not sit out its 5 minute wait.
        assert.ok(Date.now() - started < 60_000, `answered after ${Date.now() - started} ms`);
      });
    }

    test('a denied blocking query is refused before it waits', async () => {
      const started = Date.now();
      const reply = await anonymous('GET', '/v1/kv/app/config?index=1000000&wait=5m');
      assert.equal(reply.status, 403);
      assert.ok(Date.now() - started < 60_000);
    });

    test('the npm consul client with a scoped token does what its policy allows and gets 403 for the rest', async () => {
      const scoped = await tokenWith(base, [
        'key_prefix "app/" { policy = "write" }',
        'service_prefix "" { policy = "read" }',
        'node_prefix "" { policy = "read" }',
        'session_prefix "" { policy = "write" }',
      ].join('\n'));
      const consul = new Consul({ host: '127.0.0.1', port: Number(new URL(base).port), defaults: { token: scoped.secret } });
      const forbidden = (err: any): boolean => {
        const status = err?.response?.statusCode ?? err?.statusCode;
        assert.equal(status, 403, `expected a 403, got ${status}: ${err?.message}`);
        return true;
      };
      // KV: its prefix, read and write; outside it, 403 both ways.
      assert.equal(await consul.kv.set('app/from-client', 'hello'), true);
      assert.equal((await consul.kv.get('app/from-client'))?.Value, 'hello');
      await assert.rejects(consul.kv.set('other/from-client', 'x'), forbidden);
      await assert.rejects(consul.kv.get('other/secret'), forbidden);
      // A recursive delete of everything needs key:write on the whole tree (KeyWritePrefixAllowed).
      await assert.rejects(consul.kv.del({ key: '', recurse: true }), forbidden);
      // Catalog: reading is allowed, registering a node needs node:write.
      assert.ok('web' in (await consul.catalog.service.list()));
      assert.equal((await consul.catalog.service.nodes('web')).length, 1);
      await assert.rejects(consul.catalog.register({ node: 'client-node', address: '10.1.1.1' }), forbidden);
      await assert.rejects(consul.agent.service.register({ name: 'client-svc' }), forbidden);
      // Sessions: session:write on the server's node.
      const session = await consul.session.create({ name: 'client-lock', ttl: '30s' });
      assert.ok(session.ID);
      assert.equal((await consul.session.info(session.ID))?.Name, 'client-lock');
      await consul.session.destroy(session.ID);
      // Events and the operator area are not in the policy.
      await assert.rejects(consul.event.fire('deploy', 'x'), forbidden);
    });
  });
}

/** The server's count of parked blocking queries (meshgate_blocking_queries_open), read as management. */
async function parked(base: string): Promise<number> {
  const text = (await call(base, 'GET', '/v1/agent/metrics?format=prometheus', { token: MANAGEMENT })).text;
  const m = /^meshgate_blocking_queries_open (\d+)$/m.exec(text);
  if (!m) throw new Error('meshgate_blocking_queries_open missing from the metrics');
  return Number(m[1]);
}

/**
 * DNS under default deny (agent/dns.go asks the catalog and health RPCs with the DNS token — acl.tokens.dns, else
 * the default token, else anonymous — and their ACL filters leave a name with nothing readable, which it answers
 * NXDOMAIN). Asked with Debian's `dig` over UDP on loopback, as test/server/dns.test.ts does.
 */
describe('DNS with default deny', () => {
  const DNS_SECRET = randomUUID();
  let server: RunningServer;
  let dnsPort = 0;

  const dig = async (name: string, type = 'A'): Promise<{ status: string; answers: string[] }> => {
    const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(dnsPort), '+time=2', '+tries=2', name, type]);
    const status = /status: (\w+)/.exec(stdout)?.[1] ?? 'none';
    const section = stdout.split(';; ANSWER SECTION:')[1]?.split('\n\n')[0] ?? '';
    return { status, answers: section.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/).at(-1)!) };
  };

  before(async () => {
    dnsPort = await freePort();
    server = await startServer({
      dev: true, httpAddr: '127.0.0.1:0', nodeName: 'node-1', datacenter: 'dc1', logLevel: 'silent', ports: { dns: dnsPort },
      acl: { enabled: true, defaultPolicy: 'deny', tokens: { initialManagement: MANAGEMENT, dns: DNS_SECRET } },
    });
    const reg = await call(server.url, 'PUT', '/v1/catalog/register', {
      token: MANAGEMENT,
      body: { Node: 'ext-1', Address: '10.0.0.1', Service: { ID: 'web-1', Service: 'web', Port: 80 } },
    });
    assert.equal(reg.status, 200, reg.text);
  });

  after(async () => {
    await server?.close();
  });

  test('the dns token without service and node rules gets NXDOMAIN; once its policy reads them, the records', async () => {
    const dnsToken = await tokenWith(server.url, 'key_prefix "" { policy = "read" }', DNS_SECRET);
    // The HTTP API agrees that the records exist.
    assert.equal((await call(server.url, 'GET', '/v1/health/service/web', { token: MANAGEMENT })).json.length, 1);
    assert.deepEqual(await dig('web.service.consul'), { status: 'NXDOMAIN', answers: [] });
    assert.deepEqual(await dig('ext-1.node.consul'), { status: 'NXDOMAIN', answers: [] });
    // service:read alone is not enough: the instance's node must be readable too (filterCheckServiceNodes).
    const policy = (rules: string) => call(server.url, 'PUT', `/v1/acl/policy/${dnsToken.policy}`, {
      token: MANAGEMENT, body: { ID: dnsToken.policy, Name: `dns-${dnsToken.policy.slice(0, 8)}`, Rules: rules },
    });
    assert.equal((await policy('service "web" { policy = "read" }')).status, 200);
    assert.deepEqual(await dig('web.service.consul'), { status: 'NXDOMAIN', answers: [] });
    assert.equal((await policy('service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }')).status, 200);
    assert.deepEqual(await dig('web.service.consul'), { status: 'NOERROR', answers: ['10.0.0.1'] });
    assert.deepEqual(await dig('ext-1.node.consul'), { status: 'NOERROR', answers: ['10.0.0.1'] });
  });
});
