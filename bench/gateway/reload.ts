/**
 * Reload of a 50,000-router configuration under load (issue 14, item 4). One run on loopback:
 *   - an nginx upstream answers a small static 200;
 *   - `meshgate gateway` (the CLI, `--workers N`, default 1) starts with a one-router file configuration;
 *   - wrk drives it, and a small Node client (one keep-alive connection, one request at a time) stamps every answer;
 *   - the file is rewritten to 50,000 routers (the `/` router moves behind a headers middleware so the swap shows),
 *     then, once that serves, back to the small one;
 *   - reported: the longest gap between two answers of the Node client during each reload, wrk's max latency and
 *     req/s over the whole run, the time each reload took to take effect, and the gateway's RSS before, with the
 *     large configuration, and after reverting (with `--workers 2` or more: the primary's and each worker's; the
 *     workers after the revert are the replacements workerRoll started, runtime/worker-roll.ts);
 *   - nginx as a reverse proxy (1 worker, keep-alive upstream), driven by the same wrk for the same time, as the
 *     same-run peer for the request rate.
 *
 *   node bench/gateway/reload.ts [--routers 50000] [--workers 1] [--connections 16] [--threads 1] [--settle 5] [--after 15]
 *     [--node-flags "…"] [--no-roll] [--growth-elements N] [--probe [--probe-ms 8] [--probe-out file.json] [--reduce size|last-resort]]
 *
 * `--probe` preloads bench/gateway/reload-probe.ts into the gateway (through NODE_OPTIONS, so the installed form runs
 * as usual) and adds what it saw: every event-loop turn of at least `--probe-ms` of thread CPU during each reload, with
 * the reload phase it fell in and the functions that took it, the GC pauses, and memory over time.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { nginxConf, reloadDynamicYaml } from './configs.ts';
import { builtLauncher } from './launcher.ts';
import type { ProbeReport } from './reload-probe.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Which form of the gateway ran, for the report. */
let gatewayForm = '';
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const value = process.argv[i + 1];
  // A flag followed by another flag (or by nothing) is a switch: `--probe`.
  const isSwitch = value === undefined || value.startsWith('--');
  args.set(process.argv[i]!.replace(/^--/, ''), isSwitch ? '' : value);
  if (!isSwitch) i++;
}
const routers = Number(args.get('routers') ?? 50_000);
const workers = Number(args.get('workers') ?? 1);
const connections = Number(args.get('connections') ?? 16);
const threads = Number(args.get('threads') ?? 1);
const settleS = Number(args.get('settle') ?? 5);
/** How long the gateway runs on the small configuration again before its RSS is read (and once more at +30 s). */
const afterS = Number(args.get('after') ?? settleS * 3);
/** The second reading after the revert: memory must come back after a smaller configuration replaces a larger one. */
const LATE_RSS_S = 30;
const probe = args.has('probe');
const probeMs = Number(args.get('probe-ms') ?? 8);
/** With --probe: ask for a memory-reducing GC 2 s after the revert took effect (`size` or `last-resort`; see reload-probe.ts). */
const reduce = args.get('reduce');
/** Extra Node flags for the gateway process (e.g. `--node-flags "--trace-gc --cpu-prof"`), split on spaces. */
const nodeFlags = (args.get('node-flags') ?? '').split(' ').filter(Boolean);
/** `--no-roll`: cluster workers are not replaced after the revert (workerRoll.enabled: false), the peer for `--workers 2`. */
const noRoll = args.has('no-roll');
/**
 * `--growth-elements N`: workerRoll.growthElements (default: the gateway's, 10,000). A value above `--routers` builds
 * the large configuration in the serving workers, the peer of a growth roll in the same cluster mode.
 */
const growthElements = args.get('growth-elements');

const work = mkdtempSync(join(os.tmpdir(), 'meshgate-reload-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolvePort(port));
    });
  });
}

async function waitForPort(port: number, deadlineMs = 120_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); done(true); });
      s.on('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`port ${port} never opened`);
    await sleep(50);
  }
}

function nginx(name: string, body: string): ChildProcess {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', join(dir, 'logs'), join(dir, 'tmp')]);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, { http: body, keepaliveRequests: 1_000_000 }));
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** Resident memory of a process and of each of its direct children (the cluster workers, the reader while it runs), in MiB. */
/** `pids`: the workers (children) read, so the report shows which reload replaced them (workerRoll). */
interface Rss { primary: number; children: number[]; pids: number[]; total: number }

function rss(pid: number): Rss {
  const read = (p: number) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0; // gone
    }
  };
  let pids: number[] = [];
  try {
    pids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch { /* none */ }
  const children = pids.map(read);
  const primary = read(pid);
  return { primary, children, pids, total: primary + children.reduce((a, b) => a + b, 0) };
}

/** `total` alone for one process; `total (primary p + workers a + b)` when there are children. */
function fmtRss(r: Rss): string {
  const total = r.total.toFixed(0);
  return r.children.length === 0 ? total : `${total} (primary ${r.primary.toFixed(0)} + workers ${r.children.map((c) => c.toFixed(0)).join(' + ')})`;
}


/** One keep-alive connection, one request at a time: every answer stamped, with whether the large config served it. */
class Prober {
  readonly answers: Array<{ at: number; large: boolean }> = [];
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  #stop = false;
  #done: Promise<void> | undefined;
  errors = 0;

  start(port: number): void {
    this.#done = (async () => {
      while (!this.#stop) {
        await new Promise<void>((done) => {
          const req = http.get({ host: '127.0.0.1', port, path: '/', agent: this.#agent }, (res) => {
            res.resume();
            res.on('end', () => {
              this.answers.push({ at: performance.now(), large: res.headers['x-config'] === 'large' });
              done();
            });
          });
          req.on('error', () => {
            this.errors++;
            setTimeout(done, 10);
          });
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
    this.#agent.destroy();
  }

  async until(large: boolean, deadlineMs = 600_000): Promise<number> {
    const end = performance.now() + deadlineMs;
    for (;;) {
      const last = this.answers.at(-1);
      if (last && last.large === large) return last.at;
      if (performance.now() > end) throw new Error('the reload never took effect');
      await sleep(5);
    }
  }

  /** Longest gap between consecutive answers in [from, to]. */
  longestGap(from: number, to: number): number {
    return this.longestGapAt(from, to).ms;
  }

  /** The longest gap in [from, to] and when it began (for lining it up with the probe's turns and GC pauses). */
  longestGapAt(from: number, to: number): { ms: number; start: number } {
    let longest = { ms: 0, start: from };
    let last = from;
    for (const a of this.answers) {
      if (a.at < from) continue;
      if (a.at > to) break;
      if (a.at - last > longest.ms) longest = { ms: a.at - last, start: last };
      last = a.at;
    }
    return longest;
  }
}

interface WrkSummary { rps: number; max: number; p99: number; requests: number; errors: number }

function parseWrk(out: string): WrkSummary {
  const toMs = (text: string) => {
    const m = /([\d.]+)(us|ms|s|m)\b/.exec(text);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : m[2] === 'm' ? v * 60_000 : v;
  };
  const latency = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    max: toMs(latency?.[3] ?? ''),
    p99: toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((s, x) => s + Number(x), 0) : 0),
  };
}

/** wrk until SIGINT (it then prints its summary), or for `seconds`. */
function startWrk(port: number, seconds: number): { stop(): Promise<WrkSummary>; done: Promise<WrkSummary> } {
  const child = spawn('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<WrkSummary>((resolveWrk) => child.on('exit', () => resolveWrk(parseWrk(out))));
  return { done, stop: () => { child.kill('SIGINT'); return done; } };
}

/**
 * Replaces `file` atomically without holding this process's event loop: the Node client that stamps the gateway's
 * answers runs in this process, and a synchronous write of the 4.6 MB file (28–38 ms measured here) was counted as
 * the gateway's silence — the longest gap began at the write itself. The text is encoded before the clock starts.
 */
async function writeAtomic(file: string, bytes: Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
}

async function main(): Promise<void> {
  const upstreamPort = await freePort();
  nginx('upstream', `server { listen 127.0.0.1:${upstreamPort}; location / { default_type text/plain; return 200 "hello from upstream\\n"; } }`);
  await waitForPort(upstreamPort);
  const upstream = `http://127.0.0.1:${upstreamPort}`;

  // nginx as a reverse proxy: the same-run peer for the request rate.
  const nginxPort = await freePort();
  const peer = nginx('proxy', `upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }`);
  await waitForPort(nginxPort);

  const dir = join(work, 'gateway');
  execFileSync('mkdir', ['-p', dir]);
  const dynamic = join(dir, 'dynamic.yml');
  const smallText = reloadDynamicYaml(upstream, 1);
  const largeText = reloadDynamicYaml(upstream, routers);
  writeFileSync(dynamic, smallText);
  const port = await freePort();
  writeFileSync(join(dir, 'static.yml'), [
    'entryPoints:', '  web:', `    address: "127.0.0.1:${port}"`, '  traefik:', '    address: "127.0.0.1:0"',
    'providers:', '  providersThrottleDuration: 50ms', `  maxRouters: ${Math.max(routers, 100_000)}`, '  file:', `    filename: "${dynamic}"`, '    watch: true',
    ...(noRoll ? ['workerRoll:', '  enabled: false'] : growthElements ? ['workerRoll:', `  growthElements: ${growthElements}`] : []),
    'log:', '  level: ERROR', '',
  ].join('\n'));
  // As installed (bin/meshgate: dist/ and the launcher's V8 flags) when dist/ is current and no --node-flags are asked
  // for; else src/ through type stripping, which the report names.
  const launcher = nodeFlags.length === 0 ? builtLauncher(root) : undefined;
  const gatewayArgs = ['gateway', '--config', join(dir, 'static.yml'), '--workers', String(workers)];
  const probePrefix = join(work, 'probe');
  const env = probe
    ? {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${join(root, 'bench/gateway/reload-probe.ts')}`.trim(),
      MESHGATE_PROBE_OUT: probePrefix,
      MESHGATE_PROBE_MS: String(probeMs),
      ...(reduce ? { MESHGATE_PROBE_REDUCE: reduce } : {}),
    }
    : process.env;
  const gateway = launcher
    ? spawn(launcher, gatewayArgs, { stdio: ['ignore', 'ignore', 'inherit'], env })
    : spawn(process.execPath, [...nodeFlags, join(root, 'src/cli/main.ts'), ...gatewayArgs], { stdio: ['ignore', 'ignore', 'inherit'], env });
  gatewayForm = launcher ? 'bin/meshgate (dist/, as installed)' : 'src/ through type stripping';
  children.push(gateway);
  await waitForPort(port);
  await sleep(1000);

  const prober = new Prober();
  prober.start(port);
  const load = startWrk(port, 3600);
  await sleep(settleS * 1000);
  const rssBefore = rss(gateway.pid!);

  const largeBytes = Buffer.from(largeText);
  const smallBytes = Buffer.from(smallText);
  const t0 = performance.now();
  await writeAtomic(dynamic, largeBytes);
  const t1 = await prober.until(true);
  await sleep(settleS * 1000);
  const rssLarge = rss(gateway.pid!);

  const t2 = performance.now();
  await writeAtomic(dynamic, smallBytes);
  const t3 = await prober.until(false);
  let reducedAt: number | undefined;
  if (probe && reduce) {
    await sleep(2000);
    reducedAt = performance.now();
    process.kill(gateway.pid!, 'SIGWINCH');
    await sleep(afterS * 1000 - 2000);
  } else await sleep(afterS * 1000);
  const rssAfter = rss(gateway.pid!);
  if (afterS < LATE_RSS_S) await sleep((LATE_RSS_S - afterS) * 1000);
  const rssLate = rss(gateway.pid!);
  const end = performance.now();
  const gw = await load.stop();
  await prober.stop();
  const report = probe ? await probeReport(gateway.pid!, `${probePrefix}.${gateway.pid}.json`) : undefined;

  const nginxLoad = startWrk(nginxPort, Math.max(5, Math.round((end - t0) / 1000 / 4)));
  const ng = await nginxLoad.done;
  peer.kill('SIGQUIT');

  const fmt = (n: number, d = 0) => n.toFixed(d);
  console.log(`\n## Gateway: reload of a ${routers.toLocaleString('en')}-router configuration`);
  console.log(`\n${new Date().toISOString()} · ${os.cpus().length} cores · load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} · workers ${workers}${noRoll ? ' (workerRoll off)' : growthElements ? ` (workerRoll.growthElements ${growthElements})` : ''} · wrk -t${threads} -c${connections} · gateway: ${gatewayForm}`);
  console.log(`\nfile: ${(Buffer.byteLength(largeText) / 1e6).toFixed(1)} MB\n`);
  console.log('| measure | value |');
  console.log('|---|---|');
  console.log(`| large reload took effect after | ${fmt(t1 - t0)} ms |`);
  console.log(`| longest gap between answers during it (Node client) | ${fmt(prober.longestGap(t0, t1), 1)} ms |`);
  // When it ended, counted back from the first answer of the large configuration: a growth roll's swap (the client's
  // old worker closes its connection, it reconnects to a fresh one) ends at 0; a build in place anywhere before.
  const largeGap = prober.longestGapAt(t0, t1);
  console.log(`| it ended before the first answer of the large configuration by | ${fmt(t1 - (largeGap.start + largeGap.ms), 1)} ms |`);
  console.log(`| revert took effect after | ${fmt(t3 - t2)} ms |`);
  console.log(`| longest gap between answers during it | ${fmt(prober.longestGap(t2, t3), 1)} ms |`);
  console.log(`| longest gap over the whole run | ${fmt(prober.longestGap(t0 - settleS * 1000, end), 1)} ms |`);
  console.log(`| Node client answers / errors | ${prober.answers.length} / ${prober.errors} |`);
  console.log(`| wrk over the whole run: req/s, p99, max latency, errors | ${fmt(gw.rps)} req/s, ${fmt(gw.p99, 1)} ms, ${fmt(gw.max, 1)} ms, ${gw.errors} |`);
  console.log(`| nginx peer, same wrk: req/s, p99, max | ${fmt(ng.rps)} req/s, ${fmt(ng.p99, 1)} ms, ${fmt(ng.max, 1)} ms |`);
  console.log(`| gateway RSS: small → large → small again (+${afterS} s) | ${fmtRss(rssBefore)} → ${fmtRss(rssLarge)} → ${fmtRss(rssAfter)} MiB |`);
  console.log(`| gateway RSS +${Math.max(afterS, LATE_RSS_S)} s after the revert (under wrk) | ${fmtRss(rssLate)} MiB |`);
  if (workers > 1) {
    // Which workers served at each reading: new pids after the large reload = it was built in fresh workers
    // (workerRoll.growthElements); new ones after the revert = replaced to return memory (workerRoll.thresholdMiB).
    const replaced = (from: Rss, to: Rss) => (to.pids.some((p) => from.pids.includes(p)) ? 'no' : 'yes');
    console.log(`| worker pids: small → large → small again | ${rssBefore.pids.join(', ')} → ${rssLarge.pids.join(', ')} → ${rssAfter.pids.join(', ')} |`);
    console.log(`| workers replaced by the large reload · by the revert | ${replaced(rssBefore, rssLarge)} · ${replaced(rssLarge, rssAfter)} |`);
  }
  if (report) {
    const at = (t: number) => performance.timeOrigin + t;
    const windows: Array<[string, number, number]> = [['large reload', at(t0), at(t1)], ['revert', at(t2), at(t3)], ['whole run', at(t0 - settleS * 1000), at(end)]];
    if (reducedAt !== undefined) windows.push([`memory-reducing GC (${reduce}) and after`, at(reducedAt), at(end)]);
    printProbe(report, windows);
    // What the probe saw inside the large reload's longest gap: the turns and GC pauses that overlap it.
    const gap = prober.longestGapAt(t0, t1);
    printGap(report, at(gap.start), gap.ms, at(t0));
    const keep = args.get('probe-out');
    if (keep) writeFileSync(keep, JSON.stringify({ t0: at(t0), t1: at(t1), t2: at(t2), t3: at(t3), end: at(end), ...report }));
  }
  gateway.kill('SIGTERM');
  await sleep(500);
  process.exit(0);
}

/** The probe's long turns and GC pauses overlapping a gap of the Node client's answers. */
function printGap(report: ProbeReport, start: number, ms: number, write: number): void {
  const end = start + ms;
  const turns = report.turns.filter((t) => t.at < end && t.at + t.wallMs > start);
  const gcs = report.gcs.filter((g) => g.at < end && g.at + g.ms > start);
  console.log(`\nThe large reload's longest gap: +${(start - write).toFixed(0)} ms after the write, ${ms.toFixed(1)} ms long`);
  for (const t of turns) console.log(`- turn at +${(t.at - start).toFixed(1)} ms into it: ${t.cpuMs} ms CPU, ${t.wallMs} ms wall, phase ${t.phase || '–'}; ${t.ours.slice(0, 3).join(' · ')}`);
  for (const g of gcs) console.log(`- GC at +${(g.at - start).toFixed(1)} ms into it: ${g.kind} ${g.ms.toFixed(1)} ms`);
  if (turns.length === 0 && gcs.length === 0) console.log(`- no turn ≥ ${report.thresholdMs} ms CPU and no GC pause in it`);
}

/** Asks the probe in the gateway for its report (SIGUSR2) and waits for the file. */
async function probeReport(pid: number, file: string): Promise<ProbeReport | undefined> {
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(100);
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ProbeReport;
    } catch { /* not written yet */ }
  }
  console.error('the probe wrote no report');
  return undefined;
}

function printProbe(report: ProbeReport, windows: Array<[string, number, number]>): void {
  const th = report.thresholdMs;
  console.log(`\n### Probe (thread CPU per event-loop turn, GC pauses)\n`);
  console.log(`| window | turns ≥ ${th} ms CPU | most CPU in one turn | scavenges: count · max · total | mark-compacts: count · max | other GC pauses: max |`);
  console.log('|---|---|---|---|---|---|');
  for (const [label, from, to] of windows) {
    const turns = report.turns.filter((t) => t.at >= from && t.at <= to);
    const gcs = report.gcs.filter((g) => g.at >= from && g.at <= to);
    const of = (kind: string) => gcs.filter((g) => g.kind === kind).map((g) => g.ms);
    const scavenges = of('scavenge');
    const majors = of('mark-compact');
    const others = gcs.filter((g) => g.kind !== 'scavenge' && g.kind !== 'mark-compact').map((g) => g.ms);
    const max = (xs: number[]) => (xs.length ? Math.max(...xs).toFixed(1) : '–');
    const most = turns.length ? `${Math.max(...turns.map((t) => t.cpuMs)).toFixed(1)} ms` : `< ${th} ms`;
    console.log(`| ${label} | ${turns.length} | ${most} | ${scavenges.length} · ${max(scavenges)} · ${scavenges.reduce((a, b) => a + b, 0).toFixed(0)} ms | ${majors.length} · ${max(majors)} | ${max(others)} |`);
  }
  console.log(`\nAll turns by thread CPU (ms, upper bound: count): ${report.histogram.map(([b, n]) => `${b ?? '∞'}: ${n}`).join(', ')}`);
  for (const [label, from, to] of windows.slice(0, 2)) {
    const turns = report.turns.filter((t) => t.at >= from && t.at <= to);
    if (turns.length === 0) continue;
    console.log(`\nTurns ≥ ${th} ms during the ${label} (ms after the write):`);
    for (const t of turns) {
      const gcs = report.gcs.filter((g) => g.at >= t.at && g.at <= t.at + t.wallMs).map((g) => `${g.kind} ${g.ms.toFixed(1)}`);
      console.log(`- +${(t.at - from).toFixed(0)}: ${t.cpuMs} ms CPU, ${t.wallMs} ms wall, phase ${t.phase || '–'}${gcs.length ? `, GC: ${gcs.join(', ')}` : ''}`);
      if (t.self.length) console.log(`  self: ${t.self.join(' · ')}`);
      if (t.ours.length) console.log(`  meshgate frames: ${t.ours.join(' · ')}`);
    }
  }
  const reducing = windows.find(([label]) => label.startsWith('memory-reducing'));
  if (reducing) {
    const majors = report.gcs.filter((g) => g.at >= reducing[1] && g.at <= reducing[2] && g.kind !== 'scavenge');
    const marks = report.phases.filter((p) => p.phase.startsWith('reduce:')).map((p) => `${p.phase} +${(p.at - reducing[1]).toFixed(0)}`);
    console.log(`\nGC pauses other than scavenges from the memory-reducing request on (ms after it: kind ms): ${majors.map((g) => `+${(g.at - reducing[1]).toFixed(0)}: ${g.kind} ${g.ms.toFixed(1)}`).join(', ') || 'none'}; ${marks.join(', ')}`);
  }
  const phases = report.phases.filter((p) => p.at >= windows[0]![1] && p.at <= windows[0]![2]);
  if (phases.length) console.log(`\nPhases of the large reload (ms after the write): ${phases.map((p) => `${p.phase} +${(p.at - windows[0]![1]).toFixed(0)}`).join(', ')}`);
  const mem = report.memory;
  if (mem.length) {
    const pick = [mem[0]!, ...mem.filter((_, i) => i > 0 && i % 5 === 0), mem.at(-1)!];
    console.log(`\nMemory (s after the write: RSS / heap used / heap committed / external MiB): ${pick.map((m) => `${((m.at - windows[0]![1]) / 1000).toFixed(0)} s: ${m.rssMiB}/${m.heapUsedMiB}/${m.heapCommittedMiB}/${m.externalMiB}`).join(', ')}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
