/**
 * What Consul clients read from the agent and how they address another datacenter, each checked against Consul's
 * source: `?dc=` for a datacenter a single-DC cluster cannot reach is structs.ErrNoDCPath ("No path to datacenter",
 * a 500 from the RPC layer); /v1/agent/service/:id blocks on `?hash=` (agentLocalBlockingQuery in
 * agent/agent_endpoint.go); AgentSelf's Config/DebugConfig/Stats sections and AgentMembers' `?wan`
 * (agent/agent_endpoint.go) with Consul's version in Consul's places (Nomad requires Consul >= 1.7).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';

let server: RunningServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

describe('?dc= for another datacenter', () => {
  test('answers 500 "No path to datacenter" on forwarded endpoints, and serves the local one', async () => {
    for (const path of ['/v1/catalog/services?dc=dc2', '/v1/health/service/web?dc=other', '/v1/kv/a?dc=dc9', '/v1/status/leader?dc=x']) {
      const res = await get(path);
      assert.equal(res.status, 500, path);
      assert.equal(await res.text(), 'No path to datacenter', path);
    }
    const local = await get('/v1/catalog/services?dc=dc1');
    assert.equal(local.status, 200);
    await local.text();
  });

  test('agent-local endpoints ignore ?dc as Consul\'s do', async () => {
    const res = await get('/v1/agent/self?dc=dc2');
    assert.equal(res.status, 200);
    await res.text();
  });
});

describe('hash blocking on /v1/agent/service/:id', () => {
  test('?hash=<current> waits until the definition changes', async () => {
    const register = (port: number) => get('/v1/agent/service/register', { method: 'PUT', body: JSON.stringify({ ID: 'hashy', Name: 'hashy', Port: port }) });
    assert.equal((await register(1000)).status, 200);
    const first = await get('/v1/agent/service/hashy');
    const hash = first.headers.get('x-consul-contenthash')!;
    const body = (await first.json()) as { ContentHash: string };
    assert.ok(hash);
    assert.equal(body.ContentHash, hash);

    const started = Date.now();
    const short = await get(`/v1/agent/service/hashy?hash=${hash}&wait=300ms`);
    assert.ok(Date.now() - started >= 280, 'an unchanged hash is held for the wait');
    assert.equal(short.headers.get('x-consul-contenthash'), hash);
    await short.text();

    let done = false;
    const waiting = get(`/v1/agent/service/hashy?hash=${hash}&wait=30s`).then((r) => ((done = true), r));
    await get('/v1/kv/unrelated', { method: 'PUT', body: 'x' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(done, false);
    assert.equal((await register(2000)).status, 200);
    const changed = await waiting;
    assert.notEqual(changed.headers.get('x-consul-contenthash'), hash);
    assert.equal(((await changed.json()) as { Port: number }).Port, 2000);

    const stale = await get('/v1/agent/service/hashy?hash=not-the-hash&wait=30s');
    assert.equal(stale.status, 200, 'a different hash answers at once');
    await stale.text();
  });
});

describe('/v1/agent/self and members', () => {
  test('report a Consul version Nomad accepts, with Meshgate\'s own as metadata', async () => {
    const self = (await (await get('/v1/agent/self')).json()) as {
      Config: { Version: string };
      DebugConfig: Record<string, unknown>;
      Stats: Record<string, Record<string, string>>;
      Member: { Tags: Record<string, string> };
      Meta: Record<string, string>;
    };
    assert.match(self.Config.Version, /^1\.(\d+)\.\d+$/);
    assert.ok(Number(/^1\.(\d+)/.exec(self.Config.Version)![1]) >= 7, 'Nomad refuses Consul below 1.7');
    assert.equal(self.DebugConfig.Version, self.Config.Version);
    assert.match(String(self.DebugConfig.VersionMetadata), /^meshgate\.\d+\.\d+\.\d+$/);
    assert.equal(self.Stats.build!.version, self.Config.Version);
    assert.equal(self.Stats.build!.version_metadata, self.DebugConfig.VersionMetadata);
    assert.ok(self.Member.Tags.build!.startsWith(`${self.Config.Version}:`));
    const nodes = (await (await get('/v1/catalog/nodes')).json()) as Array<{ Meta: Record<string, string> }>;
    assert.equal(nodes[0]!.Meta['consul-version'], self.Config.Version);
  });

  test('DebugConfig carries the ports, SessionTTLMin and ConnectEnabled; Stats has build and runtime', async () => {
    const self = (await (await get('/v1/agent/self')).json()) as { DebugConfig: Record<string, unknown>; Stats: Record<string, Record<string, string>> };
    const d = self.DebugConfig;
    assert.equal(d.HTTPPort, server.port);
    assert.equal(d.DNSPort, -1, 'the test server runs without DNS');
    assert.equal(d.GRPCPort, -1);
    assert.equal(d.ServerPort, 8300);
    assert.equal(d.SerfPortWAN, 8302);
    assert.equal(d.SessionTTLMin, '10s');
    assert.equal(d.ConnectEnabled, false);
    assert.ok(self.Stats.runtime!.os && self.Stats.runtime!.arch && Number(self.Stats.runtime!.cpu_count) >= 1);
  });

  test('?wan lists the WAN member: <node>.<dc> on 8302', async () => {
    const [lan] = (await (await get('/v1/agent/members')).json()) as Array<{ Name: string; Port: number; Tags: Record<string, string> }>;
    assert.equal(lan!.Port, 8301);
    const [wan] = (await (await get('/v1/agent/members?wan=1')).json()) as Array<{ Name: string; Port: number; Tags: Record<string, string> }>;
    assert.equal(wan!.Name, 'node-1.dc1');
    assert.equal(wan!.Port, 8302);
    assert.equal(wan!.Tags.dc, 'dc1');
    assert.equal(wan!.Tags.role, 'consul');
    const bad = await get('/v1/agent/members?wan=1&segment=alpha');
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), 'Cannot provide a segment with wan=true');
  });
});
