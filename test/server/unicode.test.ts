/**
 * What is acknowledged is what is read back, before and after a restart. A JSON body can spell a lone UTF-16
 * surrogate (`"\ud800"`), which has no UTF-8 form: stored, it came back after a restart as U+FFFD. Such keys and
 * names are refused with 400 at the door on every endpoint that takes JSON, and nothing is written; valid
 * non-BMP text (a surrogate *pair*) is kept exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServer, type TestServer } from './catalog/helpers.ts';

// Written as JSON text so the escape reaches the server as sent (JSON.stringify would keep it, but be explicit).
const LONE = '\\ud800';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const refused: Array<[string, string, string]> = [
  ['txn KV key', '/v1/txn', `[{"KV":{"Verb":"set","Key":"txnsur/${LONE}x","Value":"${b64('v')}"}}]`],
  ['txn KV key in a later op', '/v1/txn', `[{"KV":{"Verb":"set","Key":"txnok","Value":"${b64('v')}"}},{"KV":{"Verb":"set","Key":"${LONE}","Value":"${b64('v')}"}}]`],
  ['catalog node name', '/v1/catalog/register', `{"Node":"n${LONE}","Address":"10.0.0.1"}`],
  ['catalog service name', '/v1/catalog/register', `{"Node":"n1","Address":"10.0.0.1","Service":{"Service":"s${LONE}"}}`],
  ['catalog meta key', '/v1/catalog/register', `{"Node":"n1","Address":"10.0.0.1","NodeMeta":{"k${LONE}":"v"}}`],
  ['agent service name', '/v1/agent/service/register', `{"Name":"web${LONE}"}`],
  ['agent service tag', '/v1/agent/service/register', `{"Name":"web","Tags":["t${LONE}"]}`],
  ['agent check name', '/v1/agent/check/register', `{"Name":"c${LONE}","TTL":"10s"}`],
  ['session name', '/v1/session/create', `{"Name":"s${LONE}"}`],
];

async function snapshot(s: TestServer): Promise<unknown> {
  const [kv, nodes, services, agent, sessions] = await Promise.all([
    s.get('/v1/kv/?recurse'), s.get('/v1/catalog/nodes'), s.get('/v1/catalog/services'), s.get('/v1/agent/services'), s.get('/v1/session/list'),
  ]);
  return {
    kv: (kv.json ?? []).map((e: { Key: string }) => e.Key),
    nodes: nodes.json.map((n: { Node: string }) => n.Node),
    services: services.json,
    agent: Object.keys(agent.json),
    sessions: sessions.json.map((x: { Name: string }) => x.Name),
  };
}

test('lone surrogates are refused on every JSON door; a surrogate pair survives a restart unchanged', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meshgate-unicode-'));
  try {
    let s = await testServer({ dataDir, nodeName: 'uni' });
    let before: unknown;
    try {
      // Valid astral text (U+1F600 as a surrogate pair) in a txn key and a session name is acknowledged…
      const pair = '\\ud83d\\ude00';
      const ok = await s.put('/v1/txn', `[{"KV":{"Verb":"set","Key":"txnsur/${pair}x","Value":"${b64('v')}"}}]`);
      assert.equal(ok.status, 200, ok.text);
      const session = await s.put('/v1/session/create', `{"Name":"s${pair}"}`);
      assert.equal(session.status, 200, session.text);

      before = await snapshot(s);
      for (const [what, path, body] of refused) {
        const r = await s.put(path, body);
        assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
        assert.match(r.text, /^Request decode failed: .*not valid Unicode/, what);
      }
      assert.deepEqual(await snapshot(s), before, 'a refused request wrote something');
      assert.deepEqual((before as { kv: string[] }).kv, ['txnsur/\u{1F600}x']);
    } finally {
      await s.close();
    }
    s = await testServer({ dataDir, nodeName: 'uni' });
    try {
      // …and read back exactly, after the restart too.
      assert.deepEqual(await snapshot(s), before);
      assert.deepEqual((await snapshot(s) as { sessions: string[] }).sessions, ['s\u{1F600}']);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
