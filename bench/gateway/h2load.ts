/**
 * h2load (nghttp2's HTTP/2 load generator, Debian nghttp2-client) as the benchmark's h2 driver. h2load prints only
 * min/max/mean latencies, so its per-request log (`--log-file`: start µs, status, µs to the end of the response)
 * gives the p50/p99 the table shows for every row.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

export interface H2loadOptions {
  readonly url: string;
  /** Sent as `:authority` (h2load's `-H` overrides the pseudo-header). */
  readonly authority: string;
  /** `-c`: connections. */
  readonly clients: number;
  /** `-m`: concurrent streams per connection. */
  readonly streams: number;
  /** `-t`. */
  readonly threads: number;
  /** `-D`, with a unit (`10s`). */
  readonly duration: string;
  /** Where the per-request log goes (removed after reading). */
  readonly logFile: string;
}

export interface LoadResult { rps: number; p50: number; p99: number; errors: number; requests: number }

export function h2load(options: H2loadOptions): LoadResult {
  const out = execFileSync('h2load', [
    '-c', String(options.clients), '-m', String(options.streams), '-t', String(options.threads), '-D', options.duration,
    '-H', `:authority: ${options.authority}`, `--log-file=${options.logFile}`, options.url,
  ], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  const rps = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const counts = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  // `done` counts requests finished in the measured period; the status line also counts the ones finishing after it.
  const requests = Number(counts?.[1] ?? NaN);
  const failed = counts === null ? NaN : Number(counts[3]) + Number(counts[4]) + Number(counts[5]);
  const codes = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const errors = failed + (codes === null ? NaN : Number(codes[1]) + Number(codes[2]) + Number(codes[3]));
  const micros: number[] = [];
  for (const line of readFileSync(options.logFile, 'utf8').split('\n')) {
    const tab = line.lastIndexOf('\t');
    if (tab > 0) micros.push(Number(line.slice(tab + 1)));
  }
  rmSync(options.logFile, { force: true });
  micros.sort((a, b) => a - b);
  const at = (q: number) => (micros.length === 0 ? NaN : micros[Math.min(micros.length - 1, Math.floor(q * micros.length))]! / 1000);
  return { rps, p50: at(0.5), p99: at(0.99), errors, requests };
}
