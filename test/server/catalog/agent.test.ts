/**
 * /v1/agent/* against a real server: self, members, service and check registration, a real HTTP check that turns
 * critical and back, TTL updates, maintenance, aggregated health, metrics, refusals, and a restart that resumes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../../src/lib/testing/wait-for.ts';
import { testServer, type TestServer } from './helpers.ts';

/** A real HTTP target whose health is whether it is listening. */
class Target {
  server: Server | undefined;
  port = 0;
  async start(): Promise<void> {
    this.server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

let s: TestServer;
before(async () => {
  s = await testServer();
});
after(() => s.close());

const passingNames = async (srv: TestServer, name: string) => (await srv.get(`/v1/health/service/${name}?passing`)).json.map((e: any) => e.Service.ID);

describe('agent self and members', () => {
  test('self reports Config, Member and Meta', async () => {
    const r = await s.get('/v1/agent/self');
    assert.equal(r.status, 200);
    assert.equal(r.json.Config.NodeName, 'server-1');
    assert.equal(r.json.Config.Datacenter, 'dc1');
    assert.equal(r.json.Config.Server, true);
    assert.match(r.json.Config.NodeID, /^[0-9a-f-]{36}$/);
    assert.equal(typeof r.json.Config.Version, 'string');
    assert.equal(r.json.Member.Name, 'server-1');
    assert.equal(r.json.Member.Status, 1);
    assert.equal(r.json.Member.Tags.role, 'consul');
    assert.equal(typeof r.json.Meta, 'object');
  });

  test('members lists this server, alive', async () => {
    const r = await s.get('/v1/agent/members');
    assert.deepEqual(r.json.map((m: any) => [m.Name, m.Addr, m.Status]), [['server-1', '127.0.0.1', 1]]);
  });
});

describe('agent services and checks', () => {
  test('register a service: defaults, catalog view, agent views', async () => {
    const r = await s.put('/v1/agent/service/register', {
      Name: 'web', ID: 'web-1', Tags: ['v1'], Address: '127.0.0.1', Port: 8080, Meta: { team: 'a' },
      TaggedAddresses: { lan: { Address: '127.0.0.1', Port: 8080 } },
      Check: { TTL: '30s', Status: 'passing' },
    });
    assert.equal(r.status, 200, r.text);
    const svc = await s.get('/v1/agent/service/web-1');
    assert.equal(svc.status, 200);
    assert.equal(svc.json.Service, 'web');
    assert.deepEqual(svc.json.Weights, { Passing: 1, Warning: 1 });
    assert.equal(svc.json.Datacenter, 'dc1');
    assert.ok(svc.json.ContentHash);
    assert.equal(svc.headers.get('x-consul-contenthash'), svc.json.ContentHash);
    const all = await s.get('/v1/agent/services');
    assert.deepEqual(Object.keys(all.json), ['web-1']);
    const checks = await s.get('/v1/agent/checks');
    assert.equal(checks.json['service:web-1'].Type, 'ttl');
    assert.equal(checks.json['service:web-1'].Status, 'passing');
    assert.equal(checks.json['service:web-1'].Name, "Service 'web' check");
    const cat = await s.get('/v1/catalog/service/web');
    assert.equal(cat.json[0].Node, 'server-1');
    assert.equal(cat.json[0].ServicePort, 8080);
    assert.deepEqual(await passingNames(s, 'web'), ['web-1']);
  });

  test('?filter on services and checks', async () => {
    const f = await s.get(`/v1/agent/services?filter=${encodeURIComponent('Meta.team == b')}`);
    assert.deepEqual(f.json, {});
    const c = await s.get(`/v1/agent/checks?filter=${encodeURIComponent('Type == ttl')}`);
    assert.deepEqual(Object.keys(c.json), ['service:web-1']);
    const bad = await s.get(`/v1/agent/checks?filter=${encodeURIComponent('Type ==')}`);
    assert.equal(bad.status, 400);
  });

  test('TTL verbs and check/update move the instance in and out of ?passing', async () => {
    assert.equal((await s.put('/v1/agent/check/fail/service:web-1?note=down')).status, 200);
    assert.deepEqual(await passingNames(s, 'web'), []);
    const checks = await s.get('/v1/agent/checks');
    assert.equal(checks.json['service:web-1'].Output, 'down');
    assert.equal((await s.put('/v1/agent/check/pass/service:web-1')).status, 200);
    assert.deepEqual(await passingNames(s, 'web'), ['web-1']);
    const u = await s.put('/v1/agent/check/update/service:web-1', { Status: 'warning', Output: 'slow' });
    assert.equal(u.status, 200, u.text);
    const h = await s.get('/v1/agent/health/service/id/web-1');
    assert.equal(h.status, 429);
    assert.equal(h.json.AggregatedStatus, 'warning');
    await s.put('/v1/agent/check/warn/service:web-1');
    await s.put('/v1/agent/check/pass/service:web-1');
  });

  test('agent health by id and name: codes, ?format=text, 404', async () => {
    const ok = await s.get('/v1/agent/health/service/id/web-1');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.AggregatedStatus, 'passing');
    assert.equal(ok.json.Service.ID, 'web-1');
    const txt = await s.get('/v1/agent/health/service/name/web?format=text');
    assert.equal(txt.status, 200);
    assert.equal(txt.text, 'passing');
    const byName = await s.get('/v1/agent/health/service/name/web');
    assert.equal(byName.json[0].AggregatedStatus, 'passing');
    const missing = await s.get('/v1/agent/health/service/id/nope?format=text');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'ServiceId nope not found');
    const missingName = await s.get('/v1/agent/health/service/name/nope?format=text');
    assert.equal(missingName.status, 404);
    assert.equal(missingName.text, 'ServiceName nope Not Found');
  });

  test('service maintenance adds the critical _service_maintenance check and removes it', async () => {
    const on = await s.put('/v1/agent/service/maintenance/web-1?enable=true&reason=deploy');
    assert.equal(on.status, 200, on.text);
    const checks = await s.get('/v1/agent/checks');
    const maint = checks.json['_service_maintenance:web-1'];
    assert.equal(maint.Status, 'critical');
    assert.equal(maint.Notes, 'deploy');
    assert.equal(maint.Name, 'Service Maintenance Mode');
    assert.deepEqual(await passingNames(s, 'web'), []);
    const h = await s.get('/v1/agent/health/service/id/web-1?format=text');
    assert.equal(h.status, 503);
    assert.equal(h.text, 'maintenance');
    await s.put('/v1/agent/service/maintenance/web-1?enable=false');
    assert.deepEqual(await passingNames(s, 'web'), ['web-1']);
  });

  test('node maintenance takes every instance on the node out of ?passing', async () => {
    await s.put('/v1/agent/maintenance?enable=true');
    const checks = await s.get('/v1/agent/checks');
    assert.equal(checks.json._node_maintenance.Status, 'critical');
    assert.match(checks.json._node_maintenance.Notes, /no reason was provided/);
    assert.deepEqual(await passingNames(s, 'web'), []);
    await s.put('/v1/agent/maintenance?enable=false');
    assert.deepEqual(await passingNames(s, 'web'), ['web-1']);
  });

  test('check/register and check/deregister (node-level TTL check affects the service too)', async () => {
    const r = await s.put('/v1/agent/check/register', { Name: 'disk', TTL: '1m', Status: 'warning' });
    assert.equal(r.status, 200, r.text);
    const checks = await s.get('/v1/agent/checks');
    assert.equal(checks.json.disk.Status, 'warning');
    assert.deepEqual(await passingNames(s, 'web'), []);
    assert.equal((await s.put('/v1/agent/check/deregister/disk')).status, 200);
    assert.deepEqual(await passingNames(s, 'web'), ['web-1']);
  });

  test('?replace-existing-checks drops checks missing from the new definition', async () => {
    await s.put('/v1/agent/service/register', { Name: 'multi', Checks: [{ TTL: '1m' }, { TTL: '1m' }] });
    let checks = await s.get('/v1/agent/checks');
    assert.ok(checks.json['service:multi:1'] && checks.json['service:multi:2']);
    await s.put('/v1/agent/service/register?replace-existing-checks', { Name: 'multi', Checks: [{ CheckID: 'only', TTL: '1m' }] });
    checks = await s.get('/v1/agent/checks');
    assert.ok(checks.json.only);
    assert.equal(checks.json['service:multi:1'], undefined);
    await s.put('/v1/agent/service/deregister/multi');
    checks = await s.get('/v1/agent/checks');
    assert.equal(checks.json.only, undefined, 'a service takes its checks with it');
  });

  test('a service with an HTTP check against a real server: critical when it stops, passing when it is back', async () => {
    const target = new Target();
    await target.start();
    const r = await s.put('/v1/agent/service/register', {
      Name: 'probe', Port: target.port, Check: { HTTP: `http://127.0.0.1:${target.port}/health`, Interval: '1s', Timeout: '1s' },
    });
    assert.equal(r.status, 200, r.text);
    await waitFor(async () => (await passingNames(s, 'probe')).length === 1, 'probe passing');
    await target.stop();
    await waitFor(async () => (await passingNames(s, 'probe')).length === 0, 'probe critical');
    const check = (await s.get('/v1/agent/checks')).json['service:probe'];
    assert.equal(check.Status, 'critical');
    assert.equal(check.Type, 'http');
    await target.start();
    await waitFor(async () => (await passingNames(s, 'probe')).length === 1, 'probe passing again');
    await target.stop();
    await s.put('/v1/agent/service/deregister/probe');
  });

  test('check runs are counted in the metrics, JSON and Prometheus', async () => {
    const m = await s.get('/v1/agent/metrics');
    assert.equal(m.status, 200);
    for (const k of ['Timestamp', 'Gauges', 'Points', 'Counters', 'Samples']) assert.ok(k in m.json, k);
    const runs = m.json.Counters.filter((c: any) => c.Name === 'meshgate_health_check_runs_total');
    assert.ok(runs.some((c: any) => c.Labels.type === 'http' && c.Labels.status === 'critical' && c.Count >= 1));
    const prom = await s.get('/v1/agent/metrics?format=prometheus');
    assert.equal(prom.status, 200);
    assert.match(prom.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(prom.text, /# TYPE meshgate_health_check_runs_total counter/);
  });
});

describe('agent refusals', () => {
  const registerCases: Array<[string, unknown, RegExp]> = [
    ['empty body', '', /^Request decode failed: EOF$/],
    ['missing name', { Port: 80 }, /^Missing service name$/],
    ['wrong type', { Name: 'x', Port: '80' }, /cannot unmarshal string into Go struct field Port of type/],
    ['unspecified address', { Name: 'x', Address: '::' }, /^Invalid service address$/],
    ['bad meta', { Name: 'x', Meta: { 'consul-x': '1' } }, /Invalid Service Meta: .*reserved for internal use/],
    ['bad weights', { Name: 'x', Weights: { Passing: 0 } }, /Invalid Weights: Passing must be greater than 0/],
    ['bad check status', { Name: 'x', Check: { TTL: '1s', Status: 'ok' } }, /Status for checks must 'passing', 'warning', 'critical'/],
    ['check without interval', { Name: 'x', Check: { HTTP: 'http://127.0.0.1:1' } }, /^Invalid check: Interval must be > 0/],
    ['check with bad duration', { Name: 'x', Check: { TTL: 'ten' } }, /Check\.TTL: time: invalid duration/],
    // Longer than Go's time.Duration (2562047h47m16.854775807s): time.ParseDuration refuses it, so Consul does.
    ['check duration beyond Go\'s range', { Name: 'x', Check: { Interval: '3000000h', TCP: '127.0.0.1:1' } }, /Check\.Interval: time: invalid duration "3000000h"/],
    ['script check (disabled)', { Name: 'x', Check: { Args: ['true'], Interval: '10s' } }, /Scripts are disabled on this agent/],
  ];
  for (const [name, body, message] of registerCases) {
    test(`service/register: ${name}`, async () => {
      const before = await s.get('/v1/agent/services');
      const r = await s.put('/v1/agent/service/register', body);
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, message);
      assert.deepEqual(Object.keys((await s.get('/v1/agent/services')).json), Object.keys(before.json));
    });
  }

  test('unknown ids are 404s with Consul\'s texts', async () => {
    const svc = await s.get('/v1/agent/service/nope');
    assert.equal(svc.status, 404);
    assert.equal(svc.text, 'unknown service ID: nope');
    const dereg = await s.put('/v1/agent/service/deregister/nope');
    assert.equal(dereg.status, 404);
    assert.equal(dereg.text, 'Unknown service ID "nope". Ensure that the service ID is passed, not the service name.');
    const cdereg = await s.put('/v1/agent/check/deregister/nope');
    assert.equal(cdereg.status, 404);
    assert.equal(cdereg.text, 'Unknown check ID "nope". Ensure that the check ID is passed, not the check name.');
    const pass = await s.put('/v1/agent/check/pass/nope');
    assert.equal(pass.status, 404);
    const maint = await s.put('/v1/agent/service/maintenance/nope?enable=true');
    assert.equal(maint.status, 404);
    assert.equal(maint.text, 'No service registered with ID "nope"');
  });

  test('check/register, check/update and maintenance parameters', async () => {
    const noName = await s.put('/v1/agent/check/register', { TTL: '1s' });
    assert.equal(noName.status, 400);
    assert.equal(noName.text, 'Missing check name');
    const badStatus = await s.put('/v1/agent/check/register', { Name: 'c', TTL: '1s', Status: 'meh' });
    assert.equal(badStatus.status, 400);
    assert.equal(badStatus.text, 'Bad check status');
    const noService = await s.put('/v1/agent/check/register', { Name: 'c', TTL: '1s', ServiceID: 'ghost' });
    assert.equal(noService.status, 400);
    assert.match(noService.text, /ServiceID "ghost" does not exist/);
    const update = await s.put('/v1/agent/check/update/service:web-1', { Status: 'fine' });
    assert.equal(update.status, 400);
    assert.equal(update.text, "Invalid check status: 'fine'");
    const notTTL = await s.put('/v1/agent/service/register', { Name: 'h', Check: { CheckID: 'h-http', HTTP: 'http://127.0.0.1:1/', Interval: '30s' } });
    assert.equal(notTTL.status, 200);
    const ttlOnHttp = await s.put('/v1/agent/check/pass/h-http');
    assert.equal(ttlOnHttp.status, 404);
    assert.match(ttlOnHttp.text, /does not have associated TTL/);
    await s.put('/v1/agent/service/deregister/h');
    const noEnable = await s.put('/v1/agent/service/maintenance/web-1');
    assert.equal(noEnable.status, 400);
    assert.equal(noEnable.text, 'Missing value for enable');
    const badEnable = await s.put('/v1/agent/maintenance?enable=perhaps');
    assert.equal(badEnable.status, 400);
    assert.equal(badEnable.text, 'Invalid value for enable: "perhaps"');
  });
});

describe('restart', () => {
  test('a 720h TTL check stays passing, before and after a restart (Node clamps such timers to 1 ms)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshgate-agent-longttl-'));
    try {
      let srv = await testServer({ dataDir, nodeName: 'long-ttl-node' });
      try {
        assert.equal((await srv.put('/v1/agent/service/register', { Name: 'month', Check: { CheckID: 'month', TTL: '720h', Status: 'passing' } })).status, 200);
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(await passingNames(srv, 'month'), ['month'], 'expired within 300 ms');
      } finally {
        await srv.close();
      }
      srv = await testServer({ dataDir, nodeName: 'long-ttl-node' });
      try {
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(await passingNames(srv, 'month'), ['month'], 'expired within 300 ms of the restart');
      } finally {
        await srv.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a restarted server keeps its agent services and resumes their checks', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meshgate-agent-restart-'));
    const target = new Target();
    await target.start();
    try {
      let srv = await testServer({ dataDir, nodeName: 'restart-node' });
      await srv.put('/v1/agent/service/register', {
        Name: 'kept', Port: target.port, Check: { HTTP: `http://127.0.0.1:${target.port}/`, Interval: '1s' },
      });
      await srv.put('/v1/agent/service/register', { Name: 'ttl-kept', Check: { CheckID: 'ttl-kept', TTL: '5m', Status: 'passing' } });
      await waitFor(async () => (await passingNames(srv, 'kept')).length === 1, 'kept passing');
      const nodeId = (await srv.get('/v1/agent/self')).json.Config.NodeID;
      await srv.close();

      srv = await testServer({ dataDir, nodeName: 'restart-node' });
      try {
        assert.equal((await srv.get('/v1/agent/self')).json.Config.NodeID, nodeId, 'node ID survives');
        assert.deepEqual(Object.keys((await srv.get('/v1/agent/services')).json).sort(), ['kept', 'ttl-kept']);
        assert.deepEqual(await passingNames(srv, 'ttl-kept'), ['ttl-kept'], 'a TTL check keeps its status');
        await target.stop();
        await waitFor(async () => (await passingNames(srv, 'kept')).length === 0, 'kept critical after restart');
        assert.equal((await srv.put('/v1/agent/check/fail/ttl-kept')).status, 200, 'TTL check is live again');
        assert.deepEqual(await passingNames(srv, 'ttl-kept'), []);
      } finally {
        await srv.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
