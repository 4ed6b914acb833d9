/**
 * Sidecar supervision with the real `meshgate proxy`: the agent starts `meshgate proxy -sidecar-for web` for the
 * `sidecar_service` of its definition, the proxy reads its registration from the agent and opens its public
 * listener (so the sidecar's "Connect Sidecar Listening" TCP check, agent/sidecar_service.go's default, passes in
 * the catalog); a proxy killed with SIGKILL is started again; the proxy stops with the agent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { accepts, freePort, startTestServer, tempDir } from '../helpers/server.ts';
import { getJson, spawnAgent, type AgentProcess } from './helpers.ts';

const WAIT = { deadlineMs: 90_000, intervalMs: 100 };

let dir: ReturnType<typeof tempDir>;
let server: RunningServer;
let agent: AgentProcess;
let app: Server;
let sidecarPort: number;

/** The pids of `meshgate proxy` children the agent logged as started, in order. */
function proxyPids(): number[] {
  const pids: number[] = [];
  for (const line of agent.output().split('\n')) {
    if (line.includes('"sidecar proxy started"')) pids.push((JSON.parse(line) as { pid: number }).pid);
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function listening(): Promise<string | undefined> {
  const checks = await getJson<Array<{ Name: string; Status: string; Output: string }>>(`${server.url}/v1/health/checks/web-sidecar-proxy`);
  return checks.find((c) => c.Name === 'Connect Sidecar Listening')?.Status;
}

before(async () => {
  dir = tempDir('meshgate-agent-sidecar-');
  app = createServer((_req, res) => res.end('web'));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  sidecarPort = await freePort();
  server = await startTestServer();
  mkdirSync(join(dir.path, 'conf'));
  writeFileSync(join(dir.path, 'conf', 'web.json'), JSON.stringify({
    ports: { sidecar_min_port: sidecarPort, sidecar_max_port: sidecarPort },
    service: { name: 'web', address: '127.0.0.1', port: (app.address() as { port: number }).port, connect: { sidecar_service: {} } },
  }));
  agent = await spawnAgent(['-retry-join', server.url, '-config-dir', join(dir.path, 'conf'), '-node-name', 'vm-sidecar', '-anti-entropy-interval', '2s']);
});

after(async () => {
  await agent?.stop();
  for (const pid of agent ? proxyPids() : []) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  await server?.close();
  app?.close();
  dir?.remove();
});

test('the agent runs meshgate proxy for its sidecar, restarts it after a SIGKILL and stops it on exit', async () => {
  await waitFor(async () => (await listening()) === 'passing', 'the proxy listening on its sidecar port (TCP check passing)', WAIT);
  const [first] = proxyPids();
  assert.ok(first && alive(first), 'the first proxy runs');
  assert.match(agent.output(), /\[sidecar web-sidecar-proxy\] ==> Meshgate proxy running!/, 'the proxy\'s output is relayed with a prefix');

  process.kill(first, 'SIGKILL');
  const second = await waitFor(() => proxyPids().find((p) => p !== first && alive(p)), 'a second proxy started by the supervisor', WAIT);
  await waitFor(() => accepts(sidecarPort), 'the restarted proxy listening on the same sidecar port', WAIT);

  await agent.stop();
  await waitFor(() => !alive(second), 'the proxy stopped with the agent', WAIT);
});
