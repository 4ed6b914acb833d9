/**
 * `?filter` against a real server: the `matches` operator runs Go's linear-time regexp (Consul evaluates it with
 * go-bexpr, whose validate.go compiles the value with Go's `regexp.Compile` and evaluate.go tests it with
 * `MatchString`), so a catastrophic pattern neither stalls the request nor the server beside it; Go's syntax
 * (`\z`, `(?i)`) and refusals (backreferences) hold; and the expression parser takes neither exponential time nor
 * unbounded stack on nested parentheses (hashicorp/go-bexpr grammar.peg, ParenthesizedExpression).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './catalog/helpers.ts';

let s: TestServer;
before(async () => {
  s = await testServer();
  const hostile = `${'a'.repeat(30)}!`;
  for (const [id, x] of [['hostile', hostile], ['api', '/api'], ['apiz', '/apiz'], ['upper', 'ABC']] as const) {
    const r = await s.put('/v1/agent/service/register', { Name: id, ID: id, Port: 80, Meta: { x } });
    assert.equal(r.status, 200, r.text);
  }
});
after(() => s.close());

const filtered = (expr: string) => s.get(`/v1/agent/services?filter=${encodeURIComponent(expr)}`);

test('matches "^(a+)+$" on 30 a\'s and a "!" answers at once, and /v1/status/leader beside it too', async () => {
  const started = performance.now();
  const [services, leader] = await Promise.all([
    filtered('Meta.x matches "^(a+)+$"').then((r) => ({ r, at: performance.now() - started })),
    s.get('/v1/status/leader').then((r) => ({ r, at: performance.now() - started })),
  ]);
  assert.equal(services.r.status, 200, services.r.text);
  assert.deepEqual(Object.keys(services.r.json), []);
  assert.equal(leader.r.status, 200);
  // Generous bounds that only prove nothing backtracked: the old backtracking RegExp took ~45 s for both.
  assert.ok(services.at < 2000, `filter answered after ${services.at} ms`);
  assert.ok(leader.at < 2000, `leader answered after ${leader.at} ms`);
  const not = await filtered('Meta.x not matches "^(a+)+$"');
  assert.ok(Object.keys(not.json).includes('hostile'));
});

test('matches uses Go\'s syntax: \\z is the end of the text, (?i) a flag', async () => {
  assert.deepEqual(Object.keys((await filtered('Meta.x matches `^/api\\z`')).json), ['api']);
  assert.deepEqual(Object.keys((await filtered('Meta.x matches "(?i)^abc$"')).json), ['upper']);
});

test('a backreference is refused as Go refuses it: 400 with go-bexpr\'s and Go\'s wording', async () => {
  const r = await filtered('Meta.x matches "(a)\\\\1"');
  assert.equal(r.status, 400);
  assert.equal(
    r.text.trim(),
    'Failed to create boolean expression evaluator: Failed to compile regular expression "(a)\\\\1": ' +
      'error parsing regexp: invalid escape sequence: `\\1`',
  );
});

test('nested parentheses: 12 levels parse at once; 2,000 levels are a 400 naming the position, not a 500', async () => {
  const twelve = `${'('.repeat(12)}Meta.x == "/api"${')'.repeat(12)}`;
  const started = performance.now();
  const ok = await filtered(twelve);
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(Object.keys(ok.json), ['api']);
  assert.ok(performance.now() - started < 2000, 'the old parser re-parsed each level 4 times: 12 levels took 48 s');

  const deep = await filtered(`${'('.repeat(2000)}Meta.x == a${')'.repeat(2000)}`);
  assert.equal(deep.status, 400, deep.text);
  assert.match(deep.text, /^Failed to create boolean expression evaluator: 1:258 \(257\): expression nested too deeply: more than 256 levels/);
  const nots = await filtered(`${'not '.repeat(2000)}Meta.x == a`);
  assert.equal(nots.status, 400, nots.text);
  assert.match(nots.text, /nested too deeply/);
  // A long but flat chain is not nesting: it parses.
  const chain = Array.from({ length: 500 }, (_, i) => `Meta.x == v${i}`).join(' or ');
  assert.equal((await filtered(chain)).status, 200);
});
