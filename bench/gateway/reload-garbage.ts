/**
 * What a 50,000-router reload allocates and keeps on the gateway's serving thread, counted (issue 14, item 4): the
 * counts a busy host does not move, where the wall-clock gaps of reload.ts mean little.
 *
 *   node bench/gateway/reload-garbage.ts [--routers 50000] [--rounds 1] [--json]
 *
 * One in-process gateway (`runGateway`, `--workers 1`: file provider, aggregator, runtime, last good copy — the path a
 * reload takes) started on a one-router file, no traffic; the file is rewritten to `--routers` routers (the
 * configuration of reload.ts, bench/gateway/configs.ts) and, once that serves, back to one router. Reported:
 *   - bytes allocated on the V8 heap from the rewrite until the swap (and until the last good copy is written),
 *     per router, and split by reload phase (`markPhase`, src/lib/phases.ts): the heap used at the end of each phase,
 *     plus what every GC inside it freed (`v8.GCProfiler`, restarted at each phase mark);
 *   - the number of mark-compacts during the reload and their total and longest pause (the GC's own cost figure);
 *   - the heap retained (after `gc()`, `heapUsed`) with one router, with the large configuration serving, and after
 *     reverting — what every major GC of the serving heap has to mark — and its difference per router;
 *   - the serving thread's CPU time from the rewrite to the swap (`process.threadCpuUsage`).
 * It re-runs itself with `--expose-gc` and the gateway's own V8 flags (runtime/heap.ts) when started without them.
 */
import { spawnSync } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { reloadDynamicYaml } from './configs.ts';

const { values: args } = parseArgs({
  options: { routers: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '1' }, json: { type: 'boolean', default: false } },
});
const routers = Number(args.routers);
const rounds = Number(args.rounds);
const asJson = args.json;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  // The gateway's V8 flags (its young generation) as installed, and gc() for the retained-heap readings.
  const { gatewayNodeFlags } = await import('../../src/gateway/runtime/heap.ts');
  const run = spawnSync(process.execPath, ['--expose-gc', ...gatewayNodeFlags(), fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

const { runGateway } = await import('../../src/gateway/main.ts');
const { RELOAD_PHASE_CHANNEL } = await import('../../src/lib/phases.ts');

interface GcRecord { type: string; costUs: number; freed: number }

/** Allocation accounting: heap used now + everything GCs freed since `start`, less the heap used at `start`. */
class AllocationMeter {
  #profiler = new v8.GCProfiler();
  #startUsed = 0;
  #freed = 0;
  readonly gcs: GcRecord[] = [];

  start(): void {
    this.#startUsed = v8.getHeapStatistics().used_heap_size;
    this.#freed = 0;
    this.gcs.length = 0;
    this.#profiler.start();
  }

  /** Bytes allocated since `start()`; the profiler restarts, so this can be read at every phase mark. */
  read(): number {
    for (const s of this.#profiler.stop().statistics) {
      const freed = s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
      this.#freed += freed;
      this.gcs.push({ type: s.gcType, costUs: s.cost, freed });
    }
    const used = v8.getHeapStatistics().used_heap_size;
    this.#profiler = new v8.GCProfiler();
    this.#profiler.start();
    return used + this.#freed - this.#startUsed;
  }

  stop(): number {
    const total = this.read();
    this.#profiler.stop();
    return total;
  }
}

function retained(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const MiB = 1024 * 1024;
const work = mkdtempSync(join(os.tmpdir(), 'meshgate-garbage-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const dynamic = join(work, 'dynamic.yml');
// The upstream is never called: no traffic here, only the build.
const upstream = 'http://127.0.0.1:9';
const smallBytes = Buffer.from(reloadDynamicYaml(upstream, 1));
const largeBytes = Buffer.from(reloadDynamicYaml(upstream, routers));
writeFileSync(dynamic, smallBytes);
const staticFile = join(work, 'static.yml');
writeFileSync(staticFile, [
  'entryPoints:', '  web:', '    address: "127.0.0.1:0"', '  traefik:', '    address: "127.0.0.1:0"',
  'providers:', '  providersThrottleDuration: 50ms', `  maxRouters: ${Math.max(routers, 100_000)}`, '  file:', `    filename: "${dynamic}"`, '    watch: true',
  'log:', '  level: ERROR', '',
].join('\n'));

const meter = new AllocationMeter();
let phaseLog: Array<{ phase: string; allocated: number }> | undefined;
const waiters = new Map<string, () => void>();
subscribe(RELOAD_PHASE_CHANNEL, (message) => {
  const phase = String(message);
  if (phaseLog) phaseLog.push({ phase, allocated: meter.read() });
  waiters.get(phase)?.();
});
const reached = (phase: string) => new Promise<void>((resolve) => waiters.set(phase, () => {
  waiters.delete(phase);
  resolve();
}));

async function rewrite(bytes: Buffer): Promise<void> {
  const tmp = `${dynamic}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, dynamic);
}

interface Reload {
  allocatedToSwap: number;
  allocatedToLastGood: number;
  cpuMsToSwap: number;
  markCompacts: number;
  markCompactMs: number;
  longestMarkCompactMs: number;
  scavenges: number;
  scavengeMs: number;
  phases: Array<{ phase: string; allocated: number }>;
}

/** Rewrites the file and measures until the swap and the last good copy; GCs counted until the copy is written. */
async function reload(bytes: Buffer): Promise<Reload> {
  const swapped = reached('runtime:swapped');
  const written = reached('last-good:written');
  phaseLog = [];
  meter.start();
  const cpu0 = process.threadCpuUsage();
  await rewrite(bytes);
  await swapped;
  const cpu = process.threadCpuUsage(cpu0);
  const allocatedToSwap = phaseLog.find((p) => p.phase === 'runtime:swapped')!.allocated;
  await written;
  const allocatedToLastGood = meter.stop();
  const phases = phaseLog;
  phaseLog = undefined;
  const majors = meter.gcs.filter((g) => g.type === 'MarkSweepCompact');
  const minors = meter.gcs.filter((g) => g.type === 'Scavenge' || g.type === 'MinorMarkSweep');
  return {
    allocatedToSwap,
    allocatedToLastGood,
    cpuMsToSwap: (cpu.user + cpu.system) / 1000,
    markCompacts: majors.length,
    markCompactMs: majors.reduce((s, g) => s + g.costUs, 0) / 1000,
    longestMarkCompactMs: majors.reduce((m, g) => Math.max(m, g.costUs), 0) / 1000,
    scavenges: minors.length,
    scavengeMs: minors.reduce((s, g) => s + g.costUs, 0) / 1000,
    phases,
  };
}

const handle = await runGateway({ configFile: staticFile, workers: 1, handleSignals: false });
await sleep(500);
const results: Array<{ round: number; retainedSmall: number; large: Reload; retainedLarge: number; revert: Reload; retainedAfter: number }> = [];
for (let round = 1; round <= rounds; round++) {
  const retainedSmall = retained();
  const large = await reload(largeBytes);
  // Replaced builds close after their (here: no) in-flight requests; give the drain a turn.
  await sleep(200);
  const retainedLarge = retained();
  const revert = await reload(smallBytes);
  await sleep(200);
  const retainedAfter = retained();
  results.push({ round, retainedSmall, large, retainedLarge, revert, retainedAfter });
}
await handle.close();

if (asJson) {
  console.log(JSON.stringify({ routers, results }, null, 2));
} else {
  const mib = (n: number) => (n / MiB).toFixed(1);
  const perRouter = (n: number) => (n / routers).toFixed(0);
  console.log(`\n## Reload garbage: ${routers.toLocaleString('en')} routers, one in-process gateway, no traffic`);
  console.log(`\n${new Date().toISOString()} · load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} · node ${process.version} · ${process.execArgv.join(' ')}\n`);
  for (const r of results) {
    console.log(`### round ${r.round}\n`);
    console.log('| measure | value | per router |');
    console.log('|---|---|---|');
    console.log(`| allocated, rewrite → swap | ${mib(r.large.allocatedToSwap)} MiB | ${perRouter(r.large.allocatedToSwap)} B |`);
    console.log(`| allocated, rewrite → swap and last good copy written | ${mib(r.large.allocatedToLastGood)} MiB | ${perRouter(r.large.allocatedToLastGood)} B |`);
    console.log(`| retained heap: one router → ${routers} → one | ${mib(r.retainedSmall)} → ${mib(r.retainedLarge)} → ${mib(r.retainedAfter)} MiB | ${perRouter(r.retainedLarge - r.retainedSmall)} B |`);
    console.log(`| mark-compacts during the reload: count · total · longest | ${r.large.markCompacts} · ${r.large.markCompactMs.toFixed(1)} ms · ${r.large.longestMarkCompactMs.toFixed(1)} ms | |`);
    console.log(`| scavenges: count · total | ${r.large.scavenges} · ${r.large.scavengeMs.toFixed(1)} ms | |`);
    console.log(`| serving thread CPU, rewrite → swap | ${r.large.cpuMsToSwap.toFixed(0)} ms | |`);
    console.log(`| revert: allocated · mark-compacts | ${mib(r.revert.allocatedToLastGood)} MiB · ${r.revert.markCompacts} (${r.revert.markCompactMs.toFixed(1)} ms) | |`);
    // Marks of concurrent work interleave (the last good copy is written while the build runs): a span between two
    // marks holds whatever ran then.
    console.log('\nallocated between consecutive phase marks:\n');
    console.log('| from mark | to mark | MiB | B per router |');
    console.log('|---|---|---|---|');
    let last = { phase: '(rewrite)', allocated: 0 };
    for (const p of r.large.phases) {
      console.log(`| ${last.phase} | ${p.phase} | ${mib(p.allocated - last.allocated)} | ${perRouter(p.allocated - last.allocated)} |`);
      last = p;
    }
    console.log('');
  }
}
