/**
 * TCP rules with `ruleSyntax: v2`, against Traefik's pkg/muxer/tcp/matcher_v2_test.go (Test_addTCPRouteV2: same
 * rules, same connections, same outcome); semantics from pkg/muxer/tcp/matcher_v2.go (tcpFuncsV2, preparePattern).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTcpRule } from './rules.ts';

const conn = (serverName: string, remoteIp = '0.0.0.0', alpn: string[] = []) => ({ serverName, remoteIp, alpn });
const v2 = (rule: string) => compileTcpRule(rule, undefined, 'v2');

test('v2 HostSNI takes several names; `*` among them matches every connection', () => {
  for (const bad of ['HostSNI()', 'HostSNI(``)', 'rulewithnotmatcher']) assert.throws(() => v2(bad), bad);
  assert.throws(() => v2('HostSNI(`bad host`)'), /invalid value for "HostSNI" matcher, "bad host" is not a valid hostname or IP/);
  const many = v2('HostSNI(`foo.bar`, `Test.Bar`)');
  assert.equal(many.match(conn('foo.bar')), true);
  assert.equal(many.match(conn('test.bar')), true);
  assert.equal(many.match(conn('other.bar')), false);
  assert.equal(many.match(conn('')), false);
  for (const rule of ['HostSNI(`foobar`)', 'hostsni(`foobar`)', 'HOSTSNI(`foobar`)', '!HostSNI(`bar`)']) assert.equal(v2(rule).match(conn('foobar')), true, rule);
  assert.equal(v2('HostSNI(`foobar`)').match(conn('bar')), false);
  assert.equal(v2('HostSNI(`foobar.`)').match(conn('foobar')), true, 'a trailing dot in the rule is ignored');
  const star = v2('HostSNI(`foo`, `*`)');
  assert.equal(star.match(conn('')), true);
  assert.equal(star.catchAll, false, 'only HostSNI(`*`) alone is the catch-all');
  const all = v2('HostSNI(`*`)');
  assert.equal(all.catchAll, true);
  assert.equal(all.priority, -1);
  // An internationalised name is taken in its punycode form, as Traefik's idna.Lookup.ToASCII does.
  assert.equal(v2('HostSNI(`bücher.example`)').match(conn('xn--bcher-kva.example')), true);
});

test('v2 HostSNIRegexp takes mux host templates, matched case-insensitively', () => {
  for (const bad of ['HostSNIRegexp()', 'HostSNIRegexp(``)']) assert.throws(() => v2(bad), bad);
  assert.throws(() => v2('HostSNIRegexp(`{sub`)'), /invalid pattern value for "HostSNIRegexp" matcher, "\{sub" is not a valid pattern: mux: unbalanced braces/);
  assert.equal(v2('HostSNIRegexp(`{subdomain:[a-z]+}.foobar`)').match(conn('sub.foobar')), true);
  assert.equal(v2('HostSNIRegexp(`{subdomain:[a-z]+}.foobar`)').match(conn('SUB.foobar')), true);
  assert.equal(v2('!HostSNIRegexp(`bar`)').match(conn('foobar')), true);
  for (const rule of ['hostsniregexp(`foobar`)', 'HOSTSNIREGEXP(`foobar`)']) assert.equal(v2(rule).match(conn('foobar')), true, rule);
  assert.equal(v2('HostSNIRegexp(`foobar`)').match(conn('bar')), false);
  assert.equal(v2('HostSNIRegexp(`{subdomain:[a-z]*}`)').match(conn('')), true);
  assert.equal(v2('HostSNIRegexp(`{dummy}`)').match(conn('toto')), true);
  assert.equal(v2('HostSNIRegexp(`{dummy}`)').match(conn('toto.com')), false);
  // The same rule in v3 is a plain Go regexp, where `{dummy}` is literal text.
  assert.equal(compileTcpRule('HostSNIRegexp(`{dummy}`)', undefined).match(conn('toto')), false);
  assert.equal(compileTcpRule('HostSNIRegexp(`{dummy}`)', undefined).match(conn('{dummy}')), true);
});

test('v2 ClientIP and ALPN take several values', () => {
  for (const bad of ['ClientIP()', 'ClientIP(``)', 'ClientIP(`invalid`)']) assert.throws(() => v2(bad), bad);
  assert.throws(() => v2('ALPN(`foo`, `acme-tls/1`)'), /invalid protocol value for "ALPN" matcher, "acme-tls\/1" is not allowed/);
  const cases: Array<[string, string, boolean]> = [
    ['ClientIP(`10.0.0.1`)', 'not.an.IP', false], ['ClientIP(`10.0.0.1`)', '10.0.0.1', true], ['!ClientIP(`20.0.0.1`)', '10.0.0.1', true],
    ['ClientIP(`10::10`)', '10::10', true], ['ClientIP(`10::10`)', '::1', false], ['ClientIP(`10.0.0.1`, `10.0.0.0`)', '10.0.0.0', true],
    ['ClientIP(`11.0.0.0/24`)', '11.0.0.0', true], ['ClientIP(`11::/16`)', '10::', false], ['ClientIP(`11.0.0.0/16`, `10.0.0.0/16`)', '10.0.0.0', true],
    ['ClientIP(`11.0.0.0`, `10.0.0.0/16`)', '10.0.0.0', true],
  ];
  for (const [rule, ip, expected] of cases) assert.equal(v2(rule).match(conn('', ip)), expected, `${rule} from ${ip}`);
  assert.equal(v2('ALPN(`foo`, `bar`)').match(conn('', '0.0.0.0', ['bar'])), true);
  assert.equal(v2('ALPN(`foo`)').match(conn('', '0.0.0.0', ['acme-tls/1'])), false);
  assert.equal(v2('ALPN(`foo`) && !alpn(`h2`)').match(conn('', '0.0.0.0', ['foo', 'h2', 'bar'])), false);
  assert.equal(v2('ALPN(`foo`) && (!alpn(`h2`) || hostsni(`foo`))').match(conn('foo', '0.0.0.0', ['foo', 'bar'])), true);
  assert.equal(v2('HostSNI(`foobar`) || HostSNI(`bar`) && ClientIP(`10.0.0.1`)').match(conn('bar', '10.0.0.2')), false);
  assert.equal(v2('(HostSNI(`foobar`) || HostSNI(`bar`)) && (ClientIP(`10.0.0.1`) || ClientIP(`10.0.0.2`))').match(conn('bar', '10.0.0.1')), true);
});
