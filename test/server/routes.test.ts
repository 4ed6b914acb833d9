/**
 * Every route of Consul's Go `api` package (community edition), in one table, with what Meshgate does with it:
 *
 * - `served`: called here with a request that is valid against the fixtures below; anything but 404, 405 or 501
 *   passes (a served route that stops being served fails this test);
 * - `refused`: a CE route Meshgate does not serve yet, answered on purpose (src/server/endpoints/unsupported.ts):
 *   ACL routes as a Consul agent with ACLs disabled (401 "ACL support disabled", agent/acl_endpoint.go
 *   aclDisabled), the others 501 with the route and the reason. When one becomes served, this test says so in a
 *   diagnostic: move its row to `served`;
 * - `enterprise`: a Consul Enterprise route; Consul CE does not register it and answers 404, and so does Meshgate.
 *
 * The list was collected from hashicorp/consul api/*.go — every `c.newRequest("METHOD", "/v1/...")` and the
 * `query`/`write`/`put`/`delete` helpers' paths (GET for query, PUT for write) in acl.go, agent.go, catalog.go,
 * config_entry.go, connect_ca.go, connect_intention.go, coordinate.go, discovery_chain.go, event.go,
 * exported_services.go, imported_services.go, health.go, internal.go, kv.go, namespace.go, operator_area.go,
 * operator_audit.go, operator_autopilot.go, operator_feature_gate.go, operator_keyring.go, operator_license.go,
 * operator_raft.go, operator_segment.go, operator_usage.go, operator_utilization.go, partition.go, peering.go,
 * prepared_query.go, session.go, snapshot.go, status.go, txn.go (debug.go's /debug/pprof routes are not /v1 and are
 * not served). Paths with a parameter are written with Consul's name for it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './catalog/helpers.ts';

type Status = 'served' | 'refused' | 'enterprise';
interface Row {
  method: string;
  route: string;
  status: Status;
  /** The concrete request (defaults to the route itself); `$query` etc. are replaced by fixture IDs. */
  path?: string;
  body?: unknown;
}

const served = (method: string, route: string, path?: string, body?: unknown): Row => ({ method, route, status: 'served', ...(path ? { path } : {}), ...(body !== undefined ? { body } : {}) });
const refused = (method: string, route: string, path?: string): Row => ({ method, route, status: 'refused', ...(path ? { path } : {}) });
const enterprise = (method: string, route: string, path?: string): Row => ({ method, route, status: 'enterprise', ...(path ? { path } : {}) });

const ROUTES: Row[] = [
  // acl.go — ACLs are not implemented yet: answered as Consul with ACLs disabled.
  refused('PUT', '/v1/acl/bootstrap'),
  refused('GET', '/v1/acl/replication'),
  refused('PUT', '/v1/acl/token'),
  refused('GET', '/v1/acl/token/self'),
  refused('GET', '/v1/acl/tokens'),
  refused('GET', '/v1/acl/token/:accessorID', '/v1/acl/token/abc'),
  refused('PUT', '/v1/acl/token/:accessorID', '/v1/acl/token/abc'),
  refused('DELETE', '/v1/acl/token/:accessorID', '/v1/acl/token/abc'),
  refused('PUT', '/v1/acl/token/:accessorID/clone', '/v1/acl/token/abc/clone'),
  refused('PUT', '/v1/acl/policy'),
  refused('GET', '/v1/acl/policies'),
  refused('GET', '/v1/acl/policy/:id', '/v1/acl/policy/abc'),
  refused('PUT', '/v1/acl/policy/:id', '/v1/acl/policy/abc'),
  refused('DELETE', '/v1/acl/policy/:id', '/v1/acl/policy/abc'),
  refused('GET', '/v1/acl/policy/name/:name', '/v1/acl/policy/name/global'),
  refused('POST', '/v1/acl/rules/translate'),
  refused('PUT', '/v1/acl/role'),
  refused('GET', '/v1/acl/roles'),
  refused('GET', '/v1/acl/role/:id', '/v1/acl/role/abc'),
  refused('PUT', '/v1/acl/role/:id', '/v1/acl/role/abc'),
  refused('DELETE', '/v1/acl/role/:id', '/v1/acl/role/abc'),
  refused('GET', '/v1/acl/role/name/:name', '/v1/acl/role/name/ops'),
  refused('PUT', '/v1/acl/auth-method'),
  refused('GET', '/v1/acl/auth-methods'),
  refused('GET', '/v1/acl/auth-method/:name', '/v1/acl/auth-method/k8s'),
  refused('PUT', '/v1/acl/auth-method/:name', '/v1/acl/auth-method/k8s'),
  refused('DELETE', '/v1/acl/auth-method/:name', '/v1/acl/auth-method/k8s'),
  refused('PUT', '/v1/acl/binding-rule'),
  refused('GET', '/v1/acl/binding-rules'),
  refused('GET', '/v1/acl/binding-rule/:id', '/v1/acl/binding-rule/abc'),
  refused('PUT', '/v1/acl/binding-rule/:id', '/v1/acl/binding-rule/abc'),
  refused('DELETE', '/v1/acl/binding-rule/:id', '/v1/acl/binding-rule/abc'),
  refused('POST', '/v1/acl/login'),
  refused('POST', '/v1/acl/logout'),
  refused('POST', '/v1/acl/oidc/auth-url'),
  refused('POST', '/v1/acl/oidc/callback'),
  refused('GET', '/v1/acl/templated-policies'),
  refused('GET', '/v1/acl/templated-policy/name/:name', '/v1/acl/templated-policy/name/builtin/service'),
  refused('POST', '/v1/acl/templated-policy/preview/:name', '/v1/acl/templated-policy/preview/builtin/service'),

  // agent.go
  served('GET', '/v1/agent/self'),
  served('GET', '/v1/agent/host'),
  served('GET', '/v1/agent/version'),
  served('GET', '/v1/agent/metrics'),
  refused('GET', '/v1/agent/metrics/stream'),
  served('PUT', '/v1/agent/reload'),
  served('GET', '/v1/agent/members'),
  served('GET', '/v1/agent/services'),
  served('GET', '/v1/agent/service/:serviceID', '/v1/agent/service/web-1'),
  served('GET', '/v1/agent/health/service/name/:service', '/v1/agent/health/service/name/web'),
  served('GET', '/v1/agent/health/service/id/:serviceID', '/v1/agent/health/service/id/web-1'),
  served('GET', '/v1/agent/checks'),
  served('PUT', '/v1/agent/service/register', undefined, { ID: 'web-2', Name: 'web', Port: 81 }),
  served('PUT', '/v1/agent/service/maintenance/:serviceID?enable=true', '/v1/agent/service/maintenance/web-2?enable=true'),
  served('PUT', '/v1/agent/service/deregister/:serviceID', '/v1/agent/service/deregister/web-2'),
  served('PUT', '/v1/agent/check/register', undefined, { ID: 'extra', Name: 'extra', TTL: '30s' }),
  served('PUT', '/v1/agent/check/pass/:checkID', '/v1/agent/check/pass/extra'),
  served('PUT', '/v1/agent/check/warn/:checkID', '/v1/agent/check/warn/extra'),
  served('PUT', '/v1/agent/check/fail/:checkID', '/v1/agent/check/fail/extra'),
  served('PUT', '/v1/agent/check/update/:checkID', '/v1/agent/check/update/extra', { Status: 'passing', Output: 'ok' }),
  served('PUT', '/v1/agent/check/deregister/:checkID', '/v1/agent/check/deregister/extra'),
  served('PUT', '/v1/agent/maintenance?enable=false', '/v1/agent/maintenance?enable=false'),
  served('PUT', '/v1/agent/join/:address', '/v1/agent/join/127.0.0.1'),
  served('PUT', '/v1/agent/leave'),
  served('PUT', '/v1/agent/force-leave/:node', '/v1/agent/force-leave/server-1'),
  served('POST', '/v1/agent/connect/authorize', undefined, { Target: 'web', ClientCertURI: 'spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/api' }),
  refused('GET', '/v1/agent/connect/ca/roots'),
  refused('GET', '/v1/agent/connect/ca/leaf/:service', '/v1/agent/connect/ca/leaf/web'),
  refused('PUT', '/v1/agent/token/:type', '/v1/agent/token/default'),

  // catalog.go
  served('GET', '/v1/catalog/datacenters'),
  served('GET', '/v1/catalog/nodes'),
  served('GET', '/v1/catalog/services'),
  served('GET', '/v1/catalog/service/:service', '/v1/catalog/service/web'),
  served('GET', '/v1/catalog/connect/:service', '/v1/catalog/connect/web'),
  served('GET', '/v1/catalog/node/:node', '/v1/catalog/node/server-1'),
  served('GET', '/v1/catalog/node-services/:node', '/v1/catalog/node-services/server-1'),
  refused('GET', '/v1/catalog/gateway-services/:gateway', '/v1/catalog/gateway-services/ingress'),
  served('PUT', '/v1/catalog/register', undefined, { Node: 'ext', Address: '10.0.0.9', Service: { Service: 'db', Port: 5432 } }),
  served('PUT', '/v1/catalog/deregister', undefined, { Node: 'ext', ServiceID: 'db' }),

  // config_entry.go
  served('PUT', '/v1/config', undefined, { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }),
  served('GET', '/v1/config/:kind/:name', '/v1/config/service-defaults/web'),
  served('GET', '/v1/config/:kind', '/v1/config/service-defaults'),
  served('DELETE', '/v1/config/:kind/:name', '/v1/config/service-defaults/web'),

  // connect_ca.go
  refused('GET', '/v1/connect/ca/roots'),
  refused('GET', '/v1/connect/ca/configuration'),
  refused('PUT', '/v1/connect/ca/configuration'),

  // connect_intention.go
  served('GET', '/v1/connect/intentions'),
  served('POST', '/v1/connect/intentions', undefined, { SourceName: 'api', DestinationName: 'web', Action: 'allow' }),
  served('GET', '/v1/connect/intentions/match', '/v1/connect/intentions/match?by=destination&name=web'),
  served('GET', '/v1/connect/intentions/check', '/v1/connect/intentions/check?source=api&destination=web'),
  served('GET', '/v1/connect/intentions/exact', '/v1/connect/intentions/exact?source=api&destination=web'),
  served('GET', '/v1/connect/intentions/:uuid', '/v1/connect/intentions/$intention'),
  served('PUT', '/v1/connect/intentions/:uuid', '/v1/connect/intentions/$intention', { SourceName: 'api', DestinationName: 'web', Action: 'deny' }),
  served('DELETE', '/v1/connect/intentions/:uuid', '/v1/connect/intentions/$intention'),
  served('PUT', '/v1/connect/intentions/exact', '/v1/connect/intentions/exact?source=api&destination=web', { SourceName: 'api', DestinationName: 'web', Action: 'allow' }),
  served('DELETE', '/v1/connect/intentions/exact', '/v1/connect/intentions/exact?source=api&destination=web'),

  // coordinate.go
  served('GET', '/v1/coordinate/datacenters'),
  served('GET', '/v1/coordinate/nodes'),
  served('GET', '/v1/coordinate/node/:node', '/v1/coordinate/node/server-1'),
  served('PUT', '/v1/coordinate/update', undefined, { Node: 'server-1', Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 } }),

  // discovery_chain.go
  served('GET', '/v1/discovery-chain/:service', '/v1/discovery-chain/web'),
  served('POST', '/v1/discovery-chain/:service', '/v1/discovery-chain/web', {}),

  // event.go
  served('PUT', '/v1/event/fire/:name', '/v1/event/fire/deploy', 'payload'),
  served('GET', '/v1/event/list'),

  // exported_services.go, imported_services.go (cluster peering)
  refused('GET', '/v1/exported-services'),
  refused('GET', '/v1/imported-services'),

  // health.go
  served('GET', '/v1/health/node/:node', '/v1/health/node/server-1'),
  served('GET', '/v1/health/checks/:service', '/v1/health/checks/web'),
  served('GET', '/v1/health/service/:service', '/v1/health/service/web'),
  served('GET', '/v1/health/connect/:service', '/v1/health/connect/web'),
  refused('GET', '/v1/health/ingress/:service', '/v1/health/ingress/web'),
  served('GET', '/v1/health/state/:state', '/v1/health/state/any'),

  // internal.go
  refused('PUT', '/v1/internal/service-virtual-ip'),

  // kv.go, txn.go
  served('GET', '/v1/kv/:key', '/v1/kv/routes/key'),
  served('GET', '/v1/kv/:prefix?keys', '/v1/kv/routes/?keys'),
  served('PUT', '/v1/kv/:key', '/v1/kv/routes/other', 'v'),
  served('DELETE', '/v1/kv/:key', '/v1/kv/routes/other'),
  served('PUT', '/v1/txn', undefined, [{ KV: { Verb: 'get', Key: 'routes/key' } }]),

  // namespace.go, partition.go — Consul Enterprise.
  enterprise('PUT', '/v1/namespace'),
  enterprise('PUT', '/v1/namespace/:name', '/v1/namespace/team'),
  enterprise('GET', '/v1/namespace/:name', '/v1/namespace/team'),
  enterprise('DELETE', '/v1/namespace/:name', '/v1/namespace/team'),
  enterprise('GET', '/v1/namespaces'),
  enterprise('PUT', '/v1/partition'),
  enterprise('PUT', '/v1/partition/:name', '/v1/partition/team'),
  enterprise('GET', '/v1/partition/:name', '/v1/partition/team'),
  enterprise('DELETE', '/v1/partition/:name', '/v1/partition/team'),
  enterprise('GET', '/v1/partitions'),

  // operator_*.go
  enterprise('POST', '/v1/operator/area'),
  enterprise('GET', '/v1/operator/area'),
  enterprise('GET', '/v1/operator/area/:id', '/v1/operator/area/abc'),
  enterprise('PUT', '/v1/operator/area/:id', '/v1/operator/area/abc'),
  enterprise('DELETE', '/v1/operator/area/:id', '/v1/operator/area/abc'),
  enterprise('PUT', '/v1/operator/area/:id/join', '/v1/operator/area/abc/join'),
  enterprise('GET', '/v1/operator/area/:id/members', '/v1/operator/area/abc/members'),
  enterprise('GET', '/v1/operator/audit-hash'),
  served('GET', '/v1/operator/autopilot/configuration'),
  served('PUT', '/v1/operator/autopilot/configuration', undefined, { CleanupDeadServers: true }),
  served('GET', '/v1/operator/autopilot/health'),
  served('GET', '/v1/operator/autopilot/state'),
  refused('GET', '/v1/operator/features'),
  refused('GET', '/v1/operator/feature/:name', '/v1/operator/feature/x'),
  refused('PUT', '/v1/operator/feature/:name', '/v1/operator/feature/x'),
  refused('GET', '/v1/operator/keyring'),
  refused('POST', '/v1/operator/keyring'),
  refused('PUT', '/v1/operator/keyring'),
  refused('DELETE', '/v1/operator/keyring'),
  enterprise('GET', '/v1/operator/license'),
  enterprise('PUT', '/v1/operator/license'),
  enterprise('DELETE', '/v1/operator/license'),
  served('GET', '/v1/operator/raft/configuration'),
  refused('DELETE', '/v1/operator/raft/peer', '/v1/operator/raft/peer?address=10.0.0.1:8300'),
  refused('POST', '/v1/operator/raft/transfer-leader'),
  enterprise('GET', '/v1/operator/segment'),
  served('GET', '/v1/operator/usage'),
  enterprise('PUT', '/v1/operator/utilization'),

  // peering.go
  refused('POST', '/v1/peering/token'),
  refused('POST', '/v1/peering/establish'),
  refused('GET', '/v1/peering/:name', '/v1/peering/other'),
  refused('DELETE', '/v1/peering/:name', '/v1/peering/other'),
  refused('GET', '/v1/peerings'),

  // prepared_query.go (plus /explain, which the api package does not call)
  served('POST', '/v1/query', undefined, { Name: 'routes-web', Service: { Service: 'web' } }),
  served('GET', '/v1/query'),
  served('GET', '/v1/query/:queryID', '/v1/query/$query'),
  served('PUT', '/v1/query/:queryID', '/v1/query/$query', { Name: 'routes-web2', Service: { Service: 'web' } }),
  served('GET', '/v1/query/:queryIDOrName/execute', '/v1/query/routes-web2/execute'),
  served('GET', '/v1/query/:queryIDOrName/explain', '/v1/query/routes-web2/explain'),
  served('DELETE', '/v1/query/:queryID', '/v1/query/$query'),

  // session.go
  served('PUT', '/v1/session/create', undefined, { Name: 'routes' }),
  served('GET', '/v1/session/info/:id', '/v1/session/info/$session'),
  served('GET', '/v1/session/node/:node', '/v1/session/node/server-1'),
  served('GET', '/v1/session/list'),
  served('PUT', '/v1/session/renew/:id', '/v1/session/renew/$session'),
  served('PUT', '/v1/session/destroy/:id', '/v1/session/destroy/$session'),

  // snapshot.go (an empty PUT is a 400 invalid snapshot: served, and nothing restored)
  served('GET', '/v1/snapshot'),
  served('PUT', '/v1/snapshot', undefined, ''),

  // status.go
  served('GET', '/v1/status/leader'),
  served('GET', '/v1/status/peers'),
];

/** Routes another piece of work will serve: listed, and reported by the test once they are. None left. */
const PENDING: Row[] = [];

let server: TestServer;
const ids: Record<string, string> = {};

before(async () => {
  server = await testServer({ nodeName: 'server-1' });
  const must = async (method: string, path: string, body?: unknown) => {
    const r = await server.req(method, path, body);
    assert.ok(r.status < 300, `fixture ${method} ${path}: ${r.status} ${r.text}`);
    return r;
  };
  await must('PUT', '/v1/agent/service/register', { ID: 'web-1', Name: 'web', Port: 80, Check: { CheckID: 'web-ttl', TTL: '60s', Status: 'passing' } });
  await must('PUT', '/v1/kv/routes/key', 'v');
  ids.session = ((await must('PUT', '/v1/session/create', { Name: 'fixture' })).json as { ID: string }).ID;
  ids.query = ((await must('POST', '/v1/query', { Name: 'fixture', Service: { Service: 'web' } })).json as { ID: string }).ID;
  ids.intention = ((await must('POST', '/v1/connect/intentions', { SourceName: 'fixture', DestinationName: 'web', Action: 'allow' })).json as { ID: string }).ID;
});
after(() => server.close());

const concrete = (row: Row): string => (row.path ?? row.route).replace(/\$(\w+)/g, (_, k: string) => ids[k] ?? k);

test('the table lists each route once', () => {
  const seen = new Set<string>();
  for (const r of [...ROUTES, ...PENDING]) {
    const key = `${r.method} ${r.route}`;
    assert.ok(!seen.has(key), `listed twice: ${key}`);
    seen.add(key);
  }
  const count = (s: Status) => ROUTES.filter((r) => r.status === s).length;
  assert.ok(count('served') >= 85, `served: ${count('served')}`);
});

for (const row of ROUTES) {
  test(`${row.status}: ${row.method} ${row.route}`, async (t) => {
    const res = await server.req(row.method, concrete(row), row.body);
    const answer = `${res.status} ${res.text.slice(0, 200)}`;
    if (row.status === 'served') {
      assert.ok(![404, 405, 501].includes(res.status), `a served route is no longer served: ${answer}`);
      assert.doesNotMatch(res.text, /not supported by Meshgate|^ACL support disabled$/, answer);
    } else if (row.status === 'enterprise') {
      assert.equal(res.status, 404, `Consul CE answers an Enterprise route as an unknown path: ${answer}`);
    } else if (row.route.startsWith('/v1/acl/') || row.route.startsWith('/v1/agent/token/')) {
      if (res.status !== 401) t.diagnostic(`now served (${answer}): mark it served in the table`);
      else assert.equal(res.text, 'ACL support disabled');
    } else if (res.status !== 501) {
      t.diagnostic(`now served (${answer}): mark it served in the table`);
    } else {
      assert.match(res.text, new RegExp(`^${row.method} \\S+ is not supported by Meshgate: .+`), answer);
    }
  });
}

for (const row of PENDING) {
  test(`pending: ${row.method} ${row.route}`, async (t) => {
    const res = await server.req(row.method, concrete(row), row.method === 'PUT' ? '' : undefined);
    if (res.status === 404 || res.status === 405) t.diagnostic(`not served yet (${res.status})`);
    else t.diagnostic(`served (${res.status}): move it to the table`);
  });
}
