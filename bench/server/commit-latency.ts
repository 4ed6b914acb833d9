/**
 * The store's own commit latency, without HTTP: one writer (or --concurrency N) doing single-put transactions
 * through StateStore on a SqliteBackend in a fresh temp dir, so each write is one group, one worker round trip and
 * one fsync. Prints p50 / p90 / p99 / p99.9 / max, writes/s and the WAL file's size at the end; used to see what a
 * checkpoint inside COMMIT costs and what the round trip to the worker costs.
 *
 *   node bench/server/commit-latency.ts [--writes 5000] [--concurrency 1] [--store src/server/store]
 * --store points at another copy of the store folder (a checkout of an older commit) to compare in the same run.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { percentile } from './load.ts';

const { values: args } = parseArgs({
  options: {
    writes: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '1' },
    store: { type: 'string', default: join(import.meta.dirname, '../../src/server/store') },
  },
});
const WRITES = Number(args.writes);
const CONCURRENCY = Number(args.concurrency);
const storeDir = resolve(args.store!);

const { StateStore } = (await import(pathToFileURL(join(storeDir, 'state-store.ts')).href)) as typeof import('../../src/server/store/state-store.ts');
const { SqliteBackend } = (await import(pathToFileURL(join(storeDir, 'sqlite-backend.ts')).href)) as typeof import('../../src/server/store/sqlite-backend.ts');

const dir = mkdtempSync(join(tmpdir(), 'meshgate-commit-latency-'));
const store = await StateStore.open(new SqliteBackend(dir));
const value = { Value: Buffer.from('x'.repeat(64)).toString('base64'), Flags: 0 };
const latencies: number[] = [];
let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < WRITES) {
      const i = next++;
      const t0 = performance.now();
      await store.write((tx) => tx.put('kv', `bench/${i}`, value));
      latencies.push(performance.now() - t0);
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const walBytes = statSync(join(dir, 'state.db-wal')).size;
await store.close();
rmSync(dir, { recursive: true, force: true });
latencies.sort((a, b) => a - b);
const q = (x: number) => percentile(latencies, x).toFixed(2);
process.stdout.write(
  `${storeDir}: ${WRITES} writes, concurrency ${CONCURRENCY}: ${(WRITES / seconds).toFixed(0)}/s; ` +
    `p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p99.9 ${q(0.999)} max ${q(1)} ms; ${store.stats.commits} commits; WAL ${(walBytes / 1048576).toFixed(1)} MiB\n`,
);
