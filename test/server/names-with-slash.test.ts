/**
 * Names with `/` and the router's Consul-shaped answers. Consul reads a name as the whole rest of the path after the
 * endpoint's prefix — `strings.TrimPrefix(req.URL.Path, "/v1/health/service/")` in agent/health_endpoint.go (and the
 * same in catalog_endpoint.go, agent_endpoint.go, session_endpoint.go) on Go's already-decoded path, so `dev/Test`
 * and `dev%2FTest` name the same service, and an empty name is a 400 ("Missing service name"). Unknown paths fall to
 * Consul's `Index` handler (agent/http.go): 404 with an empty body; a wrong method is `MethodNotAllowedError`:
 * 405 `method X not allowed` with `Allow: OPTIONS,<methods>` (comma-joined), and OPTIONS answers 200 with it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';

let server: RunningServer;
before(async () => {
  server = await startTestServer();
  const register = await fetch(`${server.url}/v1/catalog/register`, {
    method: 'PUT',
    body: JSON.stringify({
      Node: 'rack/ext-1',
      Address: '10.0.0.9',
      Service: { ID: 'dev/Test-1', Service: 'dev/Test', Port: 8080, Meta: { team: 'a/b' } },
      Check: { CheckID: 'dev/Test-check', Name: 'dev/Test alive', Status: 'passing', ServiceID: 'dev/Test-1' },
    }),
  });
  assert.equal(register.status, 200, await register.text());
  const agentService = await fetch(`${server.url}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify({ ID: 'team/api-1', Name: 'team/api', Port: 9000, Check: { CheckID: 'team/api-ttl', TTL: '30s' } }),
  });
  assert.equal(agentService.status, 200, await agentService.text());
});
after(() => server.close());

async function json(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.url}${path}`);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe('names containing /', () => {
  for (const spelled of ['dev/Test', 'dev%2FTest']) {
    test(`catalog and health of service ${spelled}`, async () => {
      const catalog = await json(`/v1/catalog/service/${spelled}`);
      assert.equal(catalog.status, 200);
      assert.deepEqual((catalog.body as Array<{ ServiceID: string }>).map((s) => s.ServiceID), ['dev/Test-1']);
      const health = await json(`/v1/health/service/${spelled}?passing`);
      assert.equal(health.status, 200);
      const [entry] = health.body as Array<{ Service: { Service: string; Meta: Record<string, string> } }>;
      assert.equal(entry!.Service.Service, 'dev/Test');
      assert.equal(entry!.Service.Meta.team, 'a/b');
      const checks = await json(`/v1/health/checks/${spelled}`);
      assert.deepEqual((checks.body as Array<{ CheckID: string }>).map((c) => c.CheckID), ['dev/Test-check']);
    });
  }

  test('catalog/node, catalog/node-services and health/node of node rack/ext-1', async () => {
    const node = await json('/v1/catalog/node/rack/ext-1');
    assert.equal((node.body as { Node: { Node: string } }).Node.Node, 'rack/ext-1');
    const services = await json('/v1/catalog/node-services/rack%2Fext-1');
    assert.equal((services.body as { Services: unknown[] }).Services.length, 1);
    const checks = await json('/v1/health/node/rack/ext-1');
    assert.deepEqual((checks.body as Array<{ CheckID: string }>).map((c) => c.CheckID), ['dev/Test-check']);
    assert.deepEqual((await json('/v1/session/node/rack/ext-1')).body, []);
  });

  test('agent service and check IDs with /', async () => {
    const svc = await json('/v1/agent/service/team/api-1');
    assert.equal(svc.status, 200);
    assert.equal((svc.body as { ID: string }).ID, 'team/api-1');
    const pass = await fetch(`${server.url}/v1/agent/check/pass/team/api-ttl`, { method: 'PUT' });
    assert.equal(pass.status, 200, await pass.text());
    const checks = (await json('/v1/agent/checks')).body as Record<string, { Status: string }>;
    assert.equal(checks['team/api-ttl']!.Status, 'passing');
    const health = await json('/v1/agent/health/service/id/team/api-1');
    assert.equal(health.status, 200);
    const deregister = await fetch(`${server.url}/v1/agent/service/deregister/team%2Fapi-1`, { method: 'PUT' });
    assert.equal(deregister.status, 200, await deregister.text());
    const gone = await fetch(`${server.url}/v1/agent/service/team/api-1`);
    assert.equal(gone.status, 404);
    assert.match(await gone.text(), /team\/api-1/);
  });

  test('an empty name is Consul\'s 400', async () => {
    for (const [path, text] of [
      ['/v1/health/service/', 'Missing service name'],
      ['/v1/catalog/service/', 'Missing service name'],
      ['/v1/health/node/', 'Missing node name'],
      ['/v1/catalog/node/', 'Missing node name'],
      ['/v1/health/state/', 'Missing check state'],
    ] as const) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.equal(await res.text(), text, path);
    }
  });
});

describe('unknown paths and methods', () => {
  test('an unknown path is a 404 with an empty body', async () => {
    for (const path of ['/v1/nope', '/v1/agent/self/extra', '/v2/kv/x']) {
      const res = await fetch(`${server.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), '', path);
    }
  });

  test('a wrong method is 405 with Allow: OPTIONS first, comma-joined, in the endpoint\'s order', async () => {
    const kv = await fetch(`${server.url}/v1/kv/some/key`, { method: 'POST' });
    assert.equal(kv.status, 405);
    assert.equal(kv.headers.get('allow'), 'OPTIONS,GET,PUT,DELETE');
    assert.equal(await kv.text(), 'method POST not allowed');
    // The most specific pattern decides, as in Go's ServeMux: GET on the deregister path is not a GET of a
    // service whose ID begins with "deregister/".
    const dereg = await fetch(`${server.url}/v1/agent/service/deregister/x`);
    assert.equal(dereg.status, 405);
    await dereg.text();
  });

  test('OPTIONS answers 200 with Allow', async () => {
    const res = await fetch(`${server.url}/v1/status/leader`, { method: 'OPTIONS' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('allow'), 'OPTIONS,GET');
    assert.equal(await res.text(), '');
  });
});
