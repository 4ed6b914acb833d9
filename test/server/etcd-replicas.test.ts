/**
 * Two Meshgate servers on one etcd (`--store etcd`): each sees the other's writes through the HTTP API, a blocking
 * query on one is woken by a write on the other, KV check-and-set races have one winner, and the shipped CLI runs
 * two server processes on the same etcd.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RunningServer, StoreChoice } from '../../src/server/options.ts';
import { startEtcd, type EtcdProcess } from '../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../helpers/exit-guard.ts';
import { eventually, spawnServer, startTestServer, tempDir } from '../helpers/server.ts';

endLingeringProcessAfterSuite();

let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const etcdStore = (prefix: string): StoreChoice => ({ backend: 'etcd', endpoints: [etcd.url], prefix });

async function kvPut(url: string, key: string, value: string, cas?: number): Promise<boolean> {
  const res = await fetch(`${url}/v1/kv/${key}${cas !== undefined ? `?cas=${cas}` : ''}`, { method: 'PUT', body: value });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as boolean;
}

async function kvGet(url: string, key: string): Promise<{ index: number; entry?: { Value: string; ModifyIndex: number } }> {
  const res = await fetch(`${url}/v1/kv/${key}`);
  const index = Number(res.headers.get('x-consul-index'));
  if (res.status === 404) return { index };
  const [entry] = (await res.json()) as Array<{ Value: string; ModifyIndex: number }>;
  return { index, entry: entry! };
}

const text = (b64: string): string => Buffer.from(b64, 'base64').toString();

test('two servers on one etcd: writes cross over, blocking queries wake, CAS has one winner, restart keeps all', async () => {
  const prefix = `/meshgate-test/${randomUUID()}`;
  const a: RunningServer = await startTestServer({ nodeName: 'server-a', store: etcdStore(prefix) });
  let b: RunningServer = await startTestServer({ nodeName: 'server-b', store: etcdStore(prefix) });
  try {
    // Each server registered its own node; both catalogs list both.
    await eventually(async () => {
      const [na, nb] = await Promise.all([a, b].map(async (s) => ((await (await fetch(`${s.url}/v1/catalog/nodes`)).json()) as Array<{ Node: string }>).map((n) => n.Node).sort()));
      return JSON.stringify(na) === JSON.stringify(['server-a', 'server-b']) && JSON.stringify(nb) === JSON.stringify(na);
    }, 'both nodes in both catalogs');

    // A blocking query on B, woken by a write on A.
    assert.equal(await kvPut(a.url, 'app/color', 'blue'), true);
    const seen = await eventually(async () => (await kvGet(b.url, 'app/color')).entry, 'B to see A’s write');
    assert.equal(text(seen!.Value), 'blue');
    const { index } = await kvGet(b.url, 'app/color');
    const blocked = fetch(`${b.url}/v1/kv/app/color?index=${index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await kvPut(a.url, 'app/color', 'green'), true);
    const woken = await blocked;
    assert.ok(Number(woken.headers.get('x-consul-index')) > index);
    const [entry] = (await woken.json()) as Array<{ Value: string }>;
    assert.equal(text(entry!.Value), 'green');

    // Both replicas race a CAS on the ModifyIndex both have seen: exactly one wins.
    for (let round = 0; round < 5; round++) {
      const current = await eventually(async () => {
        const [ga, gb] = await Promise.all([kvGet(a.url, 'app/color'), kvGet(b.url, 'app/color')]);
        return ga.entry && gb.entry && ga.entry.ModifyIndex === gb.entry.ModifyIndex ? ga.entry : undefined;
      }, 'both replicas to agree');
      const wins = await Promise.all([kvPut(a.url, 'app/color', `a${round}`, current!.ModifyIndex), kvPut(b.url, 'app/color', `b${round}`, current!.ModifyIndex)]);
      assert.equal(wins.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(wins)}`);
    }
    const last = await kvGet(a.url, 'app/color');

    // B restarts: it sees everything, with the index not lower.
    await b.close();
    b = await startTestServer({ nodeName: 'server-b', store: etcdStore(prefix) });
    const after = await kvGet(b.url, 'app/color');
    assert.ok(after.index >= last.index, `index ${after.index} after restart, ${last.index} before`);
    assert.equal(after.entry!.Value, last.entry!.Value);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('meshgate server --store etcd: two processes on one etcd see each other’s writes', async () => {
  const prefix = `/meshgate-test/${randomUUID()}`;
  const dirs = [tempDir(), tempDir()];
  const args = ['--store', 'etcd', '--etcd-endpoints', etcd.url, '--etcd-prefix', prefix];
  const [p1, p2] = await Promise.all(dirs.map((d) => spawnServer(d.path, undefined, args)));
  try {
    assert.equal(await kvPut(p1!.url, 'shared/key', 'from-1'), true);
    const seen = await eventually(async () => (await kvGet(p2!.url, 'shared/key')).entry, 'process 2 to see process 1’s write');
    assert.equal(text(seen!.Value), 'from-1');
  } finally {
    await Promise.all([p1!.stop(), p2!.stop()]);
    for (const d of dirs) d.remove();
  }
});
