/**
 * The v2 rule syntax (`ruleSyntax: v2`) against the case tables of Traefik's pkg/muxer/http/matcher_v2_test.go
 * (TestClientIPV2Matcher, TestMethodV2Matcher, TestHostV2Matcher, TestHostRegexpV2Matcher, TestPathV2Matcher,
 * TestPathPrefixV2Matcher, TestHeadersMatcher, TestHeaderRegexpV2Matcher, TestHostRegexp, Test_addRoute): same rules,
 * same requests, same outcome. The matcher semantics come from pkg/muxer/http/matcher_v2.go (httpFuncsV2) and the
 * gorilla/mux fork it calls (containous/mux regexp.go newRouteRegexp, route.go Queries/Headers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { compileRoutes, compileRoutesLinear, type MatchRequest } from './index.ts';
import { requestFor } from './testing.ts';

function matcher(rule: string): (req: MatchRequest) => boolean {
  const { routes, errors } = compileRoutes([{ name: 'r', rule, entryPoints: [], target: true, ruleSyntax: 'v2' }]);
  assert.equal(errors.size, 0, `${rule}: ${[...errors.values()].join()}`);
  return (req) => routes.match('web', req) !== undefined;
}

function rejects(rule: string, fragment?: string): void {
  const { routes, errors } = compileRoutes([{ name: 'r', rule, entryPoints: [], target: true, ruleSyntax: 'v2' }]);
  assert.equal(routes.size, 0, `${rule} should be rejected`);
  assert.ok(errors.has('r'), rule);
  if (fragment !== undefined) assert.ok(errors.get('r')!.includes(fragment), `"${errors.get('r')}" should mention "${fragment}"`);
}

function table(rule: string, cases: Record<string, boolean>, init: Partial<MatchRequest> = {}): void {
  const m = matcher(rule);
  for (const [url, expected] of Object.entries(cases)) assert.equal(m(requestFor(url, init)), expected, `${rule} on ${url}`);
}

/** A request carrying `lines` as received header lines (Go keeps each a value; Node joins them with ", "). */
function withHeaders(lines: Array<[string, string]>): MatchRequest {
  const headers: IncomingHttpHeaders = {};
  const raw: string[] = [];
  for (const [k, v] of lines) {
    const key = k.toLowerCase();
    headers[key] = headers[key] === undefined ? v : `${headers[key] as string}, ${v}`;
    raw.push(k, v);
  }
  return { ...requestFor('https://example.com', { headers }), rawHeaders: raw };
}

test('v2 ClientIP takes several addresses and networks (TestClientIPV2Matcher)', () => {
  for (const bad of ['ClientIP(`1`)', 'ClientIP()', 'ClientIP(``)', 'ClientIP(`invalid`)']) rejects(bad);
  const at = (rule: string, ips: Record<string, boolean>) => {
    const m = matcher(rule);
    for (const [ip, expected] of Object.entries(ips)) assert.equal(m(requestFor('https://example.com', { clientIp: ip })), expected, `${rule} from ${ip}`);
  };
  at('ClientIP(`127.0.0.1`, `192.168.1.0/24`)', { '127.0.0.1': true, '192.168.1.1': true, '10.0.0.1': false });
  at('ClientIP(`127.0.0.1`)', { '127.0.0.1': true, '192.168.1.1': false, '1': false });
  at('ClientIP(`192.168.1.0/24`)', { '192.168.1.1': true, '192.168.1.100': true, '192.168.2.1': false });
  at('ClientIP(`10::10`)', { '10::10': true, '::1': false });
  at('ClientIP(`11.0.0.0/16`, `10.0.0.0`)', { '10.0.0.0': true });
  at('ClientIP(`11::/16`)', { '10::': false });
});

test('v2 Method takes several methods, compared upper-cased (TestMethodV2Matcher)', () => {
  rejects('Method()');
  rejects('Method(``)');
  const m = matcher('Method(`GET`, `POST`)');
  for (const [method, expected] of Object.entries({ GET: true, POST: true, PUT: false })) assert.equal(m(requestFor('https://example.com', { method })), expected, method);
  const lower = matcher('Method(`get`)');
  assert.equal(lower(requestFor('https://example.com', { method: 'GET' })), true);
  // A request whose method is lower-case is not GET (Go compares the method as sent).
  assert.equal(lower(requestFor('https://example.com', { method: 'get' })), false);
});

test('v2 Host and HostHeader: several hosts, case-insensitive, port and trailing dots ignored, no wildcards (TestHostV2Matcher)', () => {
  for (const bad of ['Host()', 'Host(``)', 'Host(`🦭.com`)', 'Host(`locàlhost`)']) rejects(bad);
  table('Host(`example.com`, `example.org`)', {
    'https://example.com': true, 'https://example.com:8080': true, 'https://EXAMPLE.COM/path': true, 'https://example.org/path': true, 'https://example.net': false,
  });
  table('Host(`example.com.`)', { 'https://example.com': true, 'https://example.com.': true, 'https://example.org.': false });
  table('Host(`example.com`)', { 'https://example.com.': true, 'https://example.org./path': false });
  table('Host(`EXAMPLE.COM`)', { 'https://example.com': true, 'https://example.org': false });
  table('Host(`xn--9t9h.com`)', { 'https://xn--9t9h.com/path': true, 'https://example.com': false });
  table('HostHeader(`localhost`)', { 'http://localhost/foo': true, 'http://bar/foo': false });
  // A comma inside one value is part of the host name, not a separator (Test_addRoute "Host OR, first host").
  table('Host(`nope,localhost`) && PathPrefix(`/bar`)', { 'http://localhost/foo': false });
  table('Host(`nope`,`localhost`) && PathPrefix(`/foo`)', { 'http://localhost/foo': true, 'http://nope/foo': true });
  // v3 reads `*.example.com` as a wildcard; v2 has none, so it is a host name no request carries.
  table('Host(`*.example.com`)', { 'https://a.example.com': false });
  table('Host(`10::10`)', { 'http://10::10/foo': true });
});

test('v2 HostRegexp: mux host templates, literal outside {…}, several templates (TestHostRegexpV2Matcher, TestHostRegexp)', () => {
  for (const bad of ['HostRegexp()', 'HostRegexp(``)', 'HostRegexp(`🦭.com`)', 'HostRegexp(`locàlhost`)']) rejects(bad);
  rejects('HostRegexp("{test")', 'mux: unbalanced braces in "{test"');
  rejects('HostRegexp(`{a:(}.com`)', 'missing closing )');
  rejects('HostRegexp(`{:[a-z]+}.com`)', 'mux: missing name or pattern');
  // "This is weird" in Traefik's own table: a parenthesis outside braces is literal text, so nothing matches.
  table('HostRegexp(`(example.com`)', { 'https://example.com': false, 'https://example.com:8080': false, 'https://example.org/path': false });
  table('HostRegexp(`example.com`, `example.org`)', { 'https://example.com': true, 'https://example.com:8080': true, 'https://example.org/path': true, 'https://example.net': false });
  table('HostRegexp(`^[A-Z]+\\.com$`)', { 'https://example.com': false, 'https://EXAMPLE.com': false });
  table('HostRegexp(`{domain:[a-zA-Z-]+\\.com}`)', { 'https://example.com/path': true, 'https://example.org': false });
  const groups = { 'http://foo.bar.com': true, 'http://bar.com': true, 'http://fooubar.com': false, 'http://barucom': false, 'http://barcom': false };
  table('HostRegexp(`{subdomain:(foo\\.)?bar\\.com}`)', groups);
  table('HostRegexp(`{subdomain:(?:foo\\.)?bar\\.com}`)', groups);
  table('HostRegexp(`{dummy:[a-z-]+\\.bar\\.com}`)', { 'http://FOO.bar.com': true, 'http://foo.bar.com': true, 'http://fooubar.com': false });
  table('HostRegexp(`foo.bar.com`)', { 'http://FOO.bar.com': true, 'http://fooubar.com': false });
  // The variable's default pattern is one label: `{sub}` stops at the first dot.
  table('HostRegexp(`{sub}.example.com`)', { 'http://a.example.com': true, 'http://a.b.example.com': false, 'http://example.com': false });
  // The rules-and-priority page's Router-v2.
  table('HostRegexp(`{subdomain:[a-z]+}.traefik.com`)', { 'http://foo.traefik.com': true, 'http://foo1.traefik.com': false, 'http://a.b.traefik.com': false });
});

test('v2 Path: exact templates, several values, variables with patterns (TestPathV2Matcher)', () => {
  for (const bad of ['Path()', 'Path(``)']) rejects(bad);
  rejects('Path(`css`)', 'mux: path must start with a slash, got "css"');
  rejects('Path(`/a/{id:[0-9]+`)', 'unbalanced braces');
  table('Path(`/css`, `/js`)', {
    'https://example.com': false, 'https://example.com/html': false, 'https://example.org/css': true, 'https://example.com/css': true,
    'https://example.com/css/': false, 'https://example.com/css/main.css': false, 'https://example.com/js': true, 'https://example.com/js/main.js': false,
  });
  table('Path(`/css{path:(/.*)?}`)', {
    'https://example.com': false, 'https://example.com/css/main.css': true, 'https://example.org/css/main.css': true,
    'https://example.com/css/components/component.css': true, 'https://example.com/css.css': false, 'https://example.com/js/main.js': false,
  });
  table('Path(`/users/{id:[0-9]+}`)', { 'http://x/users/42': true, 'http://x/users/42/': false, 'http://x/users/abc': false });
  // Default variable pattern: one path segment.
  table('Path(`/users/{id}`)', { 'http://x/users/42': true, 'http://x/users/42/posts': false, 'http://x/users/': false });
  // Literal text is quoted: a dot is a dot.
  table('Path(`/a.b`)', { 'http://x/a.b': true, 'http://x/axb': false });
});

test('v2 PathPrefix: prefix templates, several values (TestPathPrefixV2Matcher)', () => {
  for (const bad of ['PathPrefix()', 'PathPrefix(``)']) rejects(bad);
  rejects('PathPrefix(`css`)', 'mux: path must start with a slash');
  table('PathPrefix(`/css`, `/js`)', {
    'https://example.com': false, 'https://example.com/html': false, 'https://example.org/css': true, 'https://example.com/css/': true,
    'https://example.com/css/main.css': true, 'https://example.com/js/': true, 'https://example.com/js/main.js': true,
  });
  table('PathPrefix("/css")', { 'https://example.com/css': true, 'https://example.com/css/main.css': true, 'https://example.com/html': false });
  table('PathPrefix(`/css-{name:[0-9]?}`)', {
    'https://example.com': false, 'https://example.com/css-1/main.css': true, 'https://example.org/css-222/main.css': true,
    'https://example.com/css-333333/components/component.css': true, 'https://example.com/css.css': false, 'https://example.com/js/main.js': false,
  });
  // The routing path decodes non-reserved escapes before matching, as for v3.
  table('PathPrefix(`/foo bar`)', { 'http://x/foo%20bar/baz': true });
});

test('v2 Headers and HeadersRegexp: key/value pairs, all must match, any line of a repeated header (TestHeadersMatcher)', () => {
  for (const bad of ['Headers()', 'Headers(`X-Forwarded-Host`)', 'Headers(`X-Forwarded-Host`, ``)', 'Headers(``, `example.com`)']) rejects(bad);
  rejects('Headers(`X-Forwarded-Host`, `example.com`, `example.org`)', 'mux: number of parameters must be multiple of 2, got [X-Forwarded-Host example.com example.org]');
  for (const rule of ['Headers(`X-Forwarded-Proto`, `https`)', 'Headers(`x-forwarded-proto`, `https`)']) {
    const m = matcher(rule);
    assert.equal(m(withHeaders([['X-Forwarded-Proto', 'https']])), true, rule);
    assert.equal(m(withHeaders([['X-Forwarded-Proto', 'http'], ['X-Forwarded-Proto', 'https']])), true, `${rule} second line`);
    assert.equal(m(withHeaders([['X-Forwarded-Proto', 'https'], ['X-Forwarded-Proto', 'http']])), true, `${rule} first line`);
    assert.equal(m(withHeaders([['X-Forwarded-Host', 'example.com']])), false, `${rule} other header`);
  }
  const both = matcher('Headers(`A`, `1`, `B`, `2`)');
  assert.equal(both(withHeaders([['A', '1'], ['B', '2']])), true);
  assert.equal(both(withHeaders([['A', '1']])), false, 'every pair must match');

  for (const bad of ['HeadersRegexp(`X-Forwarded-Host`)', 'HeadersRegexp(`X-Forwarded-Host`, ``)', 'HeadersRegexp(``, `example.com`)']) rejects(bad);
  rejects('HeadersRegexp(`X-Forwarded-Host`,`(example.com`)', 'missing closing )');
  rejects('HeadersRegexp(`X-Forwarded-Host`, `example.com`, `example.org`)', 'multiple of 2');
  const re = matcher('HeadersRegexp(`X-Forwarded-Proto`, `^https?$`)');
  for (const [value, expected] of [['http', true], ['https', true], ['HTTPS', false]] as const) assert.equal(re(withHeaders([['X-Forwarded-Proto', value]])), expected, value);
  assert.equal(re(withHeaders([['X-Forwarded-Proto', 'ws'], ['X-Forwarded-Proto', 'https']])), true);
  // HeadersRegexp values are plain Go regexps, not mux templates: braces are regexp syntax ("Traefik v2 syntax" case).
  const braces = matcher('HeadersRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)');
  for (const [value, expected] of [['https', false], ['http{secure:}', true], ['http{secure:s}', true], ['HTTP{secure:}', false]] as const) {
    assert.equal(braces(withHeaders([['X-Forwarded-Proto', value]])), expected, value);
  }
  table('HeadersRegexp(`Content-Type`, `application/(text|json)`)', { 'http://localhost/foo': true }, { headers: { 'content-type': 'application/json' } });
  table('HeadersRegexp(`Content-Type`, `application/(text|json)`)', { 'http://localhost/foo': false }, { headers: { 'content-type': 'application/foo' } });
});

test('v2 Query: `key=value` templates, all must match, the first value of the key decides (Test_addRoute)', () => {
  rejects('Query("titi")', 'mux: number of parameters must be multiple of 2, got [titi]');
  rejects('Query("titi={test")', 'unbalanced braces');
  rejects('Query(`a={x}`, `b={x}`)', 'duplicated route variable "x"');
  table('Query(`foo=bar`, `bar=baz`)', { 'http://localhost/foo?foo=bar&bar=baz': true, 'http://localhost/foo?bar=baz': false });
  table('Query(`foo=b=ar`)', { 'http://localhost/foo?foo=b=ar': true, 'http://localhost/foo?foo=bar': false });
  // An empty value takes any value of a key that is present.
  table('Query(`mobile=`)', { 'http://x/?mobile': true, 'http://x/?mobile=yes': true, 'http://x/?other=1': false });
  table('Query(`id={id:[0-9]+}`)', { 'http://x/?id=42': true, 'http://x/?id=4a': false, 'http://x/?id=1&id=x': true, 'http://x/?id=x&id=1': false });
  // Values are compared unescaped, as Go's url.Query gives them.
  table('Query(`q=a b`)', { 'http://x/?q=a+b': true, 'http://x/?q=a%20b': true, 'http://x/?q=ab': false });
});

test('v2 rules combine like v3 and take every spelling of a matcher name (Test_addRoute)', () => {
  table('Host(`tchouk`) || Host(`pouet`) && Path(`/powpow`)', { 'http://tchouk/toto': true, 'http://pouet/powpow': true, 'http://pouet/toto': false, 'http://plopi/a': false });
  table('Host("tchouk","pouet") && Path("/powpow", "/titi")', { 'http://tchouk/titi': true, 'http://pouet/powpow': true, 'http://tchouk/toto': false });
  table('!(Host("tchouk","pouet") && Path("/powpow", "/titi"))', { 'http://tchouk/toto': true, 'http://pouet/titi': false, 'http://plopi/a': true });
  for (const rule of ['(HOST("tchouk") && PATHPREFIX("/titi"))', '(host("tchouk") && pathprefix("/titi"))', '(Host("tchouk") && Pathprefix("/titi"))']) {
    table(rule, { 'http://tchouk/titi': true, 'http://tchouk/powpow': false });
  }
  rejects('Host(tchouk)');
  rejects('rulewithnotmatcher');
  // v3-only matchers are unknown in v2, and v2-only ones in v3.
  rejects('Header(`A`, `b`)', 'Traefik v2 HTTP matchers');
  rejects('PathRegexp(`^/a`)', 'unsupported function: PathRegexp');
  const v3 = compileRoutes([{ name: 'r', rule: 'Headers(`A`, `b`)', entryPoints: [], target: true }]);
  assert.ok(v3.errors.get('r')?.includes('unsupported function: Headers'));
  // A v2 rule left in v3 says how to keep it.
  const several = compileRoutes([{ name: 'r', rule: 'Host(`a.test`, `b.test`)', entryPoints: [], target: true }]);
  assert.match(several.errors.get('r')!, /takes exactly one value in Traefik v3.*ruleSyntax: v2/);
});

test('the route index narrows v2 rules exactly as a linear scan decides', () => {
  const rules = [
    'Host(`a.example.com`, `b.example.com`)',
    'Host(`a.example.com`) && PathPrefix(`/api`, `/v1`)',
    'HostHeader(`c.example.com`) && Path(`/users/{id:[0-9]+}`)',
    'PathPrefix(`/static/{v}/`)',
    'HostRegexp(`{sub:[a-z]+}.example.com`)',
    'Path(`/{any}`)',
    'Query(`debug=1`)',
    '!Host(`a.example.com`) && PathPrefix(`/api`)',
  ];
  const inputs = rules.map((rule, i) => ({ name: `r${i}`, rule, entryPoints: [], target: i, ruleSyntax: 'v2' as const }));
  // Enough routers that the table leaves its small-table scan and uses the host and path index.
  for (let i = 0; i < 20; i++) inputs.push({ name: `pad${i}`, rule: `Host(\`pad${i}.test\`)`, entryPoints: [], target: 100 + i, ruleSyntax: 'v2' });
  const indexed = compileRoutes(inputs).routes;
  const linear = compileRoutesLinear(inputs).routes;
  const urls = ['http://a.example.com/', 'http://b.example.com/api/x', 'http://a.example.com/v1', 'http://c.example.com/users/7', 'http://c.example.com/users/x',
    'http://z.example.com/static/3/app.js', 'http://zz.example.com/', 'http://q.test/one', 'http://q.test/?debug=1', 'http://d.example.com/api', 'http://pad3.test/'];
  for (const url of urls) assert.equal(indexed.match('web', requestFor(url))?.name, linear.match('web', requestFor(url))?.name, url);
});
