/**
 * Config entries and intentions live in the state store, so they survive a restart on SQLite and are shared by
 * every replica on etcd: an entry written on one server is read, compiled into a discovery chain and used for an
 * authorize decision on another, a blocking list on one wakes for a write on the other, and a CAS has one winner.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RunningServer, StoreChoice } from '../../../src/server/options.ts';
import { startEtcd, type EtcdProcess } from '../../helpers/etcd.ts';
import { endLingeringProcessAfterSuite } from '../../helpers/exit-guard.ts';
import { startTestServer, tempDir } from '../../helpers/server.ts';

endLingeringProcessAfterSuite();

let etcd: EtcdProcess;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.stop();
});

const put = async (url: string, path: string, body: unknown): Promise<unknown> =>
  (await fetch(`${url}${path}`, { method: 'PUT', body: JSON.stringify(body) })).json();
const get = async (url: string, path: string): Promise<{ status: number; body: any; index: number }> => {
  const res = await fetch(`${url}${path}`);
  const text = await res.text();
  return { status: res.status, body: res.ok ? JSON.parse(text) : text, index: Number(res.headers.get('x-consul-index')) };
};

test('sqlite: entries and intentions survive a restart', async () => {
  const dir = tempDir();
  try {
    let server: RunningServer = await startTestServer({ dataDir: dir.path });
    assert.equal(await put(server.url, '/v1/config', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }), true);
    assert.equal(await put(server.url, '/v1/connect/intentions/exact?source=a&destination=web', { Action: 'deny' }), true);
    await server.close();
    server = await startTestServer({ dataDir: dir.path });
    try {
      assert.equal((await get(server.url, '/v1/config/service-defaults/web')).body.Protocol, 'http');
      assert.equal((await get(server.url, '/v1/connect/intentions/exact?source=a&destination=web')).body.Action, 'deny');
    } finally {
      await server.close();
    }
  } finally {
    dir.remove();
  }
});

test('etcd: two servers share entries, chains and intentions; a blocking list wakes across; CAS has one winner', async () => {
  const store: StoreChoice = { backend: 'etcd', endpoints: [etcd.url], prefix: `/meshgate-test/${randomUUID()}` };
  const a = await startTestServer({ nodeName: 'server-a', store });
  const b = await startTestServer({ nodeName: 'server-b', store });
  try {
    assert.equal(await put(a.url, '/v1/config', { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }), true);
    assert.equal(await put(a.url, '/v1/config', { Kind: 'service-resolver', Name: 'web', Subsets: { v1: { Filter: 'Service.Meta.v == 1' } }, DefaultSubset: 'v1' }), true);
    const chain = await get(b.url, '/v1/discovery-chain/web');
    assert.equal(chain.body.Chain.Protocol, 'http');
    assert.equal(chain.body.Chain.StartNode, 'resolver:v1.web.default.default.dc1');

    const first = await get(b.url, '/v1/config/service-splitter');
    const waiting = fetch(`${b.url}/v1/config/service-splitter?index=${first.index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await put(a.url, '/v1/config', { Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 100, ServiceSubset: 'v1' }] }), true);
    const woken = (await (await waiting).json()) as Array<{ Name: string }>;
    assert.deepEqual(woken.map((e) => e.Name), ['web']);

    assert.equal(await put(b.url, '/v1/connect/intentions/exact?source=shop&destination=web', { Action: 'deny' }), true);
    const auth = await fetch(`${a.url}/v1/agent/connect/authorize`, {
      method: 'POST', body: JSON.stringify({ Target: 'web', ClientCertURI: 'spiffe://x.consul/ns/default/dc/dc1/svc/shop' }),
    });
    assert.equal(((await auth.json()) as { Authorized: boolean }).Authorized, false);

    const { ModifyIndex } = (await get(a.url, '/v1/config/service-defaults/web')).body as { ModifyIndex: number };
    const results = await Promise.all([
      put(a.url, `/v1/config?cas=${ModifyIndex}`, { Kind: 'service-defaults', Name: 'web', Protocol: 'http', Meta: { by: 'a' } }),
      put(b.url, `/v1/config?cas=${ModifyIndex}`, { Kind: 'service-defaults', Name: 'web', Protocol: 'http', Meta: { by: 'b' } }),
    ]);
    assert.equal(results.filter((r) => r === true).length, 1, `exactly one CAS wins: ${JSON.stringify(results)}`);
  } finally {
    await b.close();
    await a.close();
  }
});
