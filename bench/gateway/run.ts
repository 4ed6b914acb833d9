/**
 * Gateway benchmark against peers, all in one run on loopback (bench/README's rule: a claim is a ratio to a peer
 * measured in the same run). An nginx upstream serves a small static 200; wrk then drives, in turn:
 *   - nginx as a reverse proxy (1 worker, keep-alive upstream),
 *   - `meshgate gateway` with 1 worker (runGateway: a Host && PathPrefix router among N, rateLimit set high,
 *     headers middleware, Prometheus metrics and a JSON access log on), for N = 1, 100, 10 000 routers,
 *   - the npm http-proxy package with a keep-alive agent,
 *   - a bare undici proxy (reference only),
 *   - the data plane alone (entry point → load balancer → proxy, metrics and access log; no router, no middlewares).
 * and prints a Markdown table with req/s, the proxy's CPU time per request, p50/p99 latency, peak RSS and the ratios
 * gateway/nginx, gateway/http-proxy.
 * Two more protocols, each against its own nginx (configs.ts holds every configuration):
 *   - h2: the gateway on a TLS entry point (h2 by ALPN, same router and middlewares) → the same HTTP/1.1 upstream,
 *     against nginx `listen … ssl http2` → the same upstream (keep-alive pool); both driven by h2load (h2load.ts)
 *     with the same -c/-m/-D;
 *   - tcp: a `tcp.routers` HostSNI passthrough router → an nginx TLS server answering 200, against nginx
 *     `stream { ssl_preread on; map $ssl_preread_server_name … }` → the same TLS server; wrk over https to
 *     `https://localhost:port/` (wrk's SNI is the URL's host).
 *
 * All targets run side by side (idle but for the one wrk drives) and are measured in `--rounds` turns.
 *
 * The gateway rows run `bin/meshgate gateway --workers 1` — the compiled dist/ with the launcher's V8 flags, as
 * installed — when dist/ is built and newer than every source file (`npm run build`); otherwise runGateway from src/
 * through Node's type stripping, whose compiler adds about 25–30 MiB to the process's RSS (the row says which).
 *
 *   node bench/gateway/run.ts [--duration 10s] [--connections 50] [--threads 2] [--routers 1,100,10000]
 *                             [--rounds 3] [--mode gateway|harness|peers] [--warmup 2s] [--cpu-prof DIR]
 *                             [--extra peer1.ts,peer2.ts] [--protocols http1,h2,tcp]
 *                             [--h2-clients 10] [--h2-streams 10]
 */
import { spawn, fork, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BENCH_HOST as HOST, SNI_HOST, httpGatewayConfig, tcpGatewayConfig, nginxConf, nginxHttpProxy, nginxH2Proxy, nginxTlsBackend, nginxSniPassthrough,
  selfSignedCertificate, type GatewayConfig,
} from './configs.ts';
import { h2load } from './h2load.ts';
import { builtLauncher } from './launcher.ts';
import { gatewayNodeFlags } from '../../src/gateway/runtime/heap.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const duration = args.get('duration') ?? '10s';
const warmup = args.get('warmup') ?? '2s';
const connections = Number(args.get('connections') ?? 50);
const threads = Number(args.get('threads') ?? 2);
const routerCounts = (args.get('routers') ?? '1,100,10000').split(',').map(Number);
const rounds = Number(args.get('rounds') ?? 3);
/** gateway: runGateway rows plus one data-plane harness row; harness: the harness row only. */
const mode = args.get('mode') ?? 'gateway';
const cpuProf = args.get('cpu-prof');
/** Extra peers to measure beside the standard ones (scratch experiments): comma-separated scripts taking `port upstream`. */
const extraPeers = (args.get('extra') ?? '').split(',').filter(Boolean);
const PROTOCOLS = ['http1', 'h2', 'tcp'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const protocols = new Set((args.get('protocols') ?? PROTOCOLS.join(',')).split(',').filter(Boolean));
for (const p of protocols) {
  if (!(PROTOCOLS as readonly string[]).includes(p)) {
    process.stderr.write(`--protocols: unknown protocol "${p}"; known: ${PROTOCOLS.join(', ')}\n`);
    process.exit(2);
  }
}
const h2Clients = Number(args.get('h2-clients') ?? 10);
const h2Streams = Number(args.get('h2-streams') ?? 10);

const work = mkdtempSync(join(os.tmpdir(), 'meshgate-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  // SIGTERM, not SIGKILL: an nginx master killed outright leaves its worker running (and its port bound).
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`port ${port} never opened`);
    await sleep(50);
  }
}

function nginx(name: string, blocks: { http: string; stream?: string }): ChildProcess {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', join(dir, 'logs'), join(dir, 'tmp')]);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf(dir, blocks));
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

function forkPeer(script: string, argv: string[], extraExecArgv: string[] = []): Promise<{ child: ChildProcess; message: unknown }> {
  const child = fork(resolve(here, script), argv, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...extraExecArgv] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, message }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** Peak RSS (VmHWM) of a process and its children, in MiB. */
function peakRss(pid: number): number {
  let kb = 0;
  const read = (p: number) => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* process gone */ }
  };
  read(pid);
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) read(Number(child));
  } catch { /* no children file */ }
  return kb / 1024;
}

interface WrkResult { rps: number; p50: number; p99: number; errors: number; requests: number; cpuUs: number }

/** CPU time (user + system, all threads) of a process and its children, in microseconds. */
function cpuTime(pid: number): number {
  let ticks = 0;
  const read = (p: number) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch { /* process gone */ }
  };
  read(pid);
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) read(Number(child));
  } catch { /* no children file */ }
  return (ticks * 1e6) / 100; // USER_HZ
}

function toMs(text: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
}

/** wrk on `url`; with `host`, sent as the Host header (the TCP row sends none: its URL's host is the SNI). */
function wrk(url: string, seconds: string, host?: string): WrkResult {
  const out = execFileSync('wrk', ['-t', String(threads), '-c', String(connections), '-d', seconds, '--latency', ...(host === undefined ? [] : ['-H', `Host: ${host}`]), url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? Number(sockErr[1]) + Number(sockErr[2]) + Number(sockErr[3]) + Number(sockErr[4]) : 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return { rps, p50, p99, errors, requests, cpuUs: NaN };
}

/** The load generator of a target's protocol for `seconds`. */
function drive(target: Target, seconds: string): WrkResult {
  switch (target.protocol) {
    case 'http1': return wrk(`http://127.0.0.1:${target.port}/api/items`, seconds, HOST);
    case 'tcp': return wrk(`https://${SNI_HOST}:${target.port}/`, seconds);
    case 'h2': return {
      ...h2load({
        url: `https://127.0.0.1:${target.port}/api/items`, authority: HOST, clients: h2Clients, streams: h2Streams, threads, duration: seconds,
        logFile: join(work, 'h2load.tsv'),
      }),
      cpuUs: NaN,
    };
  }
}

/** Warm-up, then the measured run; `target.pid` is the proxy's process, whose CPU time per request is recorded too. */
function measure(target: Target): WrkResult {
  drive(target, warmup);
  const before = cpuTime(target.pid);
  const r = drive(target, duration);
  r.cpuUs = (cpuTime(target.pid) - before) / r.requests;
  return r;
}

/** Writes a gateway's files into their own folder under the run's temp folder; returns the static file. */
function writeGatewayConfig(name: string, make: (dir: string) => GatewayConfig): string {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', dir]);
  const config = make(dir);
  writeFileSync(join(dir, 'dynamic.yml'), config.dynamicYaml);
  writeFileSync(join(dir, 'static.yml'), config.staticYaml);
  return join(dir, 'static.yml');
}

/** curl's answer (`%{http_code} %{http_version}`, then the body) to check a target routes before it is measured. */
function probe(args: string[]): string {
  try {
    return execFileSync('curl', ['-s', '-k', '-w', '\n%{http_code} %{http_version}', ...args], { encoding: 'utf8' });
  } catch (err) {
    return `curl failed (exit ${(err as { status?: number }).status})`;
  }
}

interface Target {
  name: string;
  protocol: Protocol;
  /** The peer the rows of this protocol are divided by. */
  role?: 'nginx' | 'http-proxy';
  port: number;
  pid: number;
  stop(): Promise<void>;
}
interface Row { name: string; r: WrkResult; rss: number; vsNginx: number; vsHttpProxy: number }

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Gateway processes start as bin/meshgate starts `meshgate gateway`: with the gateway's V8 flags (runtime/heap.ts). */
const gatewayExecArgv = (): string[] => [...gatewayNodeFlags(), ...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : [])];

const repo = resolve(here, '../..');

const launcher = builtLauncher(repo);
if (!launcher) process.stderr.write('dist/ is missing or older than src/: the gateway rows run src/ through type stripping (npm run build for the installed form)\n');

/** A gateway process (`meshgate gateway --workers 1`, or runGateway from src/, on `staticFile`) as a target, stopped with SIGTERM and awaited. */
async function gatewayTarget(name: string, protocol: Protocol, staticFile: string, port: number): Promise<Target> {
  let child: ChildProcess;
  if (launcher) {
    const env = { ...process.env, ...(cpuProf ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${cpuProf}` } : {}) };
    child = spawn(launcher, ['gateway', `--configFile=${staticFile}`, '--workers=1', `--lastGoodFile=${staticFile}.last-good.json`], { stdio: ['ignore', 'ignore', 'inherit'], env });
    children.push(child);
  } else {
    ({ child } = await forkPeer('peers/gateway-run.ts', [staticFile], gatewayExecArgv()));
    name += '; src/ through type stripping';
  }
  // A 10,000-router configuration takes a while to load on a busy host.
  await waitForPort(port, 120_000);
  return {
    name, protocol, port, pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function nginxTarget(name: string, protocol: Protocol, port: number, proxy: ChildProcess): Target {
  return { name, protocol, role: 'nginx', port, pid: proxy.pid!, stop: async () => { proxy.kill('SIGQUIT'); } };
}

function expectProbe(name: string, answer: string, expected: RegExp): void {
  if (!expected.test(answer)) throw new Error(`${name} answered ${JSON.stringify(answer)} to its probe; expected ${expected}`);
}

/** HTTP/1.1: nginx, http-proxy, undici, extra peers, the gateway with N routers and the data-plane harness. */
async function http1Targets(upstream: string, upstreamPort: number): Promise<Target[]> {
  const targets: Target[] = [];
  {
    const port = await freePort();
    const proxy = nginx('proxy', { http: nginxHttpProxy(port, upstreamPort) });
    await waitForPort(port);
    targets.push(nginxTarget('nginx (1 worker, keepalive upstream)', 'http1', port, proxy));
  }
  {
    const port = await freePort();
    const { child } = await forkPeer('peers/http-proxy.ts', [String(port), upstream]);
    targets.push({ name: 'http-proxy (keep-alive agent)', protocol: 'http1', role: 'http-proxy', port, pid: child.pid!, stop: async () => { child.kill(); } });
  }
  {
    const port = await freePort();
    const { child } = await forkPeer('peers/undici-proxy.ts', [String(port), upstream]);
    targets.push({ name: 'bare undici proxy (reference)', protocol: 'http1', port, pid: child.pid!, stop: async () => { child.kill(); } });
  }
  for (const script of extraPeers) {
    const port = await freePort();
    const { child } = await forkPeer(script, [String(port), upstream], cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []);
    targets.push({ name: `extra: ${script}`, protocol: 'http1', port, pid: child.pid!, stop: async () => { child.kill(); } });
  }
  const runs: (number | 'harness')[] = mode === 'harness' ? ['harness'] : mode === 'peers' ? [] : [...routerCounts, 'harness'];
  for (const n of runs) {
    const port = await freePort();
    let target: Target;
    if (n === 'harness') {
      const { child } = await forkPeer('peers/gateway-harness.ts', [String(port), upstream, join(work, 'harness-access.log')], gatewayExecArgv());
      await waitForPort(port);
      target = {
        name: 'data plane only: entry point → LB → proxy, metrics + JSON access log (no router/middlewares)', protocol: 'http1', port, pid: child.pid!,
        stop: async () => {
          child.kill('SIGTERM');
          await new Promise((resolve) => child.once('exit', resolve));
        },
      };
    } else {
      const file = writeGatewayConfig(`gw-${n}`, (dir) => httpGatewayConfig({ dir, address: `127.0.0.1:${port}`, routers: n, upstream }));
      target = await gatewayTarget(`meshgate gateway (1 worker, ${n} router${n === 1 ? '' : 's'})`, 'http1', file, port);
    }
    expectProbe(target.name, probe(['-o', '/dev/null', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/api/items`]), /^\n200 1\.1$/);
    targets.push(target);
  }
  return targets;
}

/** h2: nginx `ssl http2` and the gateway's TLS entry point, both to the HTTP/1.1 upstream. */
async function h2Targets(upstream: string, upstreamPort: number, cert: ReturnType<typeof selfSignedCertificate>): Promise<Target[]> {
  const nginxPort = await freePort();
  const proxy = nginx('proxy-h2', { http: nginxH2Proxy(nginxPort, upstreamPort, cert) });
  await waitForPort(nginxPort);
  const port = await freePort();
  const file = writeGatewayConfig('gw-h2', (dir) => httpGatewayConfig({ dir, address: `127.0.0.1:${port}`, routers: 1, upstream, tls: cert }));
  const targets = [
    nginxTarget('nginx h2 (1 worker, listen ssl http2 → keepalive HTTP/1.1 upstream)', 'h2', nginxPort, proxy),
    await gatewayTarget('meshgate gateway h2 (1 worker, 1 router, TLS entry point, ALPN h2 → HTTP/1.1 upstream)', 'h2', file, port),
  ];
  for (const t of targets) {
    // ALPN must have chosen h2 and the route matched (a 404 would mean :authority did not reach the router).
    expectProbe(t.name, probe(['-o', '/dev/null', '--http2', '-H', `Host: ${HOST}`, `https://127.0.0.1:${t.port}/api/items`]), /^\n200 2$/);
  }
  return targets;
}

/** TCP: nginx `stream` with ssl_preread and the gateway's HostSNI passthrough router, both to one TLS server. */
async function tcpTargets(cert: ReturnType<typeof selfSignedCertificate>): Promise<Target[]> {
  const backendPort = await freePort();
  nginx('tls-backend', { http: nginxTlsBackend(backendPort, cert) });
  await waitForPort(backendPort);
  const nginxPort = await freePort();
  const proxy = nginx('proxy-stream', { http: '', stream: nginxSniPassthrough(nginxPort, backendPort) });
  await waitForPort(nginxPort);
  const port = await freePort();
  const file = writeGatewayConfig('gw-tcp', (dir) => tcpGatewayConfig({ dir, address: `127.0.0.1:${port}`, backend: `127.0.0.1:${backendPort}` }));
  const targets = [
    nginxTarget('nginx stream (1 worker, ssl_preread SNI map → TLS backend)', 'tcp', nginxPort, proxy),
    await gatewayTarget('meshgate gateway TCP (1 worker, HostSNI router, TLS passthrough → TLS backend)', 'tcp', file, port),
  ];
  for (const t of targets) {
    // The backend answers through the proxy when the SNI is the routed name, and not without SNI (an IP URL sends
    // none; nginx's map sends it nowhere, the gateway answers itself over HTTPS as Traefik does when no TLS router
    // matches): so the router matched wrk's SNI, no catch-all did.
    expectProbe(t.name, probe([`https://${SNI_HOST}:${t.port}/`]), /^hello from the TLS backend\n\n200 1\.1$/);
    expectProbe(`${t.name} without SNI`, probe(['--max-time', '10', `https://127.0.0.1:${t.port}/`]), /^(?!hello from the TLS backend)/);
  }
  return targets;
}

async function main(): Promise<void> {
  const upstreamPort = await freePort();
  nginx('upstream', { http: `server { listen 127.0.0.1:${upstreamPort}; location / { default_type text/plain; return 200 "hello from upstream\\n"; } }` });
  await waitForPort(upstreamPort);
  const upstream = `http://127.0.0.1:${upstreamPort}`;
  const cert = protocols.has('h2') || protocols.has('tcp') ? selfSignedCertificate(work) : undefined;

  // Every target is started once and stays up; the rounds then take turns, so a slow spell of the host hits all
  // targets of a round alike and the per-round ratios stay meaningful.
  const targets: Target[] = [];
  if (protocols.has('http1')) targets.push(...await http1Targets(upstream, upstreamPort));
  if (protocols.has('h2')) targets.push(...await h2Targets(upstream, upstreamPort, cert!));
  if (protocols.has('tcp')) targets.push(...await tcpTargets(cert!));

  const results: WrkResult[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < targets.length; i++) results[i]!.push(measure(targets[i]!));
  }
  // Each row is divided by the peer of its own protocol measured in the same round (NaN: no such peer in this run).
  const ratio = (i: number, role: 'nginx' | 'http-proxy'): number => {
    const peer = targets.findIndex((t) => t.protocol === targets[i]!.protocol && t.role === role);
    return peer === -1 ? NaN : median(results[i]!.map((r, k) => r.rps / results[peer]![k]!.rps));
  };
  const rows: Row[] = targets.map((t, i) => {
    const mine = results[i]!;
    // The round with the median req/s gives the latencies; ratios are per round, then their median.
    const order = mine.map((r, k) => [r.rps, k] as const).sort((a, b) => a[0] - b[0]);
    const mid = mine[order[Math.floor((order.length - 1) / 2)]![1]]!;
    return {
      name: t.name,
      r: { rps: median(mine.map((r) => r.rps)), p50: mid.p50, p99: mid.p99, errors: mine.reduce((a, r) => a + r.errors, 0), requests: 0, cpuUs: median(mine.map((r) => r.cpuUs)) },
      rss: peakRss(t.pid),
      vsNginx: ratio(i, 'nginx'),
      vsHttpProxy: ratio(i, 'http-proxy'),
    };
  });
  for (const t of [...targets].reverse()) await t.stop();

  const fmt = (n: number, d = 0) => (Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const drivers = [
    ...(protocols.has('http1') || protocols.has('tcp') ? [`wrk -t${threads} -c${connections} -d${duration}${protocols.has('tcp') ? ' (tcp rows: https://localhost, SNI localhost)' : ''}`] : []),
    ...(protocols.has('h2') ? [`h2load -t${threads} -c${h2Clients} -m${h2Streams} -D${duration} (h2 rows)`] : []),
  ];
  const lines = [
    `${drivers.join('; ')}, after ${warmup} warm-up, per target and round, ${rounds} rounds taking turns; ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    'req/s and CPU µs/req (the proxy process\'s user + system time over the measured requests) are medians over the rounds,',
    'latencies are from the median round, ratios are the median of the per-round ratios to the peer of the same protocol.',
    '',
    '| target | req/s | CPU µs/req | p50 ms | p99 ms | errors | peak RSS MiB | ÷ nginx | ÷ http-proxy |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((row) => `| ${row.name} | ${fmt(row.r.rps)} | ${fmt(row.r.cpuUs)} | ${fmt(row.r.p50, 2)} | ${fmt(row.r.p99, 2)} | ${row.r.errors} | ${fmt(row.rss, 1)} | ${fmt(row.vsNginx, 2)} | ${fmt(row.vsHttpProxy, 2)} |`),
  ];
  if (rounds > 1) {
    lines.push('', 'Per round (req/s):', '', `| target | ${results[0]!.map((_, k) => `round ${k + 1}`).join(' | ')} |`, `|---|${results[0]!.map(() => '---:').join('|')}|`);
    for (let i = 0; i < targets.length; i++) lines.push(`| ${targets[i]!.name} | ${results[i]!.map((r) => fmt(r.rps)).join(' | ')} |`);
  }
  console.log(lines.join('\n'));
  if (cpuProf) console.log(`\nCPU profiles in ${cpuProf}: ${readdirSync(cpuProf).join(', ')}`);
}

await main();
process.exit(0);
