/**
 * The intention decision the server and the proxy share. Precedence and order: Consul's computeIntentionPrecedence
 * (agent/structs/config_entry_intentions.go) and IntentionPrecedenceSorter (agent/structs/intention.go); the L4
 * decision: AgentConnectAuthorize (agent/agent_endpoint.go) — first governing intention, L7 intentions deny at L4,
 * default otherwise; L7: the SourceIntention.Permissions comment — in order, first matching permission decides.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authorizeConnection, authorizeRequest, intentionPrecedence, matchIntentions, sortByPrecedence, type HttpRequestFacts, type IntentionRule,
} from './index.ts';

const rule = (SourceName: string, DestinationName: string, Action?: 'allow' | 'deny', Permissions?: IntentionRule['Permissions']): IntentionRule =>
  ({ SourceName, DestinationName, ...(Action ? { Action } : {}), ...(Permissions ? { Permissions } : {}) });

describe('precedence', () => {
  // computeIntentionPrecedence with the namespace exact (CE): 9 exact→exact, 8 *→exact, 6 exact→*, 5 *→*.
  for (const [src, dst, want] of [['web', 'db', 9], ['*', 'db', 8], ['web', '*', 6], ['*', '*', 5]] as const) {
    test(`${src} => ${dst} is ${want}`, () => assert.equal(intentionPrecedence(dst, src), want));
  }

  test('sorted highest first, ties by source then destination name', () => {
    const sorted = sortByPrecedence([rule('*', '*', 'allow'), rule('b', 'db', 'allow'), rule('*', 'db', 'deny'), rule('a', 'db', 'allow'), rule('web', '*', 'deny')]);
    assert.deepEqual(sorted.map((r) => `${r.SourceName}>${r.DestinationName}`), ['a>db', 'b>db', '*>db', 'web>*', '*>*']);
  });

  test('match by destination and by source include the wildcards', () => {
    const rules = [rule('web', 'db', 'allow'), rule('*', 'db', 'deny'), rule('web', '*', 'allow'), rule('api', 'cache', 'allow')];
    assert.deepEqual(matchIntentions(rules, 'destination', 'db').map((r) => r.SourceName), ['web', '*', 'web']);
    assert.deepEqual(matchIntentions(rules, 'source', 'web').map((r) => r.DestinationName), ['db', 'db', '*']);
  });
});

describe('L4 decisions (AgentConnectAuthorize)', () => {
  const rules = [
    rule('*', 'db', 'deny'),
    rule('web', 'db', 'allow'),
    rule('web', '*', 'deny'),
    rule('*', '*', 'allow'),
    rule('api', 'billing', undefined, [{ Action: 'allow', HTTP: { PathPrefix: '/' } }]),
  ];
  const cases: Array<[string, string, boolean, RegExp]> = [
    ['web', 'db', true, /^Matched L4 intention: web => db \(Precedence: 9, Action: ALLOW\)$/],
    ['api', 'db', false, /^Matched L4 intention: \* => db \(Precedence: 8, Action: DENY\)$/],
    ['web', 'cache', false, /web => \* \(Precedence: 6, Action: DENY\)/],
    ['api', 'cache', true, /\* => \* \(Precedence: 5, Action: ALLOW\)/],
    ['api', 'billing', false, /^Matched L7 intention: api => billing \(Precedence: 9, Permissions: 1\)$/],
  ];
  for (const [src, dst, allowed, reason] of cases) {
    test(`${src} -> ${dst}: ${allowed ? 'allowed' : 'denied'}`, () => {
      const d = authorizeConnection(rules, src, dst);
      assert.equal(d.allowed, allowed);
      assert.match(d.reason, reason);
    });
  }

  test('no intention: the default decision and its reason', () => {
    assert.deepEqual(authorizeConnection([], 'a', 'b'), { allowed: true, reason: 'Default behavior configured by ACLs' });
    assert.equal(authorizeConnection([], 'a', 'b', { allow: false, reason: 'Default behavior configured by ACLs' }).allowed, false);
  });

  test('an exact deny beats a wildcard allow, whatever the list order', () => {
    const d = authorizeConnection([rule('*', 'db', 'allow'), rule('web', 'db', 'deny')], 'web', 'db');
    assert.equal(d.allowed, false);
  });
});

describe('L7 decisions on requests', () => {
  const rules = [
    rule('storefront', 'inventory', undefined, [
      { Action: 'deny', HTTP: { PathPrefix: '/admin' } },
      { Action: 'allow', HTTP: { PathRegex: '/items/[0-9]+', Methods: ['GET', 'HEAD'] } },
      { Action: 'allow', HTTP: { PathExact: '/health' } },
      { Action: 'allow', HTTP: { PathPrefix: '/beta', Header: [{ Name: 'X-Beta', Exact: 'yes' }] } },
      { Action: 'allow', HTTP: { PathPrefix: '/debug', Header: [{ Name: 'x-trace', Present: true }, { Name: 'x-env', Prefix: 'stag' }] } },
      { Action: 'allow', HTTP: { PathPrefix: '/files', Header: [{ Name: 'content-type', Suffix: '/json' }] } },
      { Action: 'allow', HTTP: { PathPrefix: '/v2', Header: [{ Name: 'x-client', Regex: 'app-[a-z]+' }] } },
      { Action: 'allow', HTTP: { PathPrefix: '/public', Header: [{ Name: 'x-internal', Present: true, Invert: true }] } },
    ]),
    rule('*', 'inventory', 'deny'),
  ];
  const req = (method: string, path: string, headers: HttpRequestFacts['headers'] = {}): HttpRequestFacts => ({ method, path, headers });
  const deny = { allow: false, reason: 'Default behavior configured by ACLs' };
  const cases: Array<[string, HttpRequestFacts, boolean]> = [
    ['deny before allow: /admin', req('GET', '/admin/users'), false],
    ['regex full match with GET', req('GET', '/items/42'), true],
    ['regex with query string ignored', req('GET', '/items/42?expand=1'), true],
    ['regex is anchored: /items/42/edit', req('GET', '/items/42/edit'), false],
    ['method not listed', req('DELETE', '/items/42'), false],
    ['method compared upper-cased', req('head', '/items/7'), true],
    ['exact path', req('POST', '/health'), true],
    ['exact path is exact', req('GET', '/health/deep'), false],
    ['header exact match, name case-insensitive', req('GET', '/beta/x', { 'x-beta': 'yes' }), true],
    ['header exact mismatch', req('GET', '/beta/x', { 'x-beta': 'no' }), false],
    ['two headers both required', req('GET', '/debug', { 'x-trace': '1', 'x-env': 'staging' }), true],
    ['two headers, one missing', req('GET', '/debug', { 'x-trace': '1' }), false],
    ['header suffix', req('PUT', '/files/a', { 'content-type': 'application/json' }), true],
    ['header regex', req('GET', '/v2/q', { 'x-client': 'app-mobile' }), true],
    ['header regex anchored', req('GET', '/v2/q', { 'x-client': 'my-app-mobile' }), false],
    ['inverted present: header absent', req('GET', '/public/a'), true],
    ['inverted present: header present', req('GET', '/public/a', { 'x-internal': '1' }), false],
    ['no permission matches: default (deny here)', req('GET', '/other'), false],
  ];
  for (const [what, request, allowed] of cases) {
    test(what, () => assert.equal(authorizeRequest(rules, 'storefront', 'inventory', request, deny).allowed, allowed));
  }

  test('no permission matches: default allow when the default allows', () => {
    assert.equal(authorizeRequest(rules, 'storefront', 'inventory', req('GET', '/other')).allowed, true);
  });

  test('an L4 intention governs requests too; other sources fall to the wildcard', () => {
    assert.equal(authorizeRequest(rules, 'crawler', 'inventory', req('GET', '/items/1')).allowed, false);
    assert.equal(authorizeRequest([rule('web', 'inventory', 'allow')], 'web', 'inventory', req('DELETE', '/admin')).allowed, true);
  });

  test('an invalid pattern matches nothing instead of throwing', () => {
    const bad = [rule('a', 'b', undefined, [{ Action: 'allow', HTTP: { PathRegex: '(' } }])];
    assert.equal(authorizeRequest(bad, 'a', 'b', req('GET', '('), deny).allowed, false);
  });
});
