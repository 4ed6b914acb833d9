/**
 * Log rotation as logrotate does it, through a real `meshgate gateway` process with two node:cluster workers: the
 * access log and the gateway log files are renamed, SIGUSR1 goes to the primary, and the lines of the next requests
 * land in new files at the configured paths — written by every worker, since each worker writes for itself.
 * Traefik reopens its log files on USR1 (docs "Access Logs": "Log Rotation … USR1 signal"; cmd/traefik's
 * signal handler for syscall.SIGUSR1).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { eventually, get, startUpstream, tempDir, type Upstream } from './helpers.ts';

const cli = new URL('../../src/cli/main.ts', import.meta.url).pathname;

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream('A');
});
after(() => upstream.close());

const lines = async (file: string): Promise<Array<Record<string, unknown>>> => {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
};

test('SIGUSR1 to the primary: every worker reopens accessLog.filePath and log.filePath after a rename', async (t) => {
  const dir = await tempDir('mg-logrotate-');
  const access = join(dir, 'access.log');
  const gatewayLog = join(dir, 'gateway.log');
  await writeFile(join(dir, 'dynamic.yml'), `
http:
  routers:
    all:
      rule: PathPrefix(\`/\`)
      service: svc
  services:
    svc:
      loadBalancer:
        servers:
          - url: "${upstream.url}"
`);
  await writeFile(join(dir, 'gateway.yml'), `
entryPoints:
  web:
    address: "127.0.0.1:0"
    transport:
      lifeCycle:
        graceTimeOut: 1s
providers:
  providersThrottleDuration: 20ms
  file:
    filename: ${join(dir, 'dynamic.yml')}
log:
  level: INFO
  format: json
  filePath: ${gatewayLog}
accessLog:
  filePath: ${access}
  format: json
`);
  // Its own process group, so the primary and both workers can be ended together whatever happens.
  const proc = spawn(process.execPath, [cli, 'gateway', '--config', join(dir, 'gateway.yml'), '--workers', '2'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  t.after(() => {
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const web = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const found = /web=[^:,\s]+:(\d+)/.exec(line);
      if (found) resolve(`http://127.0.0.1:${found[1]}`);
    });
    void exited.then(() => reject(new Error('gateway exited before it was ready')));
  });

  // Each request on a new connection, so both workers serve some (node:cluster hands connections round-robin).
  const burst = async (tag: string, n: number) => {
    for (let i = 0; i < n; i++) assert.equal((await get(`${web}/${tag}/${i}`, { headers: { connection: 'close' } })).status, 200);
  };
  await eventually(async () => assert.equal((await get(`${web}/warmup`, { headers: { connection: 'close' } })).status, 200));
  await burst('before', 20);
  await eventually(async () => assert.equal((await lines(access)).filter((l) => String(l.RequestPath).startsWith('/before/')).length, 20));

  await rename(access, `${access}.1`);
  await rename(gatewayLog, `${gatewayLog}.1`);
  proc.kill('SIGUSR1');
  // The reopen is asynchronous to the signal; the lines of requests made after it must reach the new file.
  await eventually(async () => {
    await burst('after', 4);
    const fresh = await lines(access);
    assert.ok(fresh.some((l) => String(l.RequestPath).startsWith('/after/')), 'new access log file has the next requests');
  }, 20_000);
  await burst('late', 20);
  await eventually(async () => assert.equal((await lines(access)).filter((l) => String(l.RequestPath).startsWith('/late/')).length, 20), 20_000);
  const rotated = await lines(`${access}.1`);
  assert.equal(rotated.filter((l) => String(l.RequestPath).startsWith('/late/')).length, 0, 'nothing after the reopen went to the moved file');
  assert.equal(rotated.filter((l) => String(l.RequestPath).startsWith('/before/')).length, 20);
  // The gateway log was reopened too: the primary's "log files reopened" line is in the new file.
  await eventually(async () => assert.ok((await lines(gatewayLog)).some((l) => String(l.message).includes('SIGUSR1')), 'the primary logs into the new gateway log'));

});
