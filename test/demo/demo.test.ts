/**
 * The README's main job, as a test: the demo of the whole architecture starts on free ports, every `curl` line it
 * prints answers 2xx (run with the real curl), the pieces behave as the demo says (B's answer carries its KV
 * config, A → C is refused by the intention, the JWT route refuses a request without a token), and stopping it
 * leaves no process behind — the agent's sidecars included (each child runs in its own process group).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { startDemo, type RunningDemo } from '../../examples/demo/topology.ts';
import { freeDemoPorts } from './free-ports.ts';

const run = promisify(execFile);
let demo: RunningDemo | undefined;

after(async () => {
  await demo?.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the demo starts, every printed curl line answers 2xx, and stopping it leaves no process', { timeout: 240_000 }, async () => {
  const ports = await freeDemoPorts();
  demo = await startDemo({ ports });
  for (const { what, args } of demo.curls) {
    const { stdout } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
    assert.match(stdout, /^2\d\d$/, `${what}: ${stdout}`);
  }
  const chain = JSON.parse((await run('curl', ['-s', ...demo.curls[0]!.args])).stdout);
  assert.equal(chain.next.service, 'b');
  assert.deepEqual(chain.next.config, { greeting: 'hello from KV', color: 'blue' });
  assert.equal(chain.next.next.service, 'c');
  const denied = JSON.parse((await run('curl', ['-s', ...demo.curls[1]!.args])).stdout);
  assert.match(denied.next.error, /refused or unreachable/);
  const { stdout: noToken } = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${demo.gatewayUrl}/secure/`]);
  assert.equal(noToken, '401');
  assert.equal(demo.redis, existsSync('/usr/bin/redis-server'));

  const groups = [...demo.processes.keys()];
  assert.ok(groups.length >= 8, `processes started: ${[...demo.processes.values()].join(', ')}`);
  await demo.stop();
  demo = undefined;
  assert.deepEqual(groups.filter(alive), [], 'no process group left');
});
