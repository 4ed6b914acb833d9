/** Sessions and locks through the npm consul client: acquire/release, contention, lock-delay, TTL expiry. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Consul from 'consul';
import type { KVPair } from '../../src/api/types.ts';
import type { RunningServer } from '../../src/server/options.ts';
import { eventually, startTestServer } from '../helpers/server.ts';

let server: RunningServer;
let consul: InstanceType<typeof Consul>;

/** The npm client's KV entry, with the Value it decodes to a string. */
const getKv = async (key: string) => (await consul.kv.get(key)) as unknown as (Omit<KVPair, 'Value'> & { Value: string }) | undefined;

before(async () => {
  server = await startTestServer();
  consul = new Consul({ host: '127.0.0.1', port: server.port });
});
after(() => server.close());

describe('sessions and locks', () => {
  test('acquire, contention, release, destroy', async () => {
    const { ID: first } = (await consul.session.create({ name: 'leader-election', lockdelay: '0s' })) as { ID: string };
    const { ID: second } = (await consul.session.create({ name: 'contender' })) as { ID: string };
    assert.match(first, /^[0-9a-f-]{36}$/);

    assert.equal(await consul.kv.set({ key: 'service/leader', value: 'node-a', acquire: first }), true);
    assert.notEqual(await consul.kv.set({ key: 'service/leader', value: 'node-b', acquire: second }), true, 'a held lock refuses another session');
    const held = (await getKv('service/leader'))!;
    assert.equal(held.Session, first);
    assert.equal(held.LockIndex, 1);
    assert.equal(held.Value, 'node-a');

    assert.notEqual(await consul.kv.set({ key: 'service/leader', value: 'x', release: second }), true, 'only the holder releases');
    assert.equal(await consul.kv.set({ key: 'service/leader', value: 'node-a', release: first }), true);
    const released = (await getKv('service/leader'))!;
    assert.equal(released.Session, undefined);
    assert.equal(released.LockIndex, 1);

    assert.equal(await consul.kv.set({ key: 'service/leader', value: 'node-b', acquire: second }), true);
    assert.equal((await getKv('service/leader'))!.LockIndex, 2, 'each acquisition counts');

    const info = (await consul.session.info(first)) as { ID: string; Name: string; Behavior: string; NodeChecks: string[] };
    assert.equal(info.Name, 'leader-election');
    assert.equal(info.Behavior, 'release');
    assert.deepEqual(info.NodeChecks, ['serfHealth']);
    const listed = (await consul.session.list()) as Array<{ ID: string }>;
    assert.deepEqual(new Set(listed.map((s) => s.ID)), new Set([first, second]));
    const onNode = (await consul.session.node('node-1')) as Array<{ ID: string }>;
    assert.equal(onNode.length, 2);

    await consul.session.destroy(second);
    const after = (await getKv('service/leader'))!;
    assert.equal(after.Session, undefined, 'destroying the holder releases its lock (Behavior release)');
    assert.equal(after.Value, 'node-b', 'release keeps the value');
    assert.notEqual(await consul.kv.set({ key: 'service/leader', value: 'z', acquire: first }), true, 'the released key is in lock-delay (15s default)');
    await consul.session.destroy(first);
  });

  test('Behavior delete removes the locked keys', async () => {
    const { ID } = (await consul.session.create({ behavior: 'delete' })) as { ID: string };
    await consul.kv.set({ key: 'ephemeral/me', value: 'here', acquire: ID });
    await consul.session.destroy(ID);
    assert.equal(await getKv('ephemeral/me'), undefined);
  });

  test('a session with a TTL expires (after TTL x 2) and releases its lock', async () => {
    const { ID } = (await consul.session.create({ ttl: '10s', lockdelay: '0s' })) as { ID: string };
    await consul.kv.set({ key: 'ttl/lock', value: 'mine', acquire: ID });
    const renewed = (await consul.session.renew(ID)) as Array<{ ID: string; TTL: string }>;
    assert.equal(renewed[0]!.TTL, '10s');
    await eventually(async () => (await consul.session.info(ID)) === undefined, 'session expiry', 40_000, 250);
    assert.equal((await getKv('ttl/lock'))!.Session, undefined);
  });
});

describe('session bad input', () => {
  const put = (path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, { method: 'PUT', ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const cases: Array<{ name: string; path: string; body?: unknown; status: number; text: RegExp }> = [
    { name: 'malformed JSON', path: '/v1/session/create', body: '{"Name":', status: 400, text: /Request decode failed/ },
    { name: 'TTL of the wrong type', path: '/v1/session/create', body: { TTL: 10 }, status: 400, text: /TTL/ },
    { name: 'TTL that is not a duration', path: '/v1/session/create', body: { TTL: 'ten' }, status: 400, text: /TTL/ },
    { name: 'TTL below the minimum', path: '/v1/session/create', body: { TTL: '1s' }, status: 500, text: /Invalid Session TTL '1000000000', must be between \[10s=24h0m0s\]/ },
    { name: 'unknown behavior', path: '/v1/session/create', body: { Behavior: 'explode' }, status: 500, text: /Invalid Behavior setting 'explode'/ },
    { name: 'unknown node', path: '/v1/session/create', body: { Node: 'ghost' }, status: 500, text: /Missing node registration/ },
    { name: 'unknown check', path: '/v1/session/create', body: { NodeChecks: ['nope'] }, status: 500, text: /Missing check 'nope' registration/ },
    { name: 'renew of an unknown session', path: '/v1/session/renew/0b8e8b3c-0000-0000-0000-000000000000', status: 404, text: /Session id '0b8e8b3c-0000-0000-0000-000000000000' not found/ },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const before = await (await fetch(`${server.url}/v1/session/list`)).json();
      const res = await put(c.path, c.body);
      assert.equal(res.status, c.status);
      assert.match(await res.text(), c.text);
      assert.deepEqual(await (await fetch(`${server.url}/v1/session/list`)).json(), before, 'nothing was created');
    });
  }
  test('lower-case field names are decoded as Consul decodes them (python-consul)', async () => {
    const res = await put('/v1/session/create', { name: 'py', ttl: '15s', behavior: 'delete' });
    assert.equal(res.status, 200);
    const { ID } = (await res.json()) as { ID: string };
    const [entry] = (await (await fetch(`${server.url}/v1/session/info/${ID}`)).json()) as Array<{ Name: string; TTL: string; Behavior: string; LockDelay: number }>;
    assert.deepEqual([entry!.Name, entry!.TTL, entry!.Behavior, entry!.LockDelay], ['py', '15s', 'delete', 15_000_000_000]);
  });
});
