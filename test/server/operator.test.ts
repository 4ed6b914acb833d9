/**
 * /v1/operator/*: raft configuration and autopilot health/state list the live server replicas in Consul's shapes
 * (api/operator_raft.go RaftConfiguration, api/operator_autopilot.go OperatorHealthReply / AutopilotState) — this
 * server alone on SQLite, every replica holding a lease in the store's election on etcd, a replica that leaves
 * dropping out — autopilot configuration with Consul's defaults and `?cas` (OperatorAutopilotConfiguration answers
 * the CAS result only for a CAS request), and usage counted as agent/operator_endpoint_ce_test.go's
 * TestOperator_Usage expects (billable leaves out proxies and the consul service).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { testServer, type TestServer } from './catalog/helpers.ts';
import { startEtcd, etcdBinary, type EtcdProcess } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { eventually, startTestServer } from '../helpers/server.ts';

endLingeringProcessAfterSuite();

interface RaftServer { ID: string; Node: string; Address: string; Leader: boolean; ProtocolVersion: string; Voter: boolean }

describe('operator on sqlite: one server', () => {
  let server: TestServer;
  before(async () => {
    server = await testServer({ nodeName: 'server-1' });
  });
  after(() => server.close());

  test('raft configuration: this server, leader and voter', async () => {
    const res = await server.get('/v1/operator/raft/configuration');
    assert.equal(res.status, 200);
    const body = res.json as { Servers: RaftServer[]; Index: number };
    assert.equal(body.Servers.length, 1);
    const [s] = body.Servers;
    const self = (await server.get('/v1/agent/self')).json as { Config: { NodeID: string } };
    assert.equal(s!.ID, self.Config.NodeID);
    assert.equal(s!.Node, 'server-1');
    assert.equal(s!.Address, '127.0.0.1:8300');
    assert.deepEqual([s!.Leader, s!.Voter, s!.ProtocolVersion], [true, true, '3']);
    assert.ok(body.Index >= 1);
  });

  test('autopilot health and state', async () => {
    const health = await server.get('/v1/operator/autopilot/health');
    assert.equal(health.status, 200);
    const h = health.json as { Healthy: boolean; FailureTolerance: number; Servers: Array<Record<string, unknown>> };
    assert.equal(h.Healthy, true);
    assert.equal(h.FailureTolerance, 0);
    assert.equal(h.Servers.length, 1);
    assert.equal(h.Servers[0]!.Name, 'server-1');
    assert.equal(h.Servers[0]!.SerfStatus, 'alive');
    assert.equal(h.Servers[0]!.Leader, true);
    assert.ok(!Number.isNaN(Date.parse(h.Servers[0]!.StableSince as string)));
    const state = (await server.get('/v1/operator/autopilot/state')).json as { Leader: string; Voters: string[]; Servers: Record<string, { Status: string; NodeType: string }> };
    assert.deepEqual(state.Voters, [state.Leader]);
    assert.equal(state.Servers[state.Leader]!.Status, 'leader');
    assert.equal(state.Servers[state.Leader]!.NodeType, 'voter');
  });

  test('autopilot configuration: defaults, update, CAS', async () => {
    const first = (await server.get('/v1/operator/autopilot/configuration')).json as Record<string, unknown>;
    assert.equal(first.CleanupDeadServers, true);
    assert.equal(first.LastContactThreshold, '200ms');
    assert.equal(first.MaxTrailingLogs, 250);
    assert.equal(first.ServerStabilizationTime, '10s');
    const put = await server.put('/v1/operator/autopilot/configuration', { ...first, CleanupDeadServers: false });
    assert.equal(put.status, 200);
    assert.equal(put.json, true);
    const second = (await server.get('/v1/operator/autopilot/configuration')).json as { CleanupDeadServers: boolean; ModifyIndex: number };
    assert.equal(second.CleanupDeadServers, false);
    const stale = await server.put('/v1/operator/autopilot/configuration?cas=1', { MaxTrailingLogs: 10 });
    assert.equal(stale.json, false);
    const fresh = await server.put(`/v1/operator/autopilot/configuration?cas=${second.ModifyIndex}`, { MaxTrailingLogs: 10 });
    assert.equal(fresh.json, true);
    assert.equal(((await server.get('/v1/operator/autopilot/configuration')).json as { MaxTrailingLogs: number }).MaxTrailingLogs, 10);
    const bad = await server.put('/v1/operator/autopilot/configuration', { MaxTrailingLogs: 'many' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /MaxTrailingLogs/);
  });

  test('usage: services, instances, connect kinds, billable, nodes', async () => {
    const reg = (body: unknown) => server.put('/v1/catalog/register', body);
    await reg({ Node: 'test-node', Address: '10.0.0.9', Service: { ID: 'web1', Service: 'web', Port: 8080 } });
    await reg({ Node: 'test-node', Address: '10.0.0.9', Service: { ID: 'web2', Service: 'web', Port: 8080 } });
    await reg({ Node: 'test-node', Address: '10.0.0.9', Service: { ID: 'db', Service: 'db', Port: 8080 } });
    await reg({ Node: 'test-node', Address: '10.0.0.9', Service: { ID: 'web-proxy', Service: 'web-proxy', Kind: 'connect-proxy', Port: 8080, Proxy: { DestinationServiceName: 'web' } } });
    await reg({ Node: 'test-node', Address: '10.0.0.9', Service: { ID: 'native', Service: 'connect-native-app', Port: 8080, Connect: { Native: true } } });
    const res = await server.get('/v1/operator/usage');
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as { Usage: unknown }).Usage, {
      dc1: {
        Services: 5, ServiceInstances: 6, BillableServiceInstances: 4, Nodes: 2,
        ConnectServiceInstances: { 'api-gateway': 0, 'connect-native': 1, 'connect-proxy': 1, 'ingress-gateway': 0, 'mesh-gateway': 0, 'terminating-gateway': 0 },
      },
    });
    assert.ok(res.index >= 1);
  });
});

describe('operator on etcd: every live replica', { skip: etcdBinary() ? false : 'etcd is not installed' }, () => {
  let etcd: EtcdProcess;
  before(async () => {
    etcd = await startEtcd();
  });
  after(() => etcd?.stop());

  test('raft configuration lists both replicas, one leader; a replica that leaves drops out', async () => {
    const prefix = `/meshgate-test/${randomUUID()}`;
    const store = { backend: 'etcd' as const, endpoints: [etcd.url], prefix };
    const a = await startTestServer({ nodeName: 'server-a', store });
    const b = await startTestServer({ nodeName: 'server-b', store });
    let bClosed = false;
    try {
      const config = async (url: string) => ((await (await fetch(`${url}/v1/operator/raft/configuration`)).json()) as { Servers: RaftServer[] }).Servers;
      const both = (await eventually(async () => {
        const s = await config(b.url);
        return s.length === 2 ? s : undefined;
      }, 'both replicas in the raft configuration'))!;
      assert.deepEqual(both.map((s) => s.Node).sort(), ['server-a', 'server-b']);
      assert.equal(both.filter((s) => s.Leader).length, 1);
      assert.equal(both.find((s) => s.Leader)!.Node, 'server-a', 'the first to campaign leads');
      const health = (await (await fetch(`${a.url}/v1/operator/autopilot/health`)).json()) as { Servers: unknown[]; FailureTolerance: number };
      assert.equal(health.Servers.length, 2);
      await b.close();
      bClosed = true;
      const alone = (await eventually(async () => {
        const s = await config(a.url);
        return s.length === 1 ? s : undefined;
      }, 'server-b to drop out'))!;
      assert.equal(alone[0]!.Node, 'server-a');
      assert.equal(alone[0]!.Leader, true);
    } finally {
      await a.close();
      if (!bClosed) await b.close();
    }
  });
});
