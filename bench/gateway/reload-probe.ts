/**
 * A probe preloaded into a gateway process to find what stalls its event loop during a reload:
 *
 *   MESHGATE_PROBE_OUT=/tmp/probe node --import ./bench/gateway/reload-probe.ts … gateway …
 *   (or `node bench/gateway/reload.ts --probe`, which does this and prints the summary)
 *
 * It records, on the main thread only:
 *   - every event-loop turn whose thread CPU time (`process.threadCpuUsage`, which a loaded host moves far less than
 *     wall time) reaches `MESHGATE_PROBE_MS` (default 8), measured between two runs of a self-renewing setImmediate —
 *     so the loop never blocks in poll while the probe runs (under a benchmark's load it never does anyway);
 *   - every GC pause (`PerformanceObserver('gc')`), with its kind;
 *   - the reload's phases (`markPhase` in src/lib/phases.ts, a diagnostics channel);
 *   - a CPU profile (the inspector, in-thread, 500 µs samples), read per long turn: the functions that took its time;
 *   - memory every second (RSS, V8 heap used and committed, external).
 * On SIGUSR2 it writes everything to `${MESHGATE_PROBE_OUT}.<pid>.json` (times are epoch milliseconds, so the driver
 * can place them against its own clock). Nothing here changes what the gateway does beyond the probe's own cost.
 */
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** The channel src/lib/phases.ts publishes on (not imported: the probe must load beside dist/ as well). */
const PHASE_CHANNEL = 'meshgate:gateway:reload-phase';

export interface ProbeTurn { at: number; cpuMs: number; wallMs: number; phase: string; self: string[]; ours: string[] }
export interface ProbeGc { at: number; ms: number; kind: string }
export interface ProbeMemory { at: number; rssMiB: number; heapUsedMiB: number; heapCommittedMiB: number; externalMiB: number }
export interface ProbeReport {
  thresholdMs: number;
  turns: ProbeTurn[];
  gcs: ProbeGc[];
  phases: Array<{ at: number; phase: string }>;
  memory: ProbeMemory[];
  /** Every turn's CPU, bucketed: `[upper bound ms, count]` (the last bound is Infinity, written as null). */
  histogram: Array<[number | null, number]>;
}

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; samples: number[]; timeDeltas: number[] }

const out = process.env.MESHGATE_PROBE_OUT;
// Not in the configuration reader's child process (it inherits NODE_OPTIONS): the gateway is what is measured.
if (isMainThread && out && !process.env.MESHGATE_CONFIG_READER) start(out, Number(process.env.MESHGATE_PROBE_MS ?? 8));

function start(outPrefix: string, thresholdMs: number): void {
  const epoch = (now: number) => performance.timeOrigin + now;
  const cpuNow = () => {
    const u = process.threadCpuUsage();
    return (u.user + u.system) / 1000;
  };
  const bounds = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, Infinity];
  const counts = bounds.map(() => 0);
  const long: Array<{ start: number; end: number; cpuMs: number; phase: string }> = [];
  const phases: Array<{ at: number; phase: string }> = [];
  const gcs: ProbeGc[] = [];
  const memory: ProbeMemory[] = [];
  let phase = '';

  let lastCpu = cpuNow();
  let lastWall = performance.now();
  const turn = () => {
    const cpu = cpuNow();
    const wall = performance.now();
    const spent = cpu - lastCpu;
    counts[bounds.findIndex((b) => spent < b)]!++;
    if (spent >= thresholdMs) long.push({ start: lastWall, end: wall, cpuMs: spent, phase });
    lastCpu = cpu;
    lastWall = wall;
    setImmediate(turn).unref();
  };
  setImmediate(turn).unref();

  subscribe(PHASE_CHANNEL, (message) => {
    phase = String(message);
    phases.push({ at: epoch(performance.now()), phase });
  });

  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
      gcs.push({ at: epoch(entry.startTime), ms: entry.duration, kind: kinds[kind] ?? String(kind) });
    }
  }).observe({ entryTypes: ['gc'] });

  const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  setInterval(() => {
    const m = process.memoryUsage();
    const heap = v8.getHeapStatistics();
    memory.push({
      at: epoch(performance.now()), rssMiB: mib(m.rss), heapUsedMiB: mib(heap.used_heap_size), heapCommittedMiB: mib(heap.total_heap_size), externalMiB: mib(m.external),
    });
  }, 1000).unref();

  // An experiment for memory after a shrink (`reload.ts --probe --reduce size|last-resort`): on SIGWINCH, sent by the
  // driver 2 s after the revert took effect, ask V8 for a memory-reducing GC — `size` turns on --optimize-for-size
  // until the next mark-compact (which then releases V8's pooled pages), `last-resort` runs gc({ flavor: 'last-resort' })
  // at once — and record the pauses that follow (the gc observer above) and the mark times.
  const reduce = process.env.MESHGATE_PROBE_REDUCE;
  if (reduce) {
    process.on('SIGWINCH', () => {
      phases.push({ at: epoch(performance.now()), phase: `reduce:${reduce}` });
      if (reduce === 'size') {
        v8.setFlagsFromString('--optimize-for-size');
        const seen = gcs.length;
        const off = setInterval(() => {
          if (!gcs.slice(seen).some((g) => g.kind === 'mark-compact')) return;
          clearInterval(off);
          v8.setFlagsFromString('--no-optimize-for-size');
          phases.push({ at: epoch(performance.now()), phase: 'reduce:done' });
        }, 20);
      } else {
        v8.setFlagsFromString('--expose-gc');
        const gc = runInNewContext('gc') as (options: object) => void;
        gc({ type: 'major', flavor: 'last-resort' });
        phases.push({ at: epoch(performance.now()), phase: 'reduce:done' });
      }
    });
  }

  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // The profile's clock is the monotonic one behind process.hrtime; performance.now() is that clock minus an origin.
  const originMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', (err, result) => {
      const profile = err ? undefined : (result as { profile: Profile }).profile;
      const report: ProbeReport = {
        thresholdMs,
        turns: long.map((t) => ({ at: epoch(t.start), cpuMs: round(t.cpuMs), wallMs: round(t.end - t.start), phase: t.phase, ...attribute(profile, originMs, t.start, t.end) })),
        gcs,
        phases,
        memory,
        histogram: bounds.map((b, i) => [Number.isFinite(b) ? b : null, counts[i]!]),
      };
      writeFileSync(`${outPrefix}.${process.pid}.json`, JSON.stringify(report));
      session.post('Profiler.start');
    });
  });
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The functions that took a turn's samples: most self time, and the meshgate frames most often on the stack. */
function attribute(profile: Profile | undefined, originMs: number, start: number, end: number): { self: string[]; ours: string[] } {
  if (!profile) return { self: [], ours: [] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const ours = new Map<string, number>();
  let at = profile.startTime / 1000 - originMs;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]! / 1000;
    if (at < start || at > end) continue;
    const leaf = byId.get(profile.samples[i]!)!;
    self.set(name(leaf), (self.get(name(leaf)) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!;
      if (!/\/(src|dist)\//.test(node.callFrame.url) || /node_modules/.test(node.callFrame.url)) continue;
      const key = name(node);
      if (seen.has(key)) continue;
      seen.add(key);
      ours.set(key, (ours.get(key) ?? 0) + 1);
    }
  }
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${v}× ${k}`);
  return { self: top(self, 5), ours: top(ours, 8) };
}
