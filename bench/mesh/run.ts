/**
 * Mesh benchmark: what two sidecars cost, measured against a direct connection in the same run (bench/README's
 * rule). One nginx serves a small static 200; wrk drives, in turns:
 *   - direct:    wrk → nginx
 *   - mesh tcp:  wrk → web's sidecar (upstream listener) → mTLS → app-tcp's sidecar → nginx   (L4 path)
 *   - mesh http: wrk → web's sidecar → mTLS → app-http's sidecar → nginx, HTTP parsed and routed on both sides and
 *                the intention asked per request (L7 path)
 *   - mesh http2: the same for an `http2` service: wrk's HTTP/1.1 → web's sidecar → one multiplexed HTTP/2 session
 *                over mTLS → app-h2's sidecar → h2c → nginx (`listen … http2`)
 * `meshgate server` and the three `meshgate proxy` processes are real child processes (metrics on, access logs
 * off, as Consul's defaults). Each target is measured twice per round: at 1 connection (latency: the added latency
 * per hop is (mesh p50 − direct p50) / 2, likewise p99) and at `--connections` (throughput, req/s ratio mesh/direct).
 *
 *   node bench/mesh/run.ts [--duration 10s] [--warmup 2s] [--connections 50] [--threads 2] [--rounds 3] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` writes a V8 profile of each sidecar into DIR when it exits (summarise one with
 * `node bench/gateway/profile-top.ts FILE`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const duration = argv.get('duration') ?? '10s';
const warmup = argv.get('warmup') ?? '2s';
const connections = Number(argv.get('connections') ?? 50);
const threads = Number(argv.get('threads') ?? 2);
const rounds = Number(argv.get('rounds') ?? 3);
const cpuProf = argv.get('cpu-prof');
const CLI = resolve(import.meta.dirname, '../../src/cli/main.ts');

const work = mkdtempSync(join(tmpdir(), 'meshgate-bench-mesh-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

function port(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => done(p));
    });
  });
}

/** Spawns a child and resolves once `ready` holds on its output, or rejects when it exits first. */
async function start(cmd: string, args: string[], ready: (out: string) => boolean, what: string): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESHGATE_LOG_FORMAT: 'json' } });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!ready(out)) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${out}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start: ${out}`);
    await sleep(50);
  }
  return child;
}

async function api(base: string, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

interface Sample { rps: number; p50: number; p99: number; errors: number; requests: number; cpuUsPerRequest: number }

/** CPU time (user + system) of the given processes, in microseconds (USER_HZ = 100). */
function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process is gone: it cannot have used more
    }
  }
  return ticks * 10_000;
}

function ms(text: string | undefined): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text ?? '');
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
}

function wrk(p: number, conns: number, seconds: string, pids: readonly number[] = []): Sample {
  const cpuBefore = cpuMicros(pids);
  const out = execFileSync('wrk', ['-t', String(Math.min(threads, conns)), '-c', String(conns), '-d', seconds, '--latency', `http://127.0.0.1:${p}/`], { encoding: 'utf8' });
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  return {
    requests,
    cpuUsPerRequest: pids.length > 0 ? (cpuMicros(pids) - cpuBefore) / requests : NaN,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms(/\s50%\s+(\S+)/.exec(out)?.[1]),
    p99: ms(/\s99%\s+(\S+)/.exec(out)?.[1]),
    errors: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + (socket ? socket.slice(1).reduce((s, x) => s + Number(x), 0) : 0),
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const nginxPort = await port();
  const nginxH2Port = await port();
  const nginxDir = join(work, 'nginx');
  mkdirSync(join(nginxDir, 'logs'), { recursive: true });
  writeFileSync(join(nginxDir, 'nginx.conf'), `worker_processes 1; pid ${nginxDir}/nginx.pid; error_log ${nginxDir}/logs/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; client_body_temp_path ${nginxDir}/b; proxy_temp_path ${nginxDir}/p; fastcgi_temp_path ${nginxDir}/f;
  uwsgi_temp_path ${nginxDir}/u; scgi_temp_path ${nginxDir}/s;
  server { listen 127.0.0.1:${nginxPort}; location / { default_type text/plain; return 200 "hello from upstream\\n"; } }
  server { listen 127.0.0.1:${nginxH2Port} http2; location / { default_type text/plain; return 200 "hello from upstream\\n"; } } }
`);
  children.push(spawn('nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' }));

  const serverPort = await port();
  const base = `http://127.0.0.1:${serverPort}`;
  await start(process.execPath, [CLI, 'server', '-dev', '-http-addr', `127.0.0.1:${serverPort}`, '-dns-port', '-1', '-log-level', 'warn'], (o) => o.includes('server running'), 'meshgate server');
  await api(base, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: 'app-http', Protocol: 'http' });
  await api(base, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: 'app-h2', Protocol: 'http2' });
  const tcpUp = await port();
  const httpUp = await port();
  const h2Up = await port();
  const sidecar = async (name: string, upstreams: Array<{ DestinationName: string; LocalBindPort: number }>, appPort = nginxPort): Promise<string> => {
    const proxyPort = await port();
    await api(base, 'PUT', '/v1/agent/service/register', { ID: name, Name: name, Address: '127.0.0.1', Port: appPort });
    await api(base, 'PUT', '/v1/agent/service/register', {
      Kind: 'connect-proxy', ID: `${name}-sidecar-proxy`, Name: `${name}-sidecar-proxy`, Address: '127.0.0.1', Port: proxyPort,
      Proxy: { DestinationServiceName: name, DestinationServiceID: name, LocalServiceAddress: '127.0.0.1', LocalServicePort: appPort, Upstreams: upstreams },
    });
    return `${name}-sidecar-proxy`;
  };
  const ids = [
    await sidecar('web', [{ DestinationName: 'app-tcp', LocalBindPort: tcpUp }, { DestinationName: 'app-http', LocalBindPort: httpUp }, { DestinationName: 'app-h2', LocalBindPort: h2Up }]),
    await sidecar('app-tcp', []),
    await sidecar('app-http', []),
    await sidecar('app-h2', [], nginxH2Port),
  ];
  for (const dest of ['app-tcp', 'app-http', 'app-h2']) await api(base, 'PUT', `/v1/connect/intentions/exact?source=web&destination=${dest}`, { Action: 'allow' });
  const proxies = await Promise.all(ids.map(async (id) => start(
    process.execPath, [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProf)] : []), CLI, 'proxy', '-proxy-id', id, '-http-addr', base, '-log-level', 'warn', '-metrics-addr', `127.0.0.1:${await port()}`, '-no-register-checks'],
    (o) => o.includes('Meshgate proxy running'), `proxy ${id}`,
  )));

  // CPU per request is the sidecars' own (web's plus the destination's), which a busy host does not inflate as much
  // as it inflates latency; nginx's share is left out on every row.
  const pid = (i: number): number => proxies[i]!.pid!;
  const targets = [
    { name: 'direct', port: nginxPort, pids: [] as number[] },
    { name: 'mesh tcp (L4)', port: tcpUp, pids: [pid(0), pid(1)] },
    { name: 'mesh http (L7)', port: httpUp, pids: [pid(0), pid(2)] },
    { name: 'mesh http2 (L7, h2 hop)', port: h2Up, pids: [pid(0), pid(3)] },
  ];
  for (const t of targets) {
    const check = wrk(t.port, 1, '1s');
    if (check.errors > 0 || !(check.rps > 0)) throw new Error(`${t.name} does not answer 200s: ${JSON.stringify(check)}`);
  }
  const lat: Record<string, Sample[]> = {};
  const thr: Record<string, Sample[]> = {};
  for (let r = 1; r <= rounds; r++) {
    for (const t of targets) {
      wrk(t.port, connections, warmup);
      (lat[t.name] ??= []).push(wrk(t.port, 1, duration));
      (thr[t.name] ??= []).push(wrk(t.port, connections, duration, t.pids));
      const l = lat[t.name]!.at(-1)!;
      const h = thr[t.name]!.at(-1)!;
      process.stderr.write(`round ${r} ${t.name}: c=1 p50 ${l.p50.toFixed(3)} ms p99 ${l.p99.toFixed(3)} ms; c=${connections} ${h.rps.toFixed(0)} req/s p50 ${h.p50.toFixed(2)} ms p99 ${h.p99.toFixed(2)} ms sidecar CPU ${h.cpuUsPerRequest.toFixed(1)} µs/req (errors ${l.errors + h.errors})\n`);
    }
  }
  const d = { l50: median(lat.direct!.map((s) => s.p50)), l99: median(lat.direct!.map((s) => s.p99)), rps: median(thr.direct!.map((s) => s.rps)) };
  const lines = [
    `Mesh benchmark — ${rounds} round(s), ${duration} per measurement, medians; latency at 1 connection, throughput at ${connections} connections (wrk -t${threads}).`,
    '',
    `| path | p50 (c=1) | p99 (c=1) | added per hop p50 / p99 | req/s (c=${connections}) | req/s vs direct | p50 / p99 (c=${connections}) | sidecar CPU per request | errors |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const t of targets) {
    const l50 = median(lat[t.name]!.map((s) => s.p50));
    const l99 = median(lat[t.name]!.map((s) => s.p99));
    const rps = median(thr[t.name]!.map((s) => s.rps));
    const errors = [...lat[t.name]!, ...thr[t.name]!].reduce((s, x) => s + x.errors, 0);
    const perHop = t.name === 'direct' ? '—' : `${((l50 - d.l50) / 2).toFixed(3)} / ${((l99 - d.l99) / 2).toFixed(3)} ms`;
    const p50c = median(thr[t.name]!.map((s) => s.p50)).toFixed(2);
    const p99c = median(thr[t.name]!.map((s) => s.p99)).toFixed(2);
    const cpu = t.pids.length > 0 ? `${median(thr[t.name]!.map((s) => s.cpuUsPerRequest)).toFixed(0)} µs` : '—';
    lines.push(`| ${t.name} | ${l50.toFixed(3)} ms | ${l99.toFixed(3)} ms | ${perHop} | ${rps.toFixed(0)} | ${(rps / d.rps).toFixed(2)}× | ${p50c} / ${p99c} ms | ${cpu} | ${errors} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
