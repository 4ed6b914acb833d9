/**
 * Snapshots end to end, through the shipped CLI (`meshgate snapshot save|restore`, which uses the `src/api` client):
 * a snapshot saved while writes go on restores into a fresh server (SQLite) and into a fresh set of replicas on a
 * 3-member etcd cluster, with every key, service, check and session of the snapshot there, the numbered writes a
 * prefix-closed set (a state that existed), the index above every index the target had shown, and a blocking
 * query waiting during the restore woken by it. Consul's shapes: GET streams the archive with X-Consul-Index,
 * PUT answers 200 with an empty body (`agent/snapshot_endpoint.go`); a damaged archive changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIO } from '../../src/cli/io.ts';
import type { RunningServer, StoreChoice } from '../../src/server/options.ts';
import { decodeSnapshot } from '../../src/server/snapshot/format.ts';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { eventually, startTestServer, tempDir } from '../helpers/server.ts';

endLingeringProcessAfterSuite();

const dir = tempDir('meshgate-snapshot-');
after(() => dir.remove());

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t), env: {}, readStdin: async () => Buffer.alloc(0) };
  const code = await main(args, io);
  return { code, out, err };
}

async function put(url: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body) });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  const text = await res.text();
  return text === '' ? undefined : JSON.parse(text);
}

async function indexOf(url: string, path: string): Promise<number> {
  const res = await fetch(`${url}${path}`);
  await res.arrayBuffer();
  return Number(res.headers.get('x-consul-index'));
}

/** External nodes with a service and a check each, sessions (one holding a lock), plain keys. */
async function seed(url: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await put(url, '/v1/catalog/register', {
      Node: `ext-${i}`, Address: `10.0.0.${i}`,
      Service: { ID: `db-${i}`, Service: i % 2 === 0 ? 'db' : 'cache', Port: 5432 + i, Tags: [`t${i}`] },
      Check: { CheckID: `db-${i}-alive`, Name: 'alive', Status: i % 3 === 0 ? 'critical' : 'passing', ServiceID: `db-${i}` },
    });
  }
  const sessions: string[] = [];
  for (let i = 0; i < 3; i++) sessions.push(((await put(url, '/v1/session/create', { Name: `s${i}`, Checks: [] })) as { ID: string }).ID);
  assert.equal(await put(url, `/v1/kv/locks/leader?acquire=${sessions[0]}`, 'me'), true);
  for (let i = 0; i < 20; i++) await put(url, `/v1/kv/config/k${i}`, `v${i}`);
}

/** Numbered writes, each sent after the previous one is acknowledged, to `load/<writer>/<n>`, until stopped. */
function writeLoad(urls: string[]): { stop(): Promise<number> } {
  let stopped = false;
  let total = 0;
  const writers = urls.map(async (url, w) => {
    for (let n = 0; !stopped; n++) {
      await put(url, `/v1/kv/load/${w}/${String(n).padStart(6, '0')}`, String(n));
      total++;
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(writers);
      return total;
    },
  };
}

/**
 * The whole round trip: seed `source`, save during a write load on `loadOn`, restore through `target`, and check
 * through `verifyOn` (another replica of the target, or the target itself).
 */
async function roundTrip(source: string, loadOn: string[], target: string, verifyOn: string, file: string): Promise<void> {
  await seed(source);
  const load = writeLoad(loadOn);
  await new Promise((r) => setTimeout(r, 300));
  const saved = await cli(['snapshot', 'save', file, '-http-addr', source]);
  await new Promise((r) => setTimeout(r, 100));
  const total = await load.stop();
  assert.equal(saved.code, 0, saved.err);
  const savedAt = Number(/Saved and verified snapshot to index (\d+)/.exec(saved.out)?.[1]);
  assert.ok(savedAt > 0, saved.out);

  const { header, rows } = await decodeSnapshot([readFileSync(file)]);
  assert.equal(header.index, savedAt);
  const kv = rows.filter((r) => r.table === 'kv');
  // A state that existed: each writer's numbered keys are 0..n-1 with no gap.
  let inSnapshot = 0;
  for (let w = 0; w < loadOn.length; w++) {
    const numbers = kv.filter((r) => r.row.key.startsWith(`load/${w}/`)).map((r) => Number(r.row.key.split('/')[2]));
    assert.deepEqual(numbers, numbers.map((_, i) => i), `writer ${w}: a prefix-closed set`);
    inSnapshot += numbers.length;
  }
  assert.ok(inSnapshot > 0 && inSnapshot < total, `taken during the writes: ${inSnapshot} of ${total} numbered writes`);

  // The target has a state of its own and has shown indexes; a blocking query waits on it.
  await put(target, '/v1/kv/target-only', 'x');
  const seenBefore = Math.max(await indexOf(target, '/v1/kv/?recurse'), await indexOf(target, '/v1/catalog/services'), await indexOf(verifyOn, '/v1/kv/?recurse'));
  const blocked = fetch(`${verifyOn}/v1/catalog/services?index=${await indexOf(verifyOn, '/v1/catalog/services')}&wait=60s`);
  const restored = await cli(['snapshot', 'restore', file, '-http-addr', target]);
  assert.equal(restored.code, 0, restored.err);
  assert.equal(restored.out, 'Restored snapshot\n');
  const woken = await blocked;
  assert.ok(Number(woken.headers.get('x-consul-index')) > seenBefore, 'the waiting blocking query returns with the restore’s index');
  assert.ok('db' in ((await woken.json()) as Record<string, string[]>));

  await eventually(async () => (await indexOf(verifyOn, '/v1/kv/?recurse')) > seenBefore, 'the restore to reach the verifying replica');
  const after = await indexOf(verifyOn, '/v1/kv/?recurse');
  assert.ok(after > seenBefore, `index ${after} after the restore, ${seenBefore} seen before: not backwards`);
  assert.equal((await fetch(`${verifyOn}/v1/kv/target-only`)).status, 404, 'the target’s own state is replaced');

  const keys = (await (await fetch(`${verifyOn}/v1/kv/?recurse`)).json()) as Array<{ Key: string; Value: string | null; Session?: string; ModifyIndex: number }>;
  const byKey = new Map(keys.map((k) => [k.Key, k]));
  for (const { row } of kv) {
    const v = row.value as { Value: string | null; Session?: string };
    const got = byKey.get(row.key);
    assert.ok(got, `key ${row.key} restored`);
    assert.equal(got.Value, v.Value, `value of ${row.key}`);
    assert.equal(got.Session, v.Session, `lock holder of ${row.key}`);
    assert.ok(got.ModifyIndex > seenBefore, `ModifyIndex of ${row.key} above every index seen before`);
  }
  assert.equal(keys.length, kv.length, 'no key beyond the snapshot’s');
  assert.ok(byKey.get('locks/leader')?.Session, 'the lock is still held');
  for (const { row } of rows.filter((r) => r.table === 'services')) {
    const s = row.value as { Service: string; ID: string; Node: string };
    const instances = (await (await fetch(`${verifyOn}/v1/catalog/service/${s.Service}`)).json()) as Array<{ ServiceID: string; Node: string }>;
    assert.ok(instances.some((i) => i.ServiceID === s.ID && i.Node === s.Node), `service ${s.ID} on ${s.Node}`);
  }
  for (const { row } of rows.filter((r) => r.table === 'checks')) {
    const c = row.value as { CheckID: string; Node: string; Status: string };
    const checks = (await (await fetch(`${verifyOn}/v1/health/node/${c.Node}`)).json()) as Array<{ CheckID: string; Status: string }>;
    assert.equal(checks.find((x) => x.CheckID === c.CheckID)?.Status, c.Status, `check ${c.CheckID} on ${c.Node}`);
  }
  const sessions = rows.filter((r) => r.table === 'sessions');
  assert.equal(sessions.length, 3);
  for (const { row } of sessions) {
    const info = (await (await fetch(`${verifyOn}/v1/session/info/${row.key}`)).json()) as Array<{ ID: string }> | null;
    assert.equal(info?.[0]?.ID, row.key, `session ${row.key}`);
  }
  // And the restored server takes writes on top, with indexes moving on.
  await put(verifyOn, '/v1/kv/after-restore', 'y');
  assert.ok((await indexOf(verifyOn, '/v1/kv/after-restore')) > after);
}

describe('snapshots on SQLite', () => {
  let source: RunningServer;
  let target: RunningServer;
  before(async () => {
    source = await startTestServer({ nodeName: 'source' });
    target = await startTestServer({ nodeName: 'target' });
  });
  after(async () => {
    await Promise.all([source?.close(), target?.close()]);
  });

  test('save under write load, restore into a fresh server: everything there, index not backwards', async () => {
    await roundTrip(source.url, [source.url], target.url, target.url, join(dir.path, 'sqlite.snap'));
  });

  test('GET /v1/snapshot streams a gzip archive with X-Consul-Index; ?stale is accepted', async () => {
    const res = await fetch(`${source.url}/v1/snapshot?stale`);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.deepEqual([...body.subarray(0, 2)], [0x1f, 0x8b], 'gzip magic');
    const { header } = await decodeSnapshot([body]);
    assert.equal(Number(res.headers.get('x-consul-index')), header.index);
    assert.equal(header.version, 1);
  });

  test('a damaged or foreign archive is refused with 400 and changes nothing', async () => {
    const good = Buffer.from(await (await fetch(`${source.url}/v1/snapshot`)).arrayBuffer());
    await put(target.url, '/v1/kv/untouched', 'yes');
    const before = await indexOf(target.url, '/v1/kv/untouched');
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    for (const [what, body] of [['truncated', truncated], ['flipped byte', flipped], ['not gzip', Buffer.from('hello')]] as const) {
      const res = await fetch(`${target.url}/v1/snapshot`, { method: 'PUT', body });
      assert.equal(res.status, 400, what);
      assert.match(await res.text(), /invalid snapshot/, what);
    }
    assert.equal(await indexOf(target.url, '/v1/kv/untouched'), before, 'nothing was restored');
    const file = join(dir.path, 'bad.snap');
    writeFileSync(file, truncated);
    const r = await cli(['snapshot', 'restore', file, '-http-addr', target.url]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^Error restoring snapshot: .*invalid snapshot/);
  });
});

describe('snapshots on a 3-member etcd cluster', () => {
  let cluster: EtcdCluster;
  const servers: RunningServer[] = [];
  before(async () => {
    cluster = await startEtcdCluster(3);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await cluster?.stop();
  });

  const replicas = async (prefix: string, names: string[]): Promise<RunningServer[]> => {
    const store: StoreChoice = { backend: 'etcd', endpoints: cluster.urls, prefix };
    const started = await Promise.all(names.map((nodeName) => startTestServer({ nodeName, store })));
    servers.push(...started);
    return started;
  };

  test('save under writes on three replicas, restore into three fresh replicas: everything there, index not backwards', async () => {
    const source = await replicas(`/meshgate-test/${randomUUID()}`, ['src-0', 'src-1', 'src-2']);
    const target = await replicas(`/meshgate-test/${randomUUID()}`, ['dst-0', 'dst-1', 'dst-2']);
    await roundTrip(source[0]!.url, source.map((s) => s.url), target[0]!.url, target[2]!.url, join(dir.path, 'etcd.snap'));
    // Every target replica holds the restored state.
    for (const s of target) await eventually(async () => (await fetch(`${s.url}/v1/kv/after-restore`)).status === 200, `${s.url} to converge`);
  });
});
