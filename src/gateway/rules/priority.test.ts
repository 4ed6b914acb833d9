/**
 * Traefik v3.7's default router priority: pkg/muxer/http/mux.go `GetRulePriority` (the rule's length less
 * `muxer.DoubleWildcardPenalty` for each domain `ParseDomains` finds — the positive `Host` matchers, lower-cased) and
 * pkg/muxer/muxer.go `DoubleWildcardPenalty` (2 for a `**.` expression, else 0; its table is
 * pkg/muxer/muxer_test.go TestDoubleWildcardPenalty, replayed below).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRoutes, defaultPriority, doubleWildcardPenalty, parseRuleEitherSyntax, positiveHosts } from './index.ts';
import { requestFor } from './testing.ts';

test('DoubleWildcardPenalty: only a double wildcard costs, two (the stars)', () => {
  for (const [expression, penalty] of [['example.com', 0], ['*', 0], ['*.example.com', 0], ['**.example.com', 2]] as const) {
    assert.equal(doubleWildcardPenalty(expression), penalty, expression);
  }
});

test('GetRulePriority: the length less two for each positive `**.` Host, negations pushed down as Traefik does', () => {
  const table: Array<[string, number]> = [
    ['Host(`example.com`)', 19],
    ['Host(`*.example.com`)', 21],
    ['Host(`**.example.com`)', 22 - 2],
    // Matcher names and values in any case Traefik's parser accepts; values are lower-cased before the check.
    ['HOST(`**.EXAMPLE.COM`)', 22 - 2],
    ['Host(`**.a.com`) || Host(`**.b.com`)', 36 - 4],
    ['Host(`**.a.com`) && PathPrefix(`/api`)', 38 - 2],
    // A negated Host is not a domain of the rule; two negations make it positive again (De Morgan, pkg/rules invert).
    ['!Host(`**.a.com`)', 17],
    ['!(!Host(`**.a.com`))', 20 - 2],
    ['!(Host(`**.a.com`) || Path(`/x`))', 33],
    // v2 syntax: several values in one Host, each counted; HostHeader is not Host.
    ['Host(`**.a.com`, `**.b.com`)', 28 - 4],
    ['HostHeader(`**.a.com`)', 22],
    // Only a leading `**.` counts; HostRegexp is no host list.
    ['HostRegexp(`**.a.com`)', 22],
    // A rule that does not parse keeps its length.
    ['Host(`**.a.com`', 15],
  ];
  for (const [rule, expected] of table) assert.equal(defaultPriority(rule), expected, rule);
  // The same hosts are what TLS options map onto (runtime/tls-manager.ts ruleHosts, Traefik's ParseDomains).
  assert.deepEqual(positiveHosts(parseRuleEitherSyntax('!(!Host(`A.test`)) && !(Host(`b.test`) || !Host(`C.test`))')), ['a.test', 'c.test']);
});

test('by default an exact host and a one-label wildcard are tried before the double wildcard that also covers them', () => {
  // Without the penalty `Host(`**.example.com`)` (22 bytes) would outrank `Host(`a.example.com`)` (21).
  const { routes } = compileRoutes([
    { name: 'deep', rule: 'Host(`**.example.com`)', entryPoints: [], target: 'deep' },
    { name: 'exact', rule: 'Host(`a.example.com`)', entryPoints: [], target: 'exact' },
    { name: 'one', rule: 'Host(`*.example.com`)', entryPoints: [], target: 'one' },
  ]);
  assert.equal(routes.match('web', requestFor('http://a.example.com/'))?.name, 'exact');
  assert.equal(routes.match('web', requestFor('http://b.example.com/'))?.name, 'one');
  assert.equal(routes.match('web', requestFor('http://x.b.example.com/'))?.name, 'deep');
  // An explicit priority is used as written.
  const { routes: explicit } = compileRoutes([
    { name: 'deep', rule: 'Host(`**.example.com`)', priority: 100, entryPoints: [], target: 'deep' },
    { name: 'exact', rule: 'Host(`a.example.com`)', entryPoints: [], target: 'exact' },
  ]);
  assert.equal(explicit.match('web', requestFor('http://a.example.com/'))?.name, 'deep');
});
