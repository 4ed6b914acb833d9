/** /v1/kv and /v1/txn driven by the real npm `consul` client and by raw HTTP for what clients do not send. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Consul from 'consul';
import type { RunningServer } from '../../src/server/options.ts';
import { startTestServer } from '../helpers/server.ts';

let server: RunningServer;
let consul: InstanceType<typeof Consul>;

before(async () => {
  server = await startTestServer();
  consul = new Consul({ host: '127.0.0.1', port: server.port });
});
after(() => server.close());

describe('KV with the npm consul client', () => {
  test('set, get, keys and delete', async () => {
    assert.equal(await consul.kv.set('app/config/db', 'postgres://db:5432'), true);
    assert.equal(await consul.kv.set({ key: 'app/config/cache', value: 'redis', flags: 42 }), true);
    const entry = await consul.kv.get('app/config/db');
    assert.equal(entry!.Value, 'postgres://db:5432');
    assert.equal(entry!.Key, 'app/config/db');
    assert.ok(entry!.CreateIndex > 0 && entry!.ModifyIndex >= entry!.CreateIndex);
    assert.equal((await consul.kv.get('app/config/cache'))!.Flags, 42);
    assert.deepEqual(await consul.kv.keys('app/'), ['app/config/cache', 'app/config/db']);
    assert.deepEqual(await consul.kv.keys({ key: 'app/', separator: '/' }), ['app/config/']);
    const tree = await consul.kv.get({ key: 'app/', recurse: true });
    assert.equal((tree as unknown as unknown[]).length, 2);
    assert.equal(await consul.kv.del('app/config/cache'), true);
    assert.equal(await consul.kv.get('app/config/cache'), undefined);
    await consul.kv.del({ key: 'app/', recurse: true });
    assert.equal(await consul.kv.get('app/config/db'), undefined);
  });

  // The npm client turns Consul's `false` body into undefined, so refusals are checked as "not true".
  test('check-and-set on ModifyIndex', async () => {
    assert.equal(await consul.kv.set({ key: 'cas/k', value: 'v0', cas: 0 }), true, 'cas=0 creates an absent key');
    assert.notEqual(await consul.kv.set({ key: 'cas/k', value: 'again', cas: 0 }), true, 'cas=0 refuses an existing key');
    const current = (await consul.kv.get('cas/k'))!;
    assert.equal(await consul.kv.set({ key: 'cas/k', value: 'v1', cas: current.ModifyIndex }), true);
    assert.notEqual(await consul.kv.set({ key: 'cas/k', value: 'stale', cas: current.ModifyIndex }), true);
    assert.equal((await consul.kv.get('cas/k'))!.Value, 'v1');
    const now = (await consul.kv.get('cas/k'))!;
    assert.notEqual(await consul.kv.del({ key: 'cas/k', cas: now.ModifyIndex - 1 }), true);
    const raw = await fetch(`${server.url}/v1/kv/cas/k?cas=${now.ModifyIndex - 1}`, { method: 'DELETE' });
    assert.equal(await raw.text(), 'false', 'the wire answer is Consul\'s literal false');
    assert.equal(await consul.kv.del({ key: 'cas/k', cas: now.ModifyIndex }), true);
  });

  test('raw values round-trip bytes', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    await fetch(`${server.url}/v1/kv/bin/blob`, { method: 'PUT', body: bytes });
    const res = await fetch(`${server.url}/v1/kv/bin/blob?raw`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
    const [entry] = (await (await fetch(`${server.url}/v1/kv/bin/blob`)).json()) as Array<{ Value: string }>;
    assert.deepEqual(Buffer.from(entry!.Value, 'base64'), bytes);
  });

  test('a blocking get returns promptly after a change and holds until wait otherwise', async () => {
    await consul.kv.set('watch/me', 'one');
    const first = await fetch(`${server.url}/v1/kv/watch/me`);
    const index = Number(first.headers.get('x-consul-index'));
    assert.ok(index > 0);

    const started = Date.now();
    const held = await fetch(`${server.url}/v1/kv/watch/me?index=${index}&wait=1s`);
    assert.ok(Date.now() - started >= 1000, 'without a change the query holds for the wait time');
    assert.equal(Number(held.headers.get('x-consul-index')), index);

    const blocked = fetch(`${server.url}/v1/kv/watch/me?index=${index}&wait=60s`);
    await new Promise((r) => setTimeout(r, 100));
    await consul.kv.set('watch/other', 'unrelated');
    await consul.kv.set('watch/me', 'two');
    const res = await blocked;
    assert.ok(Number(res.headers.get('x-consul-index')) > index);
    const [entry] = (await res.json()) as Array<{ Value: string }>;
    assert.equal(Buffer.from(entry!.Value, 'base64').toString(), 'two');
    assert.equal(res.headers.get('x-consul-knownleader'), 'true');
    assert.equal(res.headers.get('x-consul-lastcontact'), '0');
  });
  test("the package's own watch() follows a key through blocking queries", async () => {
    await consul.kv.set('watched/flag', 'off');
    const watch = consul.watch({ method: consul.kv.get, options: { key: 'watched/flag', wait: '30s' } });
    const seen: string[] = [];
    const errors: unknown[] = [];
    watch.on('error', (err: unknown) => errors.push(err));
    const changed = new Promise<void>((resolve) => {
      watch.on('change', (entry: { Value: string } | undefined) => {
        if (entry) seen.push(entry.Value);
        if (seen.includes('on')) resolve();
      });
    });
    try {
      await new Promise((r) => setTimeout(r, 200));
      await consul.kv.set('watched/flag', 'on');
      await changed;
      assert.deepEqual(seen, ['off', 'on']);
      assert.deepEqual(errors, []);
    } finally {
      watch.end();
    }
  });
});

describe('KV bad input', () => {
  const cases: Array<{ name: string; method: string; path: string; body?: string | Buffer; status: number; text: RegExp }> = [
    { name: 'GET without a key', method: 'GET', path: '/v1/kv/', status: 400, text: /^Missing key name$/ },
    { name: 'PUT without a key', method: 'PUT', path: '/v1/kv/', body: 'x', status: 400, text: /^Missing key name$/ },
    { name: 'DELETE without a key', method: 'DELETE', path: '/v1/kv/', status: 400, text: /^Missing key name$/ },
    { name: 'cas that is not a number', method: 'PUT', path: '/v1/kv/a?cas=abc', body: 'x', status: 400, text: /cas/ },
    { name: 'flags that is not a number', method: 'PUT', path: '/v1/kv/a?flags=-1', body: 'x', status: 400, text: /flags/ },
    { name: 'cas with acquire', method: 'PUT', path: '/v1/kv/a?cas=1&acquire=x', body: 'x', status: 400, text: /^Conflicting flags/ },
    { name: 'recurse with cas on delete', method: 'DELETE', path: '/v1/kv/a?recurse&cas=1', status: 400, text: /^Conflicting flags/ },
    { name: 'a traversal key', method: 'PUT', path: '/v1/kv/a/..%2Fetc', body: 'x', status: 400, text: /traversal/ },
    { name: 'a control character in the key', method: 'PUT', path: '/v1/kv/a%01b', body: 'x', status: 400, text: /invalid character/ },
    { name: 'a value over 512 KiB', method: 'PUT', path: '/v1/kv/big', body: Buffer.alloc(512 * 1024 + 1), status: 413, text: /too large, max size: 524288 bytes/ },
    { name: 'acquire with an unknown session', method: 'PUT', path: '/v1/kv/l?acquire=nope', body: 'x', status: 500, text: /invalid session "nope"/ },
    { name: 'a bad wait', method: 'GET', path: '/v1/kv/a?index=1&wait=soon', status: 400, text: /^Invalid wait time$/ },
    { name: 'a bad index', method: 'GET', path: '/v1/kv/a?index=-3', status: 400, text: /^Invalid index$/ },
    { name: 'stale with consistent', method: 'GET', path: '/v1/kv/a?stale&consistent', status: 400, text: /conflicting semantics/ },
    { name: 'POST is not a KV method', method: 'POST', path: '/v1/kv/a', body: 'x', status: 405, text: /method POST not allowed/ },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const before = await (await fetch(`${server.url}/v1/kv/?keys`)).json();
      const res = await fetch(`${server.url}${c.path}`, { method: c.method, ...(c.body !== undefined ? { body: c.body } : {}) });
      assert.equal(res.status, c.status);
      assert.match(await res.text(), c.text);
      assert.deepEqual(await (await fetch(`${server.url}/v1/kv/?keys`)).json(), before, 'a refused write changes nothing');
    });
  }
});

describe('/v1/txn', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  test('applies KV operations all or nothing', async () => {
    const ok = await fetch(`${server.url}/v1/txn`, {
      method: 'PUT',
      body: JSON.stringify([
        { KV: { Verb: 'set', Key: 'txn/a', Value: b64('1') } },
        { KV: { Verb: 'set', Key: 'txn/b', Value: b64('2') } },
        { KV: { Verb: 'get', Key: 'txn/a' } },
      ]),
    });
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { Results: Array<{ KV: { Key: string; Value: string | null } }>; Errors: null };
    assert.equal(body.Errors, null);
    assert.equal(body.Results.length, 3);
    assert.equal(body.Results[0]!.KV.Value, null, 'write results carry no value');
    assert.equal(body.Results[2]!.KV.Value, b64('1'));

    const failed = await fetch(`${server.url}/v1/txn`, {
      method: 'PUT',
      body: JSON.stringify([
        { KV: { Verb: 'set', Key: 'txn/c', Value: b64('3') } },
        { KV: { Verb: 'cas', Key: 'txn/a', Value: b64('x'), Index: 1 } },
        { KV: { Verb: 'check-not-exists', Key: 'txn/b' } },
      ]),
    });
    assert.equal(failed.status, 409);
    const errors = (await failed.json()) as { Results: null; Errors: Array<{ OpIndex: number; What: string }> };
    assert.equal(errors.Results, null);
    assert.deepEqual(errors.Errors.map((e) => e.OpIndex), [1, 2]);
    assert.match(errors.Errors[0]!.What, /failed to set key "txn\/a", index is stale/);
    assert.equal(await consul.kv.get('txn/c'), undefined, 'nothing of a failed transaction is written');
  });

  test('refuses more than 64 operations and malformed bodies', async () => {
    const ops = Array.from({ length: 65 }, (_, i) => ({ KV: { Verb: 'set', Key: `t/${i}`, Value: '' } }));
    const tooMany = await fetch(`${server.url}/v1/txn`, { method: 'PUT', body: JSON.stringify(ops) });
    assert.equal(tooMany.status, 413);
    assert.match(await tooMany.text(), /Transaction contains too many operations \(65 > 64\)/);
    const malformed = await fetch(`${server.url}/v1/txn`, { method: 'PUT', body: '[{"KV": ' });
    assert.equal(malformed.status, 400);
    const badValue = await fetch(`${server.url}/v1/txn`, { method: 'PUT', body: JSON.stringify([{ KV: { Verb: 'set', Key: 'a', Value: 5 } }]) });
    assert.equal(badValue.status, 400);
    assert.match(await badValue.text(), /KV.Value/);
    const unknownVerb = await fetch(`${server.url}/v1/txn`, { method: 'PUT', body: JSON.stringify([{ KV: { Verb: 'explode', Key: 'a' } }]) });
    assert.equal(unknownVerb.status, 409);
    assert.match(await unknownVerb.text(), /unknown KV verb/);
    assert.equal(await consul.kv.get('t/0'), undefined);
  });
});
