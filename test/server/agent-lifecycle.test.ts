/**
 * /v1/agent/{host,version,reload,leave,join,force-leave,monitor} answered as one Consul server agent answers them
 * (agent/agent_endpoint.go AgentHost, AgentVersion, AgentReload, AgentLeave, AgentJoin, AgentForceLeave — whose
 * unknown node is "agent: No node found with name" from agent.ForceLeave — and AgentMonitor with ?loglevel and
 * ?logjson streaming hclog's formats).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer } from '../../src/server/options.ts';

let server: RunningServer;
before(async () => {
  // A logger at debug writing nowhere: the monitor sees what the server logs at its level.
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const logger = createLogger({ name: 'server', level: 'debug', destination: sink });
  server = await startServer({ dev: true, httpAddr: '127.0.0.1:0', nodeName: 'server-1', datacenter: 'dc1' }, logger);
});
after(() => server.close());

const put = (path: string) => fetch(server.url + path, { method: 'PUT' });

/** Reads a streamed response until `done` says so or the deadline passes; then cancels it. */
async function readUntil(res: Response, done: (text: string) => boolean, ms = 10_000): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  while (!done(text) && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), deadline - Date.now()))]);
    if (!chunk || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  await reader.cancel();
  return text;
}

describe('agent: host, version, reload, leave, join, force-leave', () => {
  test('host has gopsutil-shaped Memory, CPU, Host, Disk', async () => {
    const res = await fetch(`${server.url}/v1/agent/host`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      Memory: { total: number }; CPU: unknown[]; Host: { hostname: string; os: string }; Disk: { total: number }; CollectionTime: number;
    };
    assert.ok(body.Memory.total > 0);
    assert.ok(body.CPU.length > 0);
    assert.ok(body.Host.hostname.length > 0);
    assert.equal(body.Host.os, process.platform);
    assert.ok(body.Disk.total > 0);
    assert.ok(body.CollectionTime > 0);
  });

  test('version', async () => {
    const body = (await (await fetch(`${server.url}/v1/agent/version`)).json()) as Record<string, string>;
    assert.deepEqual(Object.keys(body).sort(), ['BuildDate', 'FIPS', 'HumanVersion', 'SHA']);
    const self = (await (await fetch(`${server.url}/v1/agent/self`)).json()) as { Config: { Version: string } };
    // Consul's GetHumanVersion: the version, then +metadata (Meshgate's own version).
    assert.match(body.HumanVersion!, new RegExp(`^${self.Config.Version.replace(/\./g, '\\.')}\\+meshgate\\.\\d+\\.\\d+\\.\\d+$`));
  });

  test('reload and leave answer 200 and the server keeps serving', async () => {
    assert.equal((await put('/v1/agent/reload')).status, 200);
    assert.equal((await put('/v1/agent/leave')).status, 200);
    assert.equal((await fetch(`${server.url}/v1/status/leader`)).status, 200);
    assert.equal((await fetch(`${server.url}/v1/agent/leave`)).status, 405, 'GET is not allowed');
  });

  test('join: itself succeeds, another address fails naming why', async () => {
    assert.equal((await put('/v1/agent/join/127.0.0.1')).status, 200);
    const other = await put('/v1/agent/join/10.9.9.9:8301');
    assert.equal(other.status, 500);
    assert.match(await other.text(), /Failed to join 10\.9\.9\.9:8301: Meshgate servers do not gossip/);
  });

  test('force-leave: a live member is a no-op, an unknown node is Consul\'s error, a gone server node is reaped', async () => {
    assert.equal((await put('/v1/agent/force-leave/server-1')).status, 200);
    const unknown = await put('/v1/agent/force-leave/nobody');
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), "agent: No node found with name 'nobody'");
    // A server node in the catalog with no live replica behind it (as a replica that died on a shared store).
    const reg = await fetch(`${server.url}/v1/catalog/register`, { method: 'PUT', body: JSON.stringify({ Node: 'server-gone', Address: '10.0.0.2', Service: { ID: 'consul', Service: 'consul', Port: 8300 } }) });
    assert.equal(reg.status, 200);
    assert.equal((await put('/v1/agent/force-leave/server-gone')).status, 200);
    assert.equal(await (await fetch(`${server.url}/v1/catalog/node/server-gone`)).json(), null);
  });
});

describe('agent: monitor', () => {
  test('streams log lines as text, filtered by level', async () => {
    const res = await fetch(`${server.url}/v1/agent/monitor?loglevel=info`);
    assert.equal(res.status, 200);
    // A log line at info (reload logs one) and one at debug (the monitor's own "attached" line is debug).
    const reading = readUntil(res, (t) => t.includes('reload requested'));
    await new Promise((r) => setTimeout(r, 100));
    await put('/v1/agent/reload');
    const text = await reading;
    assert.match(text, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[INFO\] {2}server\.agent: reload requested/m);
    assert.doesNotMatch(text, /\[DEBUG\]/);
  });

  test('?logjson streams hclog JSON lines; debug includes debug lines', async () => {
    const res = await fetch(`${server.url}/v1/agent/monitor?loglevel=debug&logjson`);
    const reading = readUntil(res, (t) => t.includes('leave requested'));
    await new Promise((r) => setTimeout(r, 100));
    await put('/v1/agent/leave');
    const lines = (await reading).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    const leave = lines.find((l) => l['@message']!.startsWith('leave requested'))!;
    assert.equal(leave['@level'], 'info');
    assert.equal(leave['@module'], 'server.agent');
    assert.ok(!Number.isNaN(Date.parse(leave['@timestamp']!)));
    assert.ok(lines.some((l) => l['@level'] === 'debug'), 'debug lines are included at loglevel=debug');
  });

  test('an unknown level is a 400', async () => {
    const res = await fetch(`${server.url}/v1/agent/monitor?loglevel=loud`);
    assert.equal(res.status, 400);
    assert.equal(await res.text(), 'Unknown log level: loud');
  });
});
