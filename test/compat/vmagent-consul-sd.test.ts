/**
 * A discovery client nobody here wrote: VictoriaMetrics' vmagent (Debian's `victoria-metrics` package, installed by
 * scripts/install-test-deps.sh) with a `consul_sd_configs` scrape job against a real `meshgate server` child. Its
 * Consul discovery reads /v1/agent/self, /v1/catalog/services and /v1/health/service/<name> with blocking queries,
 * as Prometheus' does; every service must come out as a target with its `__meta_consul_*` labels — including one
 * whose name contains `/`, which Consul serves at /v1/health/service/dev/Test (agent/health_endpoint.go reads the
 * name as the whole path suffix). Everything runs on 127.0.0.1; vmagent is stopped after.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, freePort, spawnServer, tempDir, type ServerProcess } from '../helpers/server.ts';

interface Target {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
}

function vmagentBinary(): string {
  for (const candidate of ['vmagent', '/usr/bin/vmagent']) {
    if (spawnSync(candidate, ['-version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  throw new Error('vmagent is not installed (scripts/install-test-deps.sh installs victoria-metrics)');
}

const dir = tempDir('meshgate-vmagent-');
let server: ServerProcess;
let vmagent: ChildProcess;
let vmagentExited: Promise<void>;
let vmagentLog = '';
let vmagentUrl = '';
let sink: Server;

async function register(body: unknown): Promise<void> {
  const res = await fetch(`${server.url}/v1/agent/service/register`, { method: 'PUT', body: JSON.stringify(body) });
  assert.equal(res.status, 200, await res.text());
}

before(async () => {
  const bin = vmagentBinary();
  server = await spawnServer(join(dir.path, 'data'), undefined, ['--dns-port', '-1']);
  await register({ ID: 'dev/Test-1', Name: 'dev/Test', Address: '127.0.0.1', Port: 9100, Tags: ['blue'], Meta: { env: 'prod', owner: 'team-a' } });
  await register({ ID: 'web-1', Name: 'web', Address: '127.0.0.1', Port: 9101, Meta: { tier: 'edge' } });

  // vmagent insists on a remote-write URL: a loopback sink that accepts and drops.
  sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const sinkPort = (sink.address() as { port: number }).port;

  const config = join(dir.path, 'scrape.yml');
  writeFileSync(
    config,
    [
      'scrape_configs:',
      '  - job_name: meshgate',
      '    scrape_interval: 1h', // discovery is what is tested; scrapes of the fake ports would only add noise
      '    consul_sd_configs:',
      `      - server: 127.0.0.1:${server.port}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  vmagentUrl = `http://127.0.0.1:${port}`;
  vmagent = spawn(
    bin,
    [
      `-promscrape.config=${config}`, `-httpListenAddr=127.0.0.1:${port}`,
      `-remoteWrite.url=http://127.0.0.1:${sinkPort}/api/v1/write`, `-remoteWrite.tmpDataPath=${join(dir.path, 'vmagent')}`,
      '-promscrape.consulSDCheckInterval=1s', '-loggerLevel=WARN',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  vmagent.stdout!.on('data', (d: Buffer) => (vmagentLog += d.toString()));
  vmagent.stderr!.on('data', (d: Buffer) => (vmagentLog += d.toString()));
  vmagentExited = new Promise((r) => vmagent.once('exit', () => r()));
});

after(async () => {
  if (vmagent && vmagent.exitCode === null) vmagent.kill('SIGTERM');
  await vmagentExited;
  await server?.stop();
  await new Promise((r) => sink?.close(r));
  dir.remove();
});

async function targets(): Promise<Target[]> {
  try {
    const res = await fetch(`${vmagentUrl}/api/v1/targets`);
    if (!res.ok) return [];
    const body = (await res.json()) as { data: { activeTargets: Target[] } };
    return body.data.activeTargets;
  } catch {
    return []; // not listening yet
  }
}

const byService = (list: Target[], name: string): Target | undefined =>
  list.find((t) => t.discoveredLabels.__meta_consul_service === name);

test('vmagent discovers every service, one named dev/Test included, with its meta as labels', async () => {
  const found = (await eventually(async (): Promise<Target[] | false> => {
    const list = await targets();
    return byService(list, 'dev/Test') && byService(list, 'web') ? list : false;
  }, `vmagent targets for dev/Test and web (vmagent log: ${vmagentLog})`, 60_000, 250)) as Target[];
  const devTest = byService(found, 'dev/Test')!.discoveredLabels;
  assert.equal(devTest.__address__, '127.0.0.1:9100');
  assert.equal(devTest.__meta_consul_service_id, 'dev/Test-1');
  assert.equal(devTest.__meta_consul_service_metadata_env, 'prod');
  assert.equal(devTest.__meta_consul_service_metadata_owner, 'team-a');
  assert.equal(devTest.__meta_consul_tags, ',blue,');
  assert.equal(devTest.__meta_consul_health, 'passing');
  assert.equal(devTest.__meta_consul_dc, 'dc1');
  assert.equal(byService(found, 'web')!.discoveredLabels.__meta_consul_service_metadata_tier, 'edge');
  assert.doesNotMatch(vmagentLog, /consul_sd_config.*error|cannot (query|fetch)/i, 'vmagent logged discovery errors');
});

test('a service registered later reaches vmagent through its blocking queries', async () => {
  await register({ ID: 'dev/Test-2', Name: 'dev/Test', Address: '127.0.0.1', Port: 9102, Meta: { env: 'canary' } });
  const second = (await eventually(async (): Promise<Target | false> => {
    const list = await targets();
    return list.find((t) => t.discoveredLabels.__meta_consul_service_id === 'dev/Test-2') ?? false;
  }, `vmagent target dev/Test-2 (vmagent log: ${vmagentLog})`, 60_000, 250)) as Target;
  assert.equal(second.discoveredLabels.__meta_consul_service_metadata_env, 'canary');
  assert.equal(second.discoveredLabels.__address__, '127.0.0.1:9102');
});
