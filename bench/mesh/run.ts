/**
 * Mesh benchmark: what two sidecars cost, measured against a direct connection in the same run (bench/README's
 * rule). One nginx serves a small static 200; wrk drives, in turns:
 *   - direct:    wrk → nginx
 *   - mesh tcp:  wrk → web's sidecar (upstream listener) → mTLS → app-tcp's sidecar → nginx   (L4 path)
 *   - mesh http: wrk → web's sidecar → mTLS → app-http's sidecar → nginx, HTTP parsed and routed on both sides and
 *                the intention asked per request (L7 path)
 *   - mesh http2: the same for an `http2` service: wrk's HTTP/1.1 → web's sidecar → one multiplexed HTTP/2 session
 *                over mTLS → app-h2's sidecar → h2c → nginx (`listen … http2`)
 *   - peer L4 / peer L7: the floor of a Node implementation on this host, in the same run — two minimal relays
 *                (peers/l4-relay.ts: net → TLS 1.3 → net with `pipe`; peers/l7-relay.ts: node:http → https keep-alive
 *                agent → node:http) presenting the same kind of leaves from the same CA and verifying client certificates.
 *   - peer L4 / peer L7 nginx pair (C): what any sidecar pair can reach on this host — two nginx processes in the
 *                sidecars' place (peers/nginx-pair.ts: stream / http modules, TLS 1.3 with the same CA's leaves, client
 *                certificate required and verified, keep-alive pools), sharing the two cores with wrk and the app as ours do.
 * `meshgate server` and the `meshgate proxy` processes are real child processes (metrics on, access logs
 * off, as Consul's defaults). Each target is measured twice per round: at 1 connection (latency: the added latency
 * per hop is (mesh p50 − direct p50) / 2, likewise p99) and at `--connections` (throughput, req/s ratio mesh/direct).
 *
 *   node bench/mesh/run.ts [--duration 10s] [--warmup 2s] [--connections 50] [--threads 2] [--rounds 3] [--cpu-prof DIR]
 *                          [--baseline DIR] [--only tcp,http,…] [--hold 1] [--diagnose 1] [--wire 0]
 *
 * `--baseline DIR` (a checkout of an older commit, e.g. `git worktree add /tmp/base <commit>`) also starts that
 * checkout's sidecars for the tcp, http and http2 paths beside ours, so a change's effect on sidecar CPU per request is
 * read in one run on a shared host. `--only` keeps the rows whose name contains one of the words. `--hold 1` starts
 * everything, prints the targets (name, port, sidecar pids) as JSON and waits until interrupted instead of measuring:
 * for tracing a path by hand (strace -c on the pids, a client of one's own).
 *
 * `--diagnose 1` also reports, for every c=1 phase and sidecar, CPU time, run-queue wait and timeslices per request
 * and the GC pauses inside the phase (diagnose.ts): where a c=1 tail goes, in figures a busy host moves less.
 *
 * The c=1 latencies are read off the wire (wire-latency.ts: tcpdump on loopback, request segment in → last answer
 * segment out) when the bench runs as root with tcpdump installed — wrk's own c=1 percentiles were found to carry its
 * scheduling (its mean latency times its request count exceeded the run's length) — and wrk's beside them go to
 * stderr; `--wire 0`, or no tcpdump, keeps wrk's.
 *
 * `--cpu-prof DIR` writes a V8 profile of each sidecar into DIR when it exits (summarise one with
 * `node bench/gateway/profile-top.ts FILE`).
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe as describeDiagnosis, GC_RECORDER, watchPhase } from './diagnose.ts';
import { startNginxPair, verifyName, type Leaf } from './peers/nginx-pair.ts';
import { freeListenPort } from './ports.ts';
import { startWireCapture, wireCaptureAvailable } from './wire-latency.ts';

const argv = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) argv.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const duration = argv.get('duration') ?? '10s';
const warmup = argv.get('warmup') ?? '2s';
const connections = Number(argv.get('connections') ?? 50);
const threads = Number(argv.get('threads') ?? 2);
const rounds = Number(argv.get('rounds') ?? 3);
const cpuProf = argv.get('cpu-prof');
const baseline = argv.get('baseline');
const only = (argv.get('only') ?? '').split(',').filter(Boolean);
const wire = argv.get('wire') !== '0' && wireCaptureAvailable();
const CLI = resolve(import.meta.dirname, '../../src/cli/main.ts');
const diagnose = argv.has('diagnose');

const work = mkdtempSync(join(tmpdir(), 'meshgate-bench-mesh-'));
const gcDir = join(work, 'gc');
if (diagnose) {
  mkdirSync(gcDir);
  process.env.MESHGATE_BENCH_GC_DIR = gcDir;
}
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const port = freeListenPort;
const NGINX_PAIR = 'nginx pair (C)';

/** Forks a peer relay (peers/*.ts) and resolves with the port it listens on. */
function forkPeer(script: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  // Profiled like the sidecars under --cpu-prof, so a profile of ours can be set beside the floor's.
  const execArgv = cpuProf ? [...process.execArgv, '--cpu-prof', '--cpu-prof-dir', resolve(cpuProf)] : process.execArgv;
  const child = fork(resolve(import.meta.dirname, script), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
  children.push(child);
  return new Promise((done, reject) => {
    child.once('message', (p) => done({ child, port: Number(p) }));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return await res.json() as T;
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
  for (const name of ['app-http', 'base-app-http']) await api(base, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: name, Protocol: 'http' });
  for (const name of ['app-h2', 'base-app-h2']) await api(base, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: name, Protocol: 'http2' });
  const sidecar = async (name: string, upstreams: Array<{ DestinationName: string; LocalBindPort: number }>, appPort = nginxPort): Promise<string> => {
    const proxyPort = await port();
    await api(base, 'PUT', '/v1/agent/service/register', { ID: name, Name: name, Address: '127.0.0.1', Port: appPort });
    await api(base, 'PUT', '/v1/agent/service/register', {
      Kind: 'connect-proxy', ID: `${name}-sidecar-proxy`, Name: `${name}-sidecar-proxy`, Address: '127.0.0.1', Port: proxyPort,
      Proxy: { DestinationServiceName: name, DestinationServiceID: name, LocalServiceAddress: '127.0.0.1', LocalServicePort: appPort, Upstreams: upstreams },
    });
    for (const u of upstreams) await api(base, 'PUT', `/v1/connect/intentions/exact?source=${name}&destination=${u.DestinationName}`, { Action: 'allow' });
    return `${name}-sidecar-proxy`;
  };
  const startProxy = async (id: string, cli: string): Promise<number> => (await start(
    process.execPath, [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProf)] : []), ...(diagnose ? ['--import', GC_RECORDER] : []), cli, 'proxy', '-proxy-id', id, '-http-addr', base, '-log-level', 'warn', '-metrics-addr', `127.0.0.1:${await port()}`, '-no-register-checks'],
    (o) => o.includes('Meshgate proxy running'), `proxy ${id}`,
  )).pid!;

  // CPU per request is the sidecars' (or peers') own — the client side's plus the destination's —, which a busy host
  // does not inflate as much as it inflates latency; nginx's share is left out on every row.
  interface Target { name: string; port: number; pids: number[] }
  const targets: Target[] = [{ name: 'direct', port: nginxPort, pids: [] }];
  const meshPaths = async (prefix: string, label: string, cli: string): Promise<void> => {
    const ports = { tcp: await port(), http: await port(), h2: await port() };
    const web = await sidecar(`${prefix}web`, [
      { DestinationName: `${prefix}app-tcp`, LocalBindPort: ports.tcp }, { DestinationName: `${prefix}app-http`, LocalBindPort: ports.http },
      { DestinationName: `${prefix}app-h2`, LocalBindPort: ports.h2 },
    ]);
    const apps = [await sidecar(`${prefix}app-tcp`, []), await sidecar(`${prefix}app-http`, []), await sidecar(`${prefix}app-h2`, [], nginxH2Port)];
    const [webPid, tcpPid, httpPid, h2Pid] = await Promise.all([web, ...apps].map((id) => startProxy(id, cli)));
    targets.push({ name: `${label}mesh tcp (L4)`, port: ports.tcp, pids: [webPid!, tcpPid!] });
    targets.push({ name: `${label}mesh http (L7)`, port: ports.http, pids: [webPid!, httpPid!] });
    targets.push({ name: `${label}mesh http2 (L7, h2 hop)`, port: ports.h2, pids: [webPid!, h2Pid!] });
  };
  await meshPaths('', '', CLI);
  if (baseline) await meshPaths('base-', 'baseline ', resolve(baseline, 'src/cli/main.ts'));

  // The peers present leaves issued by the same CA to the same services as the sidecars' and verify each other.
  const roots = await getJson<{ Roots: Array<{ RootCert: string }> }>(`${base}/v1/agent/connect/ca/roots`);
  const caPem = roots.Roots.map((r) => r.RootCert).join('\n');
  const leafOf = async (service: string): Promise<Leaf> => {
    const leaf = await getJson<{ CertPEM: string; PrivateKeyPEM: string }>(`${base}/v1/agent/connect/ca/leaf/${service}`);
    return { certPem: leaf.CertPEM, keyPem: leaf.PrivateKeyPEM };
  };
  const tlsFile = (service: string, leaf: Leaf): string => {
    const file = join(work, `${service}-tls.json`);
    writeFileSync(file, JSON.stringify({ key: leaf.keyPem, cert: leaf.certPem, ca: roots.Roots.map((r) => r.RootCert) }), { mode: 0o600 });
    return file;
  };
  const [webLeaf, appLeaf] = [await leafOf('web'), await leafOf('app-tcp')];
  const webTls = tlsFile('web', webLeaf);
  const appTls = tlsFile('app-tcp', appLeaf);
  for (const [kind, script] of [['L4', 'peers/l4-relay.ts'], ['L7', 'peers/l7-relay.ts']] as const) {
    const server = await forkPeer(script, ['server', String(nginxPort), appTls]);
    const client = await forkPeer(script, ['client', String(server.port), webTls]);
    targets.push({ name: `peer ${kind}: minimal Node relay pair`, port: client.port, pids: [client.child.pid!, server.child.pid!] });
  }
  // The same job in C: two nginx processes, mTLS between them with the same leaves (peers/nginx-pair.ts).
  const pair = await startNginxPair({
    dir: join(work, 'nginx-pair'), appPort: nginxPort, caPem, client: webLeaf, server: { ...appLeaf, name: verifyName(appLeaf.certPem) },
    ports: { l4: await port(), l7: await port(), l4Mesh: await port(), l7Mesh: await port() },
  });
  children.push(...pair.children);
  targets.push({ name: `peer L4: ${NGINX_PAIR}`, port: pair.l4Port, pids: pair.pids });
  targets.push({ name: `peer L7: ${NGINX_PAIR}`, port: pair.l7Port, pids: pair.pids });
  if (only.length > 0) targets.splice(1, targets.length, ...targets.slice(1).filter((t) => only.some((w) => t.name.includes(w))));
  if (argv.has('hold')) {
    // For tracing by hand (strace, a custom client): the targets stay up until this process is interrupted.
    process.stdout.write(`${JSON.stringify(targets)}\n`);
    await new Promise(() => {});
  }

  for (const t of targets) {
    const check = wrk(t.port, 1, '1s');
    if (check.errors > 0 || !(check.rps > 0)) throw new Error(`${t.name} does not answer 200s: ${JSON.stringify(check)}`);
  }
  const lat: Record<string, Sample[]> = {};
  const thr: Record<string, Sample[]> = {};
  for (let r = 1; r <= rounds; r++) {
    for (const t of targets) {
      wrk(t.port, connections, warmup);
      const phase = diagnose && t.pids.length > 0 ? watchPhase(t.pids, gcDir) : undefined;
      const capture = wire ? await startWireCapture(t.port, join(work, 'wire.txt')) : undefined;
      const one = wrk(t.port, 1, duration);
      if (capture) {
        const w = await capture.stop();
        process.stderr.write(`round ${r} ${t.name}: c=1 on the wire ${w.requests} requests, p50 ${w.p50.toFixed(3)} ms p99 ${w.p99.toFixed(3)} ms, `
          + `latencies sum to ${(w.totalMs / 1000).toFixed(2)} s${w.dropped > 0 ? `, ${w.dropped} packets DROPPED` : ''}; `
          + `wrk said p50 ${one.p50.toFixed(3)} ms p99 ${one.p99.toFixed(3)} ms\n`);
        Object.assign(one, { p50: w.p50, p99: w.p99 });
      }
      (lat[t.name] ??= []).push(one);
      if (phase) {
        const n = lat[t.name]!.at(-1)!.requests;
        process.stderr.write(`${describeDiagnosis(`round ${r} ${t.name}`, n, await phase(n))}\n`);
      }
      (thr[t.name] ??= []).push(wrk(t.port, connections, duration, t.pids));
      const l = lat[t.name]!.at(-1)!;
      const h = thr[t.name]!.at(-1)!;
      process.stderr.write(`round ${r} ${t.name}: c=1 p50 ${l.p50.toFixed(3)} ms p99 ${l.p99.toFixed(3)} ms; c=${connections} ${h.rps.toFixed(0)} req/s p50 ${h.p50.toFixed(2)} ms p99 ${h.p99.toFixed(2)} ms sidecar CPU ${h.cpuUsPerRequest.toFixed(1)} µs/req (errors ${l.errors + h.errors})\n`);
    }
  }
  const d = { l50: median(lat.direct!.map((s) => s.p50)), l99: median(lat.direct!.map((s) => s.p99)), rps: median(thr.direct!.map((s) => s.rps)) };
  const lines = [
    `Mesh benchmark — ${rounds} round(s), ${duration} per measurement, medians; latency at 1 connection (${wire ? 'read off the wire with tcpdump' : "wrk's own figures"}), throughput at ${connections} connections (wrk -t${threads}).`,
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
  if (targets.some((t) => t.name.includes(NGINX_PAIR))) {
    lines.push('', `${NGINX_PAIR}: two nginx processes (master + 1 worker each) in the sidecars' place — TLS 1.3 with the same CA's leaves, `
      + 'client certificate required and verified, keep-alive upstream pools on L7; no SPIFFE ID check, no intentions, no metrics, no discovery. '
      + 'Its CPU per request counts both masters and workers.');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
