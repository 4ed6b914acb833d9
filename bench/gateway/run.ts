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
 *
 * All targets run side by side (idle but for the one wrk drives) and are measured in `--rounds` turns.
 *
 *   node bench/gateway/run.ts [--duration 10s] [--connections 50] [--threads 2] [--routers 1,100,10000]
 *                             [--rounds 3] [--mode gateway|harness|peers] [--warmup 2s] [--cpu-prof DIR]
 *                             [--extra peer1.ts,peer2.ts]
 */
import { spawn, fork, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
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
const HOST = 'bench.local';

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

function nginx(name: string, body: string): ChildProcess {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', join(dir, 'logs'), join(dir, 'tmp')]);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy; fastcgi_temp_path ${dir}/tmp/fcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 100000;
  ${body}
}
`);
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

function wrk(port: number, seconds: string): WrkResult {
  const out = execFileSync('wrk', ['-t', String(threads), '-c', String(connections), '-d', seconds, '--latency', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/api/items`], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? Number(sockErr[1]) + Number(sockErr[2]) + Number(sockErr[3]) + Number(sockErr[4]) : 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return { rps, p50, p99, errors, requests, cpuUs: NaN };
}

/** wrk against `port`; `pid` is the proxy's process, whose CPU time per request is recorded too. */
function measure(port: number, pid: number): WrkResult {
  wrk(port, warmup);
  const before = cpuTime(pid);
  const r = wrk(port, duration);
  r.cpuUs = (cpuTime(pid) - before) / r.requests;
  return r;
}

function gatewayConfigs(routers: number, port: number, upstream: string): string {
  const dir = join(work, `gw-${routers}`);
  execFileSync('mkdir', ['-p', dir]);
  const dynamic: string[] = ['http:', '  routers:'];
  for (let i = 1; i < routers; i++) {
    dynamic.push(`    r${i}:`, `      rule: "Host(\`h${i}.example.com\`) && PathPrefix(\`/p${i}\`)"`, '      service: app', '      entryPoints: [web]');
  }
  dynamic.push('    bench:', `      rule: "Host(\`${HOST}\`) && PathPrefix(\`/api\`)"`, '      service: app', '      entryPoints: [web]', '      middlewares: [limit, hdrs]');
  dynamic.push('  middlewares:',
    '    limit:', '      rateLimit:', '        average: 100000000', '        burst: 100000000',
    '    hdrs:', '      headers:', '        customRequestHeaders:', '          X-Bench: "1"', '        customResponseHeaders:', '          X-Gateway: meshgate');
  dynamic.push('  services:', '    app:', '      loadBalancer:', '        servers:', `          - url: "${upstream}"`);
  writeFileSync(join(dir, 'dynamic.yml'), `${dynamic.join('\n')}\n`);
  writeFileSync(join(dir, 'static.yml'), [
    // The metrics entry point (Traefik's `traefik`, :8080 by default) on an ephemeral port: gateways run side by side.
    'entryPoints:', '  web:', `    address: "127.0.0.1:${port}"`, '  traefik:', '    address: "127.0.0.1:0"',
    'providers:', '  file:', `    filename: "${join(dir, 'dynamic.yml')}"`,
    'metrics:', '  prometheus: {}',
    'accessLog:', `  filePath: "${join(dir, 'access.log')}"`, '  format: json', '  bufferingSize: 100',
    'log:', '  level: ERROR', '',
  ].join('\n'));
  return join(dir, 'static.yml');
}

interface Target { name: string; port: number; pid: number; stop(): Promise<void> }
interface Row { name: string; r: WrkResult; rss: number; vsNginx: number; vsHttpProxy: number }

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const upstreamPort = await freePort();
  nginx('upstream', `server { listen 127.0.0.1:${upstreamPort}; location / { default_type text/plain; return 200 "hello from upstream\\n"; } }`);
  await waitForPort(upstreamPort);
  const upstream = `http://127.0.0.1:${upstreamPort}`;

  // Every target is started once and stays up; the rounds then take turns, so a slow spell of the host hits all
  // targets of a round alike and the per-round ratios stay meaningful.
  const targets: Target[] = [];
  {
    const port = await freePort();
    const proxy = nginx('proxy', `upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; } }`);
    await waitForPort(port);
    targets.push({ name: 'nginx (1 worker, keepalive upstream)', port, pid: proxy.pid!, stop: async () => { proxy.kill('SIGQUIT'); } });
  }
  {
    const port = await freePort();
    const { child } = await forkPeer('peers/http-proxy.ts', [String(port), upstream]);
    targets.push({ name: 'http-proxy (keep-alive agent)', port, pid: child.pid!, stop: async () => { child.kill(); } });
  }
  {
    const port = await freePort();
    const { child } = await forkPeer('peers/undici-proxy.ts', [String(port), upstream]);
    targets.push({ name: 'bare undici proxy (reference)', port, pid: child.pid!, stop: async () => { child.kill(); } });
  }
  for (const script of extraPeers) {
    const port = await freePort();
    const { child } = await forkPeer(script, [String(port), upstream], cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []);
    targets.push({ name: `extra: ${script}`, port, pid: child.pid!, stop: async () => { child.kill(); } });
  }
  const runs: (number | 'harness')[] = mode === 'harness' ? ['harness'] : mode === 'peers' ? [] : [...routerCounts, 'harness'];
  for (const n of runs) {
    const port = await freePort();
    // Started as bin/meshgate starts `meshgate gateway`: with the gateway's V8 flags (runtime/heap.ts).
    const prof = [...gatewayNodeFlags(), ...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : [])];
    let child: ChildProcess;
    let label: string;
    if (n === 'harness') {
      ({ child } = await forkPeer('peers/gateway-harness.ts', [String(port), upstream, join(work, 'harness-access.log')], prof));
      label = 'data plane only: entry point → LB → proxy, metrics + JSON access log (no router/middlewares)';
    } else {
      ({ child } = await forkPeer('peers/gateway-run.ts', [gatewayConfigs(n, port, upstream)], prof));
      label = `meshgate gateway (1 worker, ${n} router${n === 1 ? '' : 's'})`;
    }
    await waitForPort(port);
    const probe = execFileSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/api/items`], { encoding: 'utf8' });
    if (probe !== '200') throw new Error(`gateway answered ${probe} to the benchmark route`);
    const running = child;
    targets.push({
      name: label, port, pid: running.pid!,
      stop: async () => {
        running.kill('SIGTERM');
        await new Promise((resolve) => running.once('exit', resolve));
      },
    });
  }

  const results: WrkResult[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < targets.length; i++) results[i]!.push(measure(targets[i]!.port, targets[i]!.pid));
  }
  const rows: Row[] = targets.map((t, i) => {
    const mine = results[i]!;
    // The round with the median req/s gives the latencies; ratios are per round, then their median.
    const order = mine.map((r, k) => [r.rps, k] as const).sort((a, b) => a[0] - b[0]);
    const mid = mine[order[Math.floor((order.length - 1) / 2)]![1]]!;
    return {
      name: t.name,
      r: { rps: median(mine.map((r) => r.rps)), p50: mid.p50, p99: mid.p99, errors: mine.reduce((a, r) => a + r.errors, 0), requests: 0, cpuUs: median(mine.map((r) => r.cpuUs)) },
      rss: peakRss(t.pid),
      vsNginx: median(mine.map((r, k) => r.rps / results[0]![k]!.rps)),
      vsHttpProxy: median(mine.map((r, k) => r.rps / results[1]![k]!.rps)),
    };
  });
  for (const t of [...targets].reverse()) await t.stop();

  const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines = [
    `wrk -t${threads} -c${connections} -d${duration} (after ${warmup} warm-up) per target and round, ${rounds} rounds taking turns; ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${fmt(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    'req/s and CPU µs/req (the proxy process\'s user + system time over the measured requests) are medians over the rounds,',
    'latencies are from the median round, ratios are the median of the per-round ratios.',
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
