/**
 * Server benchmark, meshgate against etcd measured in the same run on loopback:
 *   (a) durable KV puts/s at 1, 16 and 64 concurrent HTTP clients — meshgate `PUT /v1/kv/…` (acknowledged after
 *       the SQLite WAL fsync) against etcd `POST /v3/kv/put` (acknowledged after etcd's WAL fsync), same client;
 *   (b) catalog registrations/s (`PUT /v1/catalog/register`, distinct service IDs) at the same concurrencies;
 *   (c) change propagation from one write to 1,000 parked blocking queries (etcd: 1,000 watch streams).
 * Prints Markdown and rewrites the Server section of docs/benchmarks.md.
 *
 *   npm run bench -- server [--seconds 3] [--repeat 3] [--concurrency 1,16,64] [--watchers 1000] [--rounds 5]
 *                           [--profile] [--no-docs]
 * Each KV cell is measured --repeat times, alternating which peer goes first, and the median run is reported: the
 * fsync latency of a virtual disk drifts, and alternating keeps the drift out of the ratio.
 * --profile runs the meshgate child under `node --cpu-prof` and prints where its CPU time went.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/helpers/server.ts';
import { REPO, spawnMeshgateServer, type ChildServer } from '../../test/helpers/server-child.ts';
import { b64, etcdBinary, startEtcd } from './etcd.ts';
import { closedLoop, send, type LoadResult } from './load.ts';
import { summarizeProfile } from './profile.ts';
import { fmt, table, writeSection } from './report.ts';
import { etcdWatchRound, meshgateWatchRound, summarize, type WatchSummary } from './watch.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== 'server'),
  options: {
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,16,64' },
    watchers: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '3' },
    profile: { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const LEVELS = args.concurrency!.split(',').map(Number);
const WATCHERS = Number(args.watchers);
const ROUNDS = Number(args.rounds);
const REPEAT = Math.max(1, Number(args.repeat));
const VALUE = 'x'.repeat(64);

function log(msg: string): void {
  process.stderr.write(`[bench/server] ${msg}\n`);
}

function machine(etcdVersion: string): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
  return `${availableParallelism()} × ${cpu} (nproc ${availableParallelism()}), Linux, Node ${process.version}, etcd ${etcdVersion}`;
}

function ensureEtcd(): string {
  let bin = etcdBinary();
  if (!bin) {
    log('etcd not found: running scripts/install-test-deps.sh');
    const r = spawnSync('bash', [join(REPO, 'scripts/install-test-deps.sh')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('scripts/install-test-deps.sh failed');
    bin = etcdBinary();
  }
  if (!bin) throw new Error('etcd is still not installed (Debian package etcd-server)');
  return bin;
}

async function startMeshgate(profileDir?: string): Promise<{ server: ChildServer; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshgate-bench-server-'));
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const server = await spawnMeshgateServer(dataDir, await freePort(), { nodeArgs });
  return { server, dataDir };
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const res = await fetch(`${url}/v1/agent/metrics?format=prometheus`);
  const text = await res.text();
  if (!res.ok) return undefined;
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\d+(?:\\.\\d+)?)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function main(): Promise<void> {
  const etcdBin = ensureEtcd();
  const profileDir = args.profile ? mkdtempSync(join(tmpdir(), 'meshgate-bench-prof-')) : undefined;
  const { server, dataDir } = await startMeshgate(profileDir);
  const etcd = await startEtcd(etcdBin);
  log(`meshgate ${server.url} (via ${server.via}), etcd ${etcd.version} ${etcd.url}; ${SECONDS}s per measurement`);

  const kv: Array<{ meshgate: LoadResult; etcd: LoadResult; mRuns: LoadResult[]; eRuns: LoadResult[]; putsPerCommit?: number }> = [];
  const catalog: LoadResult[] = [];
  let catalogNote = '';
  let meshWatch: WatchSummary | undefined;
  let etcdWatch: WatchSummary | undefined;
  try {
    // (a) durable KV puts
    for (const c of LEVELS) {
      const mRuns: LoadResult[] = [];
      const eRuns: LoadResult[] = [];
      let commits = 0;
      let commitsKnown = true;
      const runMeshgate = async (rep: number) => {
        const before = await metric(server.url, 'meshgate_store_commits');
        const r = await closedLoop(server.url, c, SECONDS, async (pool, i) => {
          const res = await send(pool, 'PUT', `/v1/kv/bench/c${c}/r${rep}/${i}`, VALUE);
          return res.status === 200 && res.text.trim() === 'true';
        });
        const after = await metric(server.url, 'meshgate_store_commits');
        // Commits include the warm-up's; count the warm-up's puts too for the puts-per-fsync figure below.
        if (before === undefined || after === undefined) commitsKnown = false;
        else commits += after - before;
        mRuns.push(r);
      };
      const runEtcd = async (rep: number) => {
        eRuns.push(
          await closedLoop(etcd.url, c, SECONDS, async (pool, i) => {
            const res = await send(pool, 'POST', '/v3/kv/put', JSON.stringify({ key: b64(`bench/c${c}/r${rep}/${i}`), value: b64(VALUE) }));
            return res.status === 200 && res.text.includes('"revision"');
          }),
        );
      };
      for (let rep = 0; rep < REPEAT; rep++) {
        if (rep % 2 === 0) {
          await runMeshgate(rep);
          await runEtcd(rep);
        } else {
          await runEtcd(rep);
          await runMeshgate(rep);
        }
      }
      const m = median(mRuns);
      const e = median(eRuns);
      const totalPuts = mRuns.reduce((n, r) => n + r.acked + r.warmupAcked, 0);
      kv.push({ meshgate: m, etcd: e, mRuns, eRuns, ...(commitsKnown && commits > 0 ? { putsPerCommit: totalPuts / commits } : {}) });
      log(
        `kv c=${c}: meshgate ${mRuns.map((r) => fmt(r.perSecond)).join(' ')} /s, etcd ${eRuns.map((r) => fmt(r.perSecond)).join(' ')} /s` +
          ` → median ratio ${fmt(m.perSecond / e.perSecond, 2)}`,
      );
    }

    // (b) catalog registrations
    const probe = await fetch(`${server.url}/v1/catalog/register`, {
      method: 'PUT',
      body: JSON.stringify({ Node: 'bench-probe', Address: '10.9.9.9', Service: { ID: 'bench-probe', Service: 'bench-probe', Port: 1 } }),
    });
    await probe.arrayBuffer();
    if (probe.status === 200) {
      for (const c of LEVELS) {
        const r = await closedLoop(server.url, c, SECONDS, async (pool, i) => {
          const body = JSON.stringify({
            Node: `bench-node-${i % 100}`,
            Address: `10.1.${Math.floor(i / 250) % 250}.${i % 250}`,
            Service: { ID: `bench-c${c}-${i}`, Service: `bench-svc-${i % 200}`, Port: 10_000 + (i % 50_000), Tags: ['bench'] },
          });
          const res = await send(pool, 'PUT', '/v1/catalog/register', body);
          return res.status === 200 && res.text.trim() === 'true';
        });
        catalog.push(r);
        log(`catalog c=${c}: ${fmt(r.perSecond)}/s (p99 ${fmt(r.p99ms, 1)} ms)`);
      }
    } else {
      catalogNote = `PUT /v1/catalog/register answered ${probe.status}: the catalog endpoints were not in this build.`;
      log(catalogNote);
    }

    // (c) propagation to parked watchers
    const meshRounds = [];
    const etcdRounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      meshRounds.push(await meshgateWatchRound(server.url, WATCHERS, r));
      etcdRounds.push(await etcdWatchRound(etcd.url, WATCHERS, r));
    }
    meshWatch = summarize(meshRounds);
    etcdWatch = summarize(etcdRounds);
    log(`watch meshgate p50 ${fmt(meshWatch.fromAck.p50, 2)} p99 ${fmt(meshWatch.fromAck.p99, 2)} max ${fmt(meshWatch.fromAck.max, 2)} ms after ack`);
    log(`watch etcd     p50 ${fmt(etcdWatch.fromAck.p50, 2)} p99 ${fmt(etcdWatch.fromAck.p99, 2)} max ${fmt(etcdWatch.fromAck.max, 2)} ms after ack`);
  } finally {
    await server.stop();
    await etcd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const kvTable = table(
    ['clients', 'meshgate puts/s', 'etcd puts/s', 'meshgate / etcd', 'meshgate p50 / p99 ms', 'etcd p50 / p99 ms', 'meshgate puts per commit', `all runs meshgate · etcd`],
    kv.map(({ meshgate: m, etcd: e, mRuns, eRuns, putsPerCommit }) => [
      m.concurrency,
      fmt(m.perSecond),
      fmt(e.perSecond),
      `**${fmt(m.perSecond / e.perSecond, 2)}**`,
      `${fmt(m.p50ms, 2)} / ${fmt(m.p99ms, 2)}`,
      `${fmt(e.p50ms, 2)} / ${fmt(e.p99ms, 2)}`,
      putsPerCommit !== undefined ? fmt(putsPerCommit, 1) : 'n/a',
      `${mRuns.map((r) => fmt(r.perSecond)).join(', ')} · ${eRuns.map((r) => fmt(r.perSecond)).join(', ')}`,
    ]),
  );
  const catalogTable = catalog.length
    ? table(
        ['clients', 'registrations/s', 'p50 / p99 ms', 'registrations/s ÷ etcd puts/s'],
        catalog.map((r, i) => [r.concurrency, fmt(r.perSecond), `${fmt(r.p50ms, 2)} / ${fmt(r.p99ms, 2)}`, fmt(r.perSecond / kv[i]!.etcd.perSecond, 2)]),
      )
    : `_Not measured: ${catalogNote}_`;
  const w = (s: WatchSummary | undefined, which: 'fromAck' | 'fromSend') => (s ? `${fmt(s[which].p50, 2)} / ${fmt(s[which].p99, 2)} / ${fmt(s[which].max, 2)}` : 'n/a');
  const watchTable = table(
    ['system', 'watchers × rounds', 'after ack: p50 / p99 / max ms', 'after send: p50 / p99 / max ms', 'parked when'],
    [
      ['meshgate (blocking GET /v1/kv)', `${WATCHERS} × ${ROUNDS}`, w(meshWatch, 'fromAck'), w(meshWatch, 'fromSend'), meshWatch?.parkedBy === 'metric' ? 'meshgate_blocking_queries_open = N' : 'fixed 1 s wait'],
      ['etcd (v3 gateway watch streams)', `${WATCHERS} × ${ROUNDS}`, w(etcdWatch, 'fromAck'), w(etcdWatch, 'fromSend'), 'all N `created` events'],
    ],
  );
  const command = `npm run bench -- server${process.argv.slice(2).filter((a) => a !== 'server').map((a) => ` ${a}`).join('')}`;
  const body = `
Measured ${new Date().toISOString().slice(0, 10)} on ${machine(etcd.version)}; meshgate server started ${server.via === 'cli' ? 'with `node src/cli/main.ts server`' : 'as a child via test/helpers/server-child.ts (the CLI was not there yet)'} on a fresh data dir (SQLite, WAL, \`synchronous=FULL\`);
etcd single-member on a fresh temp data dir, driven through its v3 HTTP/JSON gateway. Both peers are driven by the
same closed-loop undici client (one keep-alive connection per concurrent client, ${SECONDS} s per run after a 0.5 s
warm-up, 64-byte values, a new key per put; each KV cell is the median of ${REPEAT} runs, alternating which peer goes
first); an operation counts only when acknowledged (meshgate: 200 \`true\`;
etcd: 200 with a revision), and both acknowledge only after their WAL is fsynced. Client, server and etcd share the
machine's cores, so the client's own CPU is part of every figure.

Command: \`${command}\`

### (a) Durable KV puts/s

${kvTable}

### (b) Catalog registrations/s

${catalogTable}

### (c) One write to ${WATCHERS} parked watchers

${watchTable}

Time is taken in the client, from the write's send (or its acknowledgement) until each watcher's response headers
(etcd: the event) arrive; with one client process taking ${WATCHERS} responses in, the tail is partly the client's own.
`;
  process.stdout.write(`${body}\n`);
  if (profileDir) {
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
    for (const f of files) {
      const p = summarizeProfile(join(profileDir, f), 25);
      process.stdout.write(`\n### CPU profile of the meshgate server child (${f}, ${fmt(p.totalMs)} ms sampled)\n\n`);
      process.stdout.write(`${table(['file', 'self ms', 'share'], p.byFile.map((r) => [r.name, fmt(r.ms), `${fmt(r.share * 100, 1)}%`]))}\n\n`);
      process.stdout.write(`${table(['function', 'self ms', 'share'], p.byFunction.map((r) => [r.name, fmt(r.ms), `${fmt(r.share * 100, 1)}%`]))}\n`);
    }
    log(`profiles kept in ${profileDir}`);
  }
  if (!args['no-docs']) {
    mkdirSync(join(REPO, 'docs'), { recursive: true });
    writeSection(join(REPO, 'docs/benchmarks.md'), 'Server', body);
    log('wrote the Server section of docs/benchmarks.md');
  }
}

function median(runs: LoadResult[]): LoadResult {
  return [...runs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor((runs.length - 1) / 2)]!;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
