/**
 * Every endpoint decodes its body through src/server/http/decode.ts: the same case-insensitive field names, the
 * same 400 wording (Consul's "Request decode failed: …", and "Failed to parse body: …" on /v1/txn, as its
 * txnEndpoint writes), the same code. Session and txn used to decode by hand.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './catalog/helpers.ts';

let s: TestServer;
before(async () => {
  s = await testServer();
});
after(() => s.close());

test('txn: lower-case op and field names decode; other kinds, bad types and bad base64 are 400s', async () => {
  const ok = await s.put('/v1/txn', [{ kv: { verb: 'set', key: 'dec/a', value: Buffer.from('v').toString('base64') } }]);
  assert.equal(ok.status, 200, ok.text);
  const cases: Array<[unknown, RegExp]> = [
    [{ KV: {} }, /^Failed to parse body: json: cannot unmarshal|^Failed to parse body: missing required field "\[0\]\.KV\.Verb"$/],
    [[{ Node: { Verb: 'get' } }], /^Failed to parse body: operation 0: only KV operations are supported, got "Node"$/],
    [[{ KV: { Verb: 'set', Key: 'k', Flags: 'x' } }], /^Failed to parse body: json: cannot unmarshal string into Go struct field \[0\]\.KV\.Flags/],
    [[{ KV: { Verb: 'set', Key: 'k', Value: '!!' } }], /^Failed to parse body: \[0\]\.KV\.Value: illegal base64 data$/],
  ];
  for (const [body, message] of cases) {
    const r = await s.put('/v1/txn', body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, message);
  }
  assert.equal((await s.get('/v1/kv/k')).status, 404);
});

test('session/create: aliases and case-folded names decode; bad values are "Request decode failed" 400s', async () => {
  const ok = await s.put('/v1/session/create', { name: 'dec', lock_delay: 5, behavior: 'delete' });
  assert.equal(ok.status, 200, ok.text);
  const info = await s.get(`/v1/session/info/${ok.json.ID}`);
  assert.equal(info.json[0].Name, 'dec');
  assert.equal(info.json[0].Behavior, 'delete');
  assert.equal(info.json[0].LockDelay, 5e9, 'a LockDelay below 1000 means seconds (FixupLockDelay)');
  const cases: Array<[unknown, RegExp]> = [
    ['"x"', /^Request decode failed: json: cannot unmarshal string into Go value of type struct$/],
    [{ Name: 5 }, /^Request decode failed: json: cannot unmarshal number 5 into Go struct field Name of type string$/],
    [{ TTL: 'soon' }, /^Request decode failed: TTL: invalid duration "soon"$/],
    [{ ServiceChecks: [{}] }, /^Request decode failed: missing required field "ServiceChecks\[0\]\.ID"$/],
  ];
  for (const [body, message] of cases) {
    const r = await s.put('/v1/session/create', body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.text, message);
  }
});
