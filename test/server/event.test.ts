/**
 * /v1/event/fire and /v1/event/list as agent/event_endpoint.go and agent/user_event.go behave: fire answers the
 * event (ID, Name, base64 Payload, filters, Version 1, LTime), filters are validated as validateUserEventParams
 * does, an event whose filters do not match this agent is not in its list (shouldProcessUserEvent), the buffer
 * keeps the last 256, and list blocks until the index — uuidToUint64 of the newest event's ID — differs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './catalog/helpers.ts';

interface UserEvent {
  ID: string; Name: string; Payload: string | null; NodeFilter: string; ServiceFilter: string; TagFilter: string; Version: number; LTime: number;
}

let server: TestServer;
before(async () => {
  server = await testServer({ nodeName: 'server-1' });
  const reg = await server.put('/v1/agent/service/register', { Name: 'web', Tags: ['blue', 'v2'], Port: 8080 });
  assert.equal(reg.status, 200, reg.text);
});
after(() => server.close());

/** Consul's uuidToUint64, computed independently of the server's code. */
function uuidIndex(id: string): string {
  const hex = id.replace(/-/g, '');
  return (BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`)).toString();
}

describe('user events', () => {
  test('an empty list answers index 1', async () => {
    const res = await server.get('/v1/event/list');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, []);
    assert.equal(res.headers.get('x-consul-index'), '1');
  });

  test('fire answers the event; list has it with Consul\'s hash index', async () => {
    const fired = await server.put('/v1/event/fire/deploy', 'v1.2.3');
    assert.equal(fired.status, 200, fired.text);
    const ev = fired.json as UserEvent;
    assert.match(ev.ID, /^[0-9a-f-]{36}$/);
    assert.equal(ev.Name, 'deploy');
    assert.equal(Buffer.from(ev.Payload!, 'base64').toString(), 'v1.2.3');
    assert.equal(ev.Version, 1);
    assert.ok(ev.LTime >= 1);
    assert.deepEqual([ev.NodeFilter, ev.ServiceFilter, ev.TagFilter], ['', '', '']);
    const list = await server.get('/v1/event/list');
    assert.deepEqual((list.json as UserEvent[]).at(-1), ev);
    assert.equal(list.headers.get('x-consul-index'), uuidIndex(ev.ID));
    const empty = await server.put('/v1/event/fire/no-payload');
    assert.equal((empty.json as UserEvent).Payload, null);
    assert.ok((empty.json as UserEvent).LTime > ev.LTime, 'LTime grows');
  });

  test('?name= filters; filters that do not match this agent keep the event out of its list', async () => {
    await server.put('/v1/event/fire/match?node=^server-&service=web&tag=^blu');
    await server.put('/v1/event/fire/other-node?node=^db-');
    await server.put('/v1/event/fire/other-service?service=^api$');
    await server.put('/v1/event/fire/other-tag?service=web&tag=green');
    const names = ((await server.get('/v1/event/list')).json as UserEvent[]).map((e) => e.Name);
    assert.ok(names.includes('match'));
    for (const n of ['other-node', 'other-service', 'other-tag']) assert.ok(!names.includes(n), `${n} must not be received`);
    const only = (await server.get('/v1/event/list?name=match')).json as UserEvent[];
    assert.deepEqual(only.map((e) => [e.Name, e.NodeFilter, e.ServiceFilter, e.TagFilter]), [['match', '^server-', 'web', '^blu']]);
  });

  test('bad filters and oversized events are refused', async () => {
    const tagOnly = await server.put('/v1/event/fire/x?tag=blue');
    assert.equal(tagOnly.status, 400);
    assert.equal(tagOnly.text, 'Cannot provide tag filter without service filter');
    const badRe = await server.put('/v1/event/fire/x?node=(');
    assert.equal(badRe.status, 400);
    assert.match(badRe.text, /^Invalid node filter: /);
    const big = await server.put('/v1/event/fire/x', 'a'.repeat(600));
    assert.equal(big.status, 413);
    assert.match(big.text, /exceeds configured limit of 512 bytes/);
  });

  test('list blocks until the index differs, and wakes on a new event', async () => {
    const first = await server.get('/v1/event/list?name=wake');
    const idx = first.headers.get('x-consul-index')!;
    let settled = false;
    const blocked = server.get(`/v1/event/list?name=wake&index=${idx}&wait=20s`).then((r) => {
      settled = true;
      return r;
    });
    await server.put('/v1/event/fire/unrelated');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false, 'an event of another name does not change this list');
    const fired = (await server.put('/v1/event/fire/wake')).json as UserEvent;
    const woken = await blocked;
    assert.equal(woken.headers.get('x-consul-index'), uuidIndex(fired.ID));
    assert.deepEqual((woken.json as UserEvent[]).map((e) => e.ID), [fired.ID]);
    const timedOut = await server.get(`/v1/event/list?name=wake&index=${uuidIndex(fired.ID)}&wait=200ms`);
    assert.equal(timedOut.headers.get('x-consul-index'), uuidIndex(fired.ID), 'the wait elapses with the same index');
  });

  test('the buffer keeps the last 256 events', async () => {
    for (let i = 0; i < 300; i++) await server.put(`/v1/event/fire/flood-${i}`);
    const list = (await server.get('/v1/event/list')).json as UserEvent[];
    assert.equal(list.length, 256);
    assert.equal(list.at(-1)!.Name, 'flood-299');
    assert.equal(list[0]!.Name, 'flood-44');
    for (let i = 1; i < list.length; i++) assert.ok(list[i]!.LTime > list[i - 1]!.LTime, 'oldest first');
  });
});
