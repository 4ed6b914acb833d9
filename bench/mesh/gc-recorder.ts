/**
 * Preloaded into each sidecar by `bench/mesh/run.ts --diagnose` (`node --import`): appends every V8 GC pause of the
 * process to `$MESHGATE_BENCH_GC_DIR/<pid>.gc` as "<epoch ms> <duration ms> <kind>", so the benchmark can say how many
 * pauses fell inside a latency phase and how long they were. Written in batches (never per pause) so the recorder does
 * not add a write to the requests it measures.
 */
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

const dir = process.env.MESHGATE_BENCH_GC_DIR;
if (dir) {
  const file = `${dir}/${process.pid}.gc`;
  const kinds = new Map<number, string>([
    [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'], [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'], [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
  ]);
  let lines: string[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1;
      lines.push(`${(performance.timeOrigin + e.startTime).toFixed(3)} ${e.duration.toFixed(3)} ${kinds.get(kind) ?? String(kind)}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
  const flush = (): void => {
    if (lines.length === 0) return;
    appendFileSync(file, lines.join(''));
    lines = [];
  };
  setInterval(flush, 200).unref();
  process.on('exit', flush);
}
