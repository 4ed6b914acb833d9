/**
 * `bench/mesh/run.ts --diagnose`: where a latency phase's time went inside the sidecars, in figures a busy host moves
 * less than it moves a p99. Per request of the phase and per sidecar main thread, from `/proc/<pid>/task/<pid>/schedstat`
 * (Linux): CPU time, time spent runnable but waiting for a core (run-queue wait), and timeslices (≈ wake-ups); and the
 * V8 GC pauses that began inside the phase (recorded by gc-recorder.ts): count, how many lasted ≥ 2 ms, the longest.
 * A tail that GC explains shows as pauses ≥ 2 ms at about the rate of requests beyond the p99; one that scheduling
 * explains shows as run-queue wait; extra wake-ups per request show as timeslices.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const GC_RECORDER = join(import.meta.dirname, 'gc-recorder.ts');

/** [cpu ns, run-queue wait ns, timeslices] of a process's main thread; zeros once it is gone. */
function schedstat(pid: number): [number, number, number] {
  try {
    const [cpu, wait, slices] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return [cpu ?? 0, wait ?? 0, slices ?? 0];
  } catch {
    return [0, 0, 0];
  }
}

interface Pause { at: number; ms: number; kind: string }

function pauses(dir: string, pid: number, from: number, to: number): Pause[] {
  const file = join(dir, `${pid}.gc`);
  if (!existsSync(file)) return [];
  const out: Pause[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [at, ms, kind] = line.split(' ');
    const p = { at: Number(at), ms: Number(ms), kind: kind ?? '?' };
    if (p.at >= from && p.at <= to) out.push(p);
  }
  return out;
}

/** One sidecar's figures for one phase. */
export interface SidecarPhase { pid: number; cpuUs: number; waitUs: number; slices: number; gc: number; gc2ms: number; gcMaxMs: number; gcKinds: string }

/** Starts watching `pids`; the returned function ends the phase (after `requests` requests) and reports per request. */
export function watchPhase(pids: readonly number[], gcDir: string): (requests: number) => Promise<SidecarPhase[]> {
  const from = Date.now();
  const before = pids.map(schedstat);
  return async (requests) => {
    const to = Date.now();
    const after = pids.map(schedstat);
    await new Promise((r) => setTimeout(r, 400)); // the recorders flush every 200 ms
    return pids.map((pid, i) => {
      const gc = pauses(gcDir, pid, from, to);
      const kinds = new Map<string, number>();
      for (const p of gc) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
      const d = (k: 0 | 1 | 2): number => (after[i]![k] - before[i]![k]) / requests;
      return {
        pid, cpuUs: d(0) / 1e3, waitUs: d(1) / 1e3, slices: d(2), gc: gc.length, gc2ms: gc.filter((p) => p.ms >= 2).length,
        gcMaxMs: gc.reduce((m, p) => Math.max(m, p.ms), 0), gcKinds: [...kinds].map(([k, n]) => `${n} ${k}`).join(', '),
      };
    });
  };
}

/** One line per sidecar, for the round's log. */
export function describe(name: string, requests: number, sidecars: readonly SidecarPhase[]): string {
  return sidecars.map((s) => `  ${name} pid ${s.pid} (c=1, ${requests} requests): CPU ${s.cpuUs.toFixed(1)} µs/req, run-queue wait ${s.waitUs.toFixed(1)} µs/req, `
    + `${s.slices.toFixed(2)} timeslices/req; GC pauses ${s.gc} (${s.gc2ms} ≥ 2 ms, longest ${s.gcMaxMs.toFixed(2)} ms${s.gcKinds ? `; ${s.gcKinds}` : ''})`).join('\n');
}
