/**
 * The gateway's V8 heap settings (src/gateway/runtime/heap.ts) reach every gateway process. V8 fixes the young
 * generation's size when it creates the heap, so the cap must be on the command line: bin/meshgate puts it there for
 * `meshgate gateway`, the cluster primary for its workers. Run-time `v8.setFlagsFromString` of the same flag (what the
 * gateway did before) leaves the new space growing to V8's default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GATEWAY_SEMI_SPACE_MIB, gatewayNodeFlags, semiSpaceConfigured } from '../../src/gateway/runtime/heap.ts';
import { runGateway } from '../../src/gateway/main.ts';
import { silentLogger } from '../../src/lib/logger.ts';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

test('gatewayNodeFlags caps the semi-space unless the operator set it on the command line or in NODE_OPTIONS', () => {
  assert.deepEqual(gatewayNodeFlags([], ''), [`--max-semi-space-size=${GATEWAY_SEMI_SPACE_MIB}`]);
  assert.deepEqual(gatewayNodeFlags(['--max-semi-space-size=32'], ''), []);
  assert.deepEqual(gatewayNodeFlags([], '--max-old-space-size=512 --max-semi-space-size=4'), []);
  assert.ok(semiSpaceConfigured(['--max_semi_space_size=4'], ''), 'V8 accepts underscores too');
});

test('bin/meshgate starts `meshgate gateway` with the gateway\'s Node flags, other commands without', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mg-heap-bin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'bin'));
  await copyFile(join(root, 'bin/meshgate'), join(dir, 'bin/meshgate'));
  await chmod(join(dir, 'bin/meshgate'), 0o755);
  await mkdir(join(dir, 'dist/cli'), { recursive: true });
  await writeFile(join(dir, 'dist/cli/main.js'), 'console.log(JSON.stringify(process.execArgv));\n');
  const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
  const execArgv = async (args: string[], extra: Record<string, string> = {}) => JSON.parse((await run(join(dir, 'bin/meshgate'), args, { env: { ...env, ...extra } })).stdout) as string[];
  assert.deepEqual(await execArgv(['gateway', '--configFile=x.yml']), gatewayNodeFlags([], ''));
  assert.deepEqual(await execArgv(['server']), []);
  assert.deepEqual(await execArgv(['gateway'], { NODE_OPTIONS: '--max-semi-space-size=16' }), [], 'the operator\'s value wins');
});

/** The largest new space a Node process started with `flags` reaches while it makes short-lived garbage, in MiB. */
async function newSpaceUnderChurn(flags: string[], runtimeFlag?: string): Promise<number> {
  const script = `
    const v8 = require('node:v8');
    ${runtimeFlag ? `v8.setFlagsFromString(${JSON.stringify(runtimeFlag)});` : ''}
    let peak = 0, keep = [];
    for (let i = 0; i < 3e6; i++) {
      keep.push({ i, s: 'x' + i });
      if (keep.length > 2e5) keep = [];
      if (i % 1e5 === 0) peak = Math.max(peak, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
    }
    console.log(peak / 2 ** 20);
  `;
  return Number((await run(process.execPath, [...flags, '-e', script], { timeout: 120_000 })).stdout);
}

/**
 * The new space holds two semi-spaces, so the cap allows 2 × its value; V8 also counts a page or so beside them (runs
 * here read 16 or 16.25 MiB for a cap of 8, and 128 without one), hence one MiB of slack.
 */
const CAPPED_NEW_SPACE_MIB = 2 * GATEWAY_SEMI_SPACE_MIB + 1;

test('with the gateway\'s flags the new space stays within the cap; the same flag set at run time does not hold it', async () => {
  const capped = await newSpaceUnderChurn(gatewayNodeFlags([], ''));
  assert.ok(capped <= CAPPED_NEW_SPACE_MIB, `new space ${capped} MiB ≤ 2 × ${GATEWAY_SEMI_SPACE_MIB} MiB + 1 MiB of page overhead`);
  // What runGateway did before: V8 had already fixed the limit, so the new space grows as without the flag.
  const uncapped = await newSpaceUnderChurn([]);
  // On a machine with little memory V8's own limit may already be this small; then there is nothing to show.
  if (uncapped <= CAPPED_NEW_SPACE_MIB) return;
  // V8 grows the new space by its own survival heuristics, which a loaded host can keep small in one run; one run past
  // the cap is enough to show the run-time flag does not hold it (a clean-clone CI run at load ~20 saw none in one try).
  let runtime = 0;
  for (let i = 0; i < 3 && runtime <= CAPPED_NEW_SPACE_MIB; i++) {
    runtime = Math.max(runtime, await newSpaceUnderChurn([], `--max-semi-space-size=${GATEWAY_SEMI_SPACE_MIB}`));
  }
  assert.ok(runtime > CAPPED_NEW_SPACE_MIB, `a run-time flag leaves the new space growing (${runtime} MiB; ${uncapped} MiB without it)`);
});

test('cluster workers are forked with the gateway\'s Node flags', { skip: semiSpaceConfigured() && 'the test process has its own semi-space flag' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mg-heap-cluster-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'static.yml');
  await writeFile(configFile, 'entryPoints:\n  web:\n    address: "127.0.0.1:0"\n');
  const handle = await runGateway({ configFile, workers: 2, lastGoodFile: false, handleSignals: false, logger: silentLogger() });
  t.after(() => handle.close());
  assert.ok(cluster.settings.execArgv?.includes(`--max-semi-space-size=${GATEWAY_SEMI_SPACE_MIB}`), `workers get the cap: ${cluster.settings.execArgv?.join(' ')}`);
});
