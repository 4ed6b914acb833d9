/**
 * The gateway as a process tree: SIGTERM drains in-flight requests before exit (in-process and with node:cluster
 * workers), workers share the listening socket and get every reload, SIGHUP re-reads providers, and `/metrics`
 * adds up every worker's counters.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { eventually, get, startUpstream, staticYaml, tempDir, writeAtomic, type Upstream } from './helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const cli = join(root, 'src/cli/main.ts');
const childScript = new URL('./fixtures/gateway-child.ts', import.meta.url).pathname;

let a: Upstream;
let b: Upstream;
let slow: Upstream;
before(async () => {
  a = await startUpstream('A');
  b = await startUpstream('B');
  slow = await startUpstream('slow', { delayMs: 1500 });
});
after(async () => {
  await Promise.all([a.close(), b.close(), slow.close()]);
});

const config = (upstream: Upstream) => `
http:
  routers:
    main:
      rule: PathPrefix(\`/\`)
      service: svc
    slow:
      rule: PathPrefix(\`/slow\`)
      service: slow
  services:
    svc:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
    slow:
      loadBalancer:
        servers:
          - url: "${slow.url}"
`;

interface Child {
  proc: ChildProcess;
  web: string;
  admin: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `meshgate gateway --config … --workers N` (the CLI), or the stand-in script if the CLI is absent; waits until ready. */
async function spawnGateway(staticFile: string, workers: number): Promise<Child> {
  const useCli = existsSync(cli);
  const args = useCli ? [cli, 'gateway', '--config', staticFile, '--workers', String(workers)] : [childScript, staticFile, String(workers)];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MESHGATE_LOG_LEVEL: 'warn', MESHGATE_LOG_FORMAT: 'json' } });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: proc.stdout! });
  const addresses = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway child did not start within 120 s')), 120_000);
    lines.on('line', (line) => {
      // The CLI: "==> Meshgate gateway running! Entry points: web=127.0.0.1:PORT, traefik=127.0.0.1:PORT".
      const cliLine = /Entry points: (.*)$/.exec(line);
      if (cliLine) {
        clearTimeout(timer);
        resolve(Object.fromEntries(cliLine[1]!.split(', ').map((entry) => {
          const [name, address] = entry.split('=');
          return [name!, Number(address!.slice(address!.lastIndexOf(':') + 1))];
        })));
        return;
      }
      try {
        const msg = JSON.parse(line) as { ready?: boolean; addresses?: Record<string, { port: number }> };
        if (msg.ready && msg.addresses) {
          clearTimeout(timer);
          resolve(Object.fromEntries(Object.entries(msg.addresses).map(([name, a]) => [name, a.port])));
        }
      } catch {
        // log lines are not ours to parse
      }
    });
    void exit.then(() => reject(new Error('gateway child exited before it was ready')));
  });
  return { proc, exit, web: `http://127.0.0.1:${addresses.web}`, admin: `http://127.0.0.1:${addresses.traefik}` };
}

for (const workers of [1, 2]) {
  test(`SIGTERM drains in-flight requests before the process exits (workers: ${workers})`, async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'dynamic.yml'), config(a));
    await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml'));
    const child = await spawnGateway(join(dir, 'gateway.yml'), workers);
    try {
      await eventually(async () => assert.equal((await get(`${child.web}/`)).json().upstream, 'A'));
      const hitsBefore = slow.hits;
      const inflight = Array.from({ length: 6 }, (_, i) => get(`${child.web}/slow/${i}`));
      await eventually(async () => assert.equal(slow.hits - hitsBefore, 6));
      child.proc.kill('SIGTERM');
      const replies = await Promise.all(inflight);
      assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      assert.deepEqual(replies.map((r) => r.json().upstream), Array(6).fill('slow'));
      const { code } = await child.exit;
      assert.equal(code, 0);
      await assert.rejects(get(`${child.web}/`));
    } finally {
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    }
  });
}

test('cluster workers share the socket, all take each reload, SIGHUP re-reads, and /metrics sums the workers', async () => {
  const dir = await tempDir();
  const dynamic = join(dir, 'dynamic.yml');
  await writeFile(dynamic, config(a));
  // watch off: only SIGHUP makes the gateway read the file again.
  await writeFile(join(dir, 'gateway.yml'), staticYaml('dynamic.yml').replace('watch: true', 'watch: false'));
  const child = await spawnGateway(join(dir, 'gateway.yml'), 2);
  try {
    await eventually(async () => assert.equal((await get(`${child.web}/`)).json().upstream, 'A'));
    const n = 40;
    for (let i = 0; i < n; i++) assert.equal((await get(`${child.web}/count`, { headers: { connection: 'close' } })).status, 200);
    await eventually(async () => {
      const text = (await get(`${child.admin}/metrics`)).text;
      const total = [...text.matchAll(/^traefik_service_requests_total\{[^}]*service="svc@file"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
      assert.ok(total >= n, `aggregated service requests ${total} >= ${n}`);
    });

    await writeAtomic(dynamic, config(b));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await get(`${child.web}/`)).json().upstream, 'A', 'watch is off: no reload before SIGHUP');
    child.proc.kill('SIGHUP');
    await eventually(async () => {
      // New connections land on either worker; every one must have the new configuration.
      for (let i = 0; i < 10; i++) assert.equal((await get(`${child.web}/`, { headers: { connection: 'close' } })).json().upstream, 'B');
    });
  } finally {
    child.proc.kill('SIGTERM');
    await child.exit;
  }
});
