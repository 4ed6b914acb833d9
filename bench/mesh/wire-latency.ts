/**
 * One-connection latency read off the wire: tcpdump on the loopback interface records when each request segment
 * reached the target's port and when the last segment of its answer left it, and the latency of a request is the
 * time between them. wrk's own c=1 figures on this host cannot be taken as they are: in the same 5 s runs its mean
 * latency times its request count came to about twice the run's length (direct: 85 µs × 107,601 requests in 5.1 s;
 * h2 mesh row: 1.78 ms × 6,489 in 5.0 s), which sequential requests on one connection cannot do — its percentiles
 * carry its own scheduling, not the proxies'. The capture needs root and Debian's tcpdump; without them the bench
 * keeps wrk's figures and says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface WireLatency {
  requests: number;
  p50: number;
  p99: number;
  /** Sum of the latencies over the capture, ms: at one connection it cannot exceed the capture's length. */
  totalMs: number;
  /** Packets the kernel dropped before tcpdump read them: non-zero makes the figures suspect. */
  dropped: number;
}

export function wireCaptureAvailable(): boolean {
  return process.getuid?.() === 0 && spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Starts capturing the target port's traffic into `file`; `stop()` ends the capture and reads the latencies. */
export async function startWireCapture(port: number, file: string): Promise<{ stop(): Promise<WireLatency> }> {
  const out = openSync(file, 'w');
  // -tt: epoch timestamps; -s 96: headers only; -B: a larger kernel buffer so a 5 s run at c=1 drops nothing.
  const child = spawn('tcpdump', ['-i', 'lo', '-n', '-tt', '-s', '96', '-B', '16384', `tcp port ${port}`], { stdio: ['ignore', out, 'pipe'] });
  let stderr = '';
  const errors = child.stderr!;
  errors.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    errors.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${stderr.trim()}`)));
  });
  return {
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      await exited;
      closeSync(out);
      const dropped = Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? 0);
      return { ...latencies(readFileSync(file, 'utf8'), port), dropped };
    },
  };
}

const SEGMENT = /^(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): .*length (\d+)$/;

/** From tcpdump's text: each request segment to `port` opens a request; the last answer segment before the next closes it. */
export function latencies(text: string, port: number): Omit<WireLatency, 'dropped'> {
  const target = String(port);
  const spans: number[] = [];
  let sent: number | undefined;
  let answered: number | undefined;
  for (const line of text.split('\n')) {
    const m = SEGMENT.exec(line);
    if (!m || m[4] === '0') continue;
    const at = Number(m[1]);
    if (m[3] === target) {
      if (sent !== undefined && answered !== undefined) spans.push((answered - sent) * 1000);
      sent = at;
      answered = undefined;
    } else if (m[2] === target && sent !== undefined) answered = at;
  }
  if (sent !== undefined && answered !== undefined) spans.push((answered - sent) * 1000);
  spans.sort((a, b) => a - b);
  const at = (p: number): number => spans[Math.min(spans.length - 1, Math.floor((p / 100) * spans.length))] ?? NaN;
  return { requests: spans.length, p50: at(50), p99: at(99), totalMs: spans.reduce((s, x) => s + x, 0) };
}
