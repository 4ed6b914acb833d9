/**
 * Each matcher against the case tables of Traefik's pkg/muxer/http/matcher_test.go (same rules, same requests,
 * same expected outcome), plus the cases those tables leave implicit (ports, IPv6, trailing dots, encodings).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { compileRoutes, RuleSyntaxError, type MatchRequest } from './index.ts';
import { requestFor } from './testing.ts';

function matcher(rule: string): (req: MatchRequest) => boolean {
  const { routes, errors } = compileRoutes([{ name: 'r', rule, entryPoints: [], target: true }]);
  assert.equal(errors.size, 0, `${rule}: ${[...errors.values()].join()}`);
  return (req) => routes.match('web', req) !== undefined;
}

function rejects(rule: string): void {
  const { routes, errors } = compileRoutes([{ name: 'r', rule, entryPoints: [], target: true }]);
  assert.equal(routes.size, 0, `${rule} should be rejected`);
  assert.ok(errors.has('r'));
}

/** Asserts a table of URL → matched, like Traefik's map[string]int of 200/404. */
function table(rule: string, cases: Record<string, boolean>, init: Partial<MatchRequest> = {}): void {
  const m = matcher(rule);
  for (const [url, expected] of Object.entries(cases)) {
    assert.equal(m(requestFor(url, init)), expected, `${rule} on ${url}`);
  }
}

test('ClientIP: IP or CIDR, v4 and v6, mapped addresses as Node reports them', () => {
  for (const bad of ['ClientIP(`1`)', 'ClientIP()', 'ClientIP(``)', 'ClientIP(`127.0.0.1`, `192.168.1.0/24`)', 'ClientIP(`010.0.0.1`)', 'ClientIP(`10.0.0.0/33`)', 'ClientIP(`fe80::/10%eth0`)']) rejects(bad);
  const at = (rule: string, ips: Record<string, boolean>) => {
    const m = matcher(rule);
    for (const [ip, expected] of Object.entries(ips)) assert.equal(m(requestFor('https://example.com', { clientIp: ip })), expected, `${rule} from ${ip}`);
  };
  at('ClientIP(`127.0.0.1`)', { '127.0.0.1': true, '192.168.1.1': false, '1': false, '': false, '::ffff:127.0.0.1': true });
  at('ClientIP(`192.168.1.0/24`)', { '192.168.1.1': true, '192.168.1.100': true, '192.168.2.1': false, '::ffff:192.168.1.7': true, '::1': false });
  at('ClientIP(`::1`)', { '::1': true, '0:0:0:0:0:0:0:1': true, '127.0.0.1': false, '::2': false });
  at('ClientIP(`2001:db8::/32`)', { '2001:db8::1': true, '2001:DB8:ffff::1': true, '2001:db9::1': false, '10.0.0.1': false, 'fe80::1%eth0': false });
  // Traefik's pkg/ip/checker.go compares netip addresses with `canonicalAddr` (Unmap, WithZone("")): a zone is
  // accepted on either side and ignored; a network may not carry one (netip.ParsePrefix).
  at('ClientIP(`fe80::1%eth0`)', { 'fe80::1': true, 'fe80::1%eth1': true, 'fe80::2': false });
  at('ClientIP(`fe80::/10`)', { 'fe80::1%eth0': true, 'fe80::1': true });
  at('ClientIP(`2001:db8:a0b:12f0::1/64`)', { '2001:db8:a0b:12f0:ffff::2': true, '2001:db8:a0b:12f1::1': false });
  at('ClientIP(`::ffff:10.0.0.0/104`)', { '10.9.9.9': true, '11.0.0.1': false });
  at('ClientIP(`0.0.0.0/0`)', { '8.8.8.8': true, '2001:db8::1': false });
  at('ClientIP(`::/0`)', { '2001:db8::1': true, '8.8.8.8': false });
  at('ClientIP(`::ffff:1.2.3.4`)', { '1.2.3.4': true });
});

test('Method: exact and upper-cased from the rule', () => {
  for (const bad of ['Method()', 'Method(``)', 'Method(`GET`, `POST`)']) rejects(bad);
  for (const rule of ['Method(`GET`)', 'Method(`get`)']) {
    const m = matcher(rule);
    assert.equal(m(requestFor('https://example.com', { method: 'GET' })), true);
    assert.equal(m(requestFor('https://example.com', { method: 'POST' })), false);
    assert.equal(m(requestFor('https://example.com', { method: 'get' })), false);
  }
});

test('Host: case-insensitive, port ignored, trailing dots on either side, ASCII only', () => {
  for (const bad of ['Host()', 'Host(``)', 'Host(`🦭.com`)', 'Host(`example.com`, `example.org`)']) rejects(bad);
  table('Host(`example.com`)', {
    'https://example.com': true,
    'https://example.com:8080': true,
    'https://example.com/path': true,
    'https://EXAMPLE.COM/path': true,
    'https://example.org': false,
    'https://example.org/path': false,
    'https://example.com.': true,
    'https://example.com./path': true,
    'https://example.org.': false,
  });
  table('Host(`example.com.`)', {
    'https://example.com': true,
    'https://example.com/path': true,
    'https://example.com.': true,
    'https://example.com./path': true,
    'https://example.org.': false,
  });
  table('Host(`EXAMPLE.COM`)', { 'https://example.com': true, 'https://example.org': false });
  table('Host(`xn--9t9h.com`)', { 'https://xn--9t9h.com': true, 'https://example.com': false, 'https://🦭.com': false });
  table('Host(`::1`)', { 'http://[::1]:8080/': true, 'http://[::2]/': false });
  table('Host(`10.0.0.1`)', { 'http://10.0.0.1:80/': true, 'http://10.0.0.2/': false });
  // No host (HTTP/1.0 without Host) never matches.
  assert.equal(matcher('Host(`example.com`)')({ ...requestFor('http://x/'), host: '' }), false);
});

test('HostRegexp: Go regexp searched in the canonical (lower-case, port-less) host', () => {
  for (const bad of ['HostRegexp()', 'HostRegexp(``)', 'HostRegexp(`🦭.com`)', 'HostRegexp(`(example.com`)', 'HostRegexp(`example.com`, `example.org`)']) rejects(bad);
  table('HostRegexp(`^[a-zA-Z-]+\\.com$`)', {
    'https://example.com': true,
    'https://example.com:8080': true,
    'https://example.com/path': true,
    'https://example.org': false,
    'https://example.org/path': false,
  });
  table('HostRegexp(`^[A-Z]+\\.com$`)', { 'https://example.com': false, 'https://EXAMPLE.com': false });
  table('HostRegexp(`{domain:[a-zA-Z-]+\\.com}`)', { 'https://example.com': false, 'https://example.org': false });
  // Unanchored, as Go's MatchString: a substring is enough.
  table('HostRegexp(`example`)', { 'https://www.example.org': true, 'https://other.org': false });
  table('HostRegexp(`^(?i)(www\\.)?example\\.com$`)', { 'https://WWW.Example.com': true, 'https://www.example.co': false });
});

test('Path: exact match on the routing path', () => {
  for (const bad of ['Path()', 'Path(``)', 'Path(`css`)', 'Path(`/css`, `/js`)']) rejects(bad);
  table('Path(`/css`)', {
    'https://example.com': false,
    'https://example.com/html': false,
    'https://example.org/css': true,
    'https://example.com/css': true,
    'https://example.com/css/': false,
    'https://example.com/css/main.css': false,
  });
  // Non-reserved percent-encodings are decoded before matching, reserved ones are not.
  table('Path(`/foo bar`)', { 'https://example.com/foo%20bar': true, 'https://example.com/foo+bar': false });
  table('Path(`/a%2Fb`)', { 'https://example.com/a%2Fb': true, 'https://example.com/a/b': false });
  table('Path(`/café`)', { 'https://example.com/caf%C3%A9': true });
  table('Path(`/a`)', { 'https://example.com/a?x=1': true });
});

test('PathRegexp: unanchored Go regexp on the routing path, case-sensitive', () => {
  for (const bad of ['PathRegexp()', 'PathRegexp(``)', 'PathRegexp(`/(css`)', 'PathRegexp(`/css`, `/js`)']) rejects(bad);
  table('PathRegexp(`^/(css|js)`)', {
    'https://example.com': false,
    'https://example.com/html': false,
    'https://example.org/css': true,
    'https://example.com/CSS': false,
    'https://example.com/css': true,
    'https://example.com/css/': true,
    'https://example.com/css/main.css': true,
    'https://example.com/js': true,
    'https://example.com/js/': true,
    'https://example.com/js/main.js': true,
  });
  table('PathRegexp("/{path:(css|js)}")', {
    'https://example.com': false,
    'https://example.com/html': false,
    'https://example.org/css': false,
    'https://example.com/{path:css}': true,
    'https://example.com/{path:css}/': true,
    'https://example.com/%7Bpath:css%7D': true,
    'https://example.com/%7Bpath:css%7D/': true,
    'https://example.com/{path:js}': true,
    'https://example.com/%7Bpath:js%7D/': true,
  });
});

test('PathPrefix: prefix of the routing path', () => {
  for (const bad of ['PathPrefix()', 'PathPrefix(``)', 'PathPrefix(`css`)', 'PathPrefix(`/css`, `/js`)']) rejects(bad);
  table('PathPrefix("/css")', {
    'https://example.com': false,
    'https://example.com/html': false,
    'https://example.org/css': true,
    'https://example.com/css': true,
    'https://example.com/css/': true,
    'https://example.com/css/main.css': true,
    'https://example.com/cssx': true,
  });
  table('PathPrefix(`/foo bar`)', { 'https://example.com/foo%20bar/baz': true });
});

function headerTable(rule: string, cases: Array<[IncomingHttpHeaders, boolean]>): void {
  const m = matcher(rule);
  for (const [headers, expected] of cases) assert.equal(m(requestFor('https://example.com', { headers })), expected, `${rule} with ${JSON.stringify(headers)}`);
}

test('Header: canonical key, exact value, any of repeated values', () => {
  for (const bad of ['Header()', 'Header(`X-Forwarded-Host`)', 'Header(`X-Forwarded-Host`, ``)', 'Header(``, `example.com`)', 'Header(`X-Forwarded-Host`, `example.com`, `example.org`)']) rejects(bad);
  for (const rule of ['Header(`X-Forwarded-Proto`, `https`)', 'Header(`x-forwarded-proto`, `https`)']) {
    headerTable(rule, [
      [{ 'x-forwarded-proto': 'https' }, true],
      [{ 'x-forwarded-proto': ['http', 'https'] }, true],
      [{ 'x-forwarded-proto': ['https', 'http'] }, true],
      [{ 'x-forwarded-proto': 'HTTPS' }, false],
      [{ 'x-forwarded-host': 'example.com' }, false],
      [{}, false],
    ]);
  }
});

test('HeaderRegexp: canonical key, Go regexp on each value', () => {
  for (const bad of ['HeaderRegexp()', 'HeaderRegexp(`X-Forwarded-Host`)', 'HeaderRegexp(`X-Forwarded-Host`, ``)', 'HeaderRegexp(``, `example.com`)', 'HeaderRegexp(`X-Forwarded-Host`,`(example.com`)', 'HeaderRegexp(`X-Forwarded-Host`, `example.com`, `example.org`)']) rejects(bad);
  for (const rule of ['HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)', 'HeaderRegexp(`x-forwarded-proto`, `^https?$`)']) {
    headerTable(rule, [
      [{ 'x-forwarded-proto': 'http' }, true],
      [{ 'x-forwarded-proto': 'https' }, true],
      [{ 'x-forwarded-proto': 'HTTPS' }, false],
      [{ 'x-forwarded-proto': ['ws', 'https'] }, true],
      [{ 'x-forwarded-host': 'example.com' }, false],
    ]);
  }
  headerTable('HeaderRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)', [
    [{ 'x-forwarded-proto': 'http' }, false],
    [{ 'x-forwarded-proto': 'https' }, false],
    [{ 'x-forwarded-proto': 'http{secure:}' }, true],
    [{ 'x-forwarded-proto': 'HTTP{secure:}' }, false],
    [{ 'x-forwarded-proto': 'http{secure:s}' }, true],
    [{ 'x-forwarded-proto': 'http{secure:S}' }, false],
    [{ 'x-forwarded-proto': ['ws', 'http{secure:s}'] }, true],
  ]);
});

test('Query: key and value, or key with an empty value; Go query parsing', () => {
  for (const bad of ['Query()', 'Query(``)', 'Query(``, `traefik`)', 'Query(`q`, ``)', 'Query(`q`, `traefik`, `proxy`)']) rejects(bad);
  table('Query(`q`, `traefik`)', {
    'https://example.com': false,
    'https://example.com?q=traefik': true,
    'https://example.com?rel=ddg&q=traefik': true,
    'https://example.com?q=traefik&q=proxy': true,
    'https://example.com?q=awesome&q=traefik': true,
    'https://example.com?q=nginx': false,
    'https://example.com?rel=ddg': false,
    'https://example.com?q=TRAEFIK': false,
    'https://example.com?Q=traefik': false,
    'https://example.com?rel=traefik': false,
    'https://example.com?q=%74raefik': true,
    'https://example.com?q=traefik;x=1': false,
    'https://example.com?q=traefik&x=%zz': true,
  });
  table('Query(`mobile`)', { 'https://example.com': false, 'https://example.com?mobile': true, 'https://example.com?mobile=': true, 'https://example.com?mobile=true': false });
  table('Query(`q`, `a b`)', { 'https://example.com?q=a+b': true, 'https://example.com?q=a%20b': true });
});

test('QueryRegexp: Go regexp on each value; one argument behaves as Query', () => {
  for (const bad of ['QueryRegexp()', 'QueryRegexp(``)', 'QueryRegexp(`q`, `(traefik`)', 'QueryRegexp(`q`, `traefik`, `proxy`)']) rejects(bad);
  table('QueryRegexp(`q`, `^(traefik|nginx)$`)', {
    'https://example.com': false,
    'https://example.com?q=traefik': true,
    'https://example.com?rel=ddg&q=traefik': true,
    'https://example.com?q=traefik&q=proxy': true,
    'https://example.com?q=TRAEFIK': false,
    'https://example.com?Q=traefik': false,
    'https://example.com?q=nginx': true,
    'https://example.com?q=NGINX': false,
    'https://example.com?q=haproxy': false,
  });
  table('QueryRegexp(`q`, `^.*$`)', { 'https://example.com': false, 'https://example.com?q=TRAEFIK': true, 'https://example.com?Q=nginx': false });
  table('QueryRegexp(`q`, `{value:(traefik|nginx)}`)', { 'https://example.com?q=traefik': false, 'https://example.com?q={value:traefik}': true });
  table('QueryRegexp(`mobile`)', { 'https://example.com?mobile': true, 'https://example.com?mobile=1': false });
});

test('operators: &&, ||, ! and parentheses combine matchers', () => {
  table('Host(`example.com`) && (PathPrefix(`/api`) || Path(`/health`)) && !Method(`DELETE`)', {
    'https://example.com/api/x': true,
    'https://example.com/health': true,
    'https://example.com/healthz': false,
    'https://example.org/api': false,
  });
  assert.equal(matcher('Host(`example.com`) && !Method(`DELETE`)')(requestFor('https://example.com/', { method: 'DELETE' })), false);
  // && binds tighter: a || b && c is a || (b && c).
  table('Path(`/a`) || Host(`example.com`) && Path(`/b`)', { 'https://other.org/a': true, 'https://other.org/b': false, 'https://example.com/b': true });
  table('!(Path(`/a`) || Path(`/b`))', { 'https://x/a': false, 'https://x/b': false, 'https://x/c': true });
});

test('an invalid percent-encoding in the path matches nothing (Traefik answers 400)', () => {
  const m = matcher('Host(`example.com`)');
  assert.equal(m(requestFor('https://example.com/a%zz')), false);
  assert.equal(m(requestFor('https://example.com/a%2')), false);
});

test('rejected values name the problem with Traefik wording and position', () => {
  const { errors } = compileRoutes([
    { name: 'p', rule: 'Host(`a`) && Path(`css`)', entryPoints: [], target: 0 },
    { name: 'h', rule: 'Host(`🦭.com`)', entryPoints: [], target: 0 },
    { name: 'c', rule: 'ClientIP(`1`)', entryPoints: [], target: 0 },
    { name: 'r', rule: 'PathRegexp(`/(css`)', entryPoints: [], target: 0 },
  ]);
  assert.match(errors.get('p')!, /path "css" does not start with a '\/' \(at 1:19\)/);
  assert.match(errors.get('h')!, /invalid value ".*" for Host matcher, non-ASCII characters are not allowed/);
  assert.match(errors.get('c')!, /invalid CIDR address: 1/);
  assert.match(errors.get('r')!, /missing closing \): `\/\(css`/);
  assert.ok(RuleSyntaxError);
});

// Traefik v3.8's rules-and-priority page: Host "Supports wildcard subdomain matching (e.g. *.example.com, **.example.com)".
test('Host wildcards: * is one label, ** any depth, * alone any host; case and trailing dots as for exact hosts', () => {
  table('Host(`*.example.com`)', {
    'https://api.example.com': true, 'https://API.Example.com:8443/x': true, 'https://api.example.com./': true,
    'https://a.b.example.com': false, 'https://example.com': false, 'https://apiexample.com': false, 'https://api.example.org': false,
  });
  table('Host(`**.example.com`)', { 'https://a.example.com': true, 'https://a.b.c.example.com': true, 'https://example.com': false, 'https://xexample.com': false });
  table('Host(`*`)', { 'https://anything.test': true, 'https://127.0.0.1:80': true });
  for (const bad of ['Host(`a.*.example.com`)', 'Host(`*example.com`)', 'Host(`*.*.example.com`)']) rejects(bad);
});

test('Host wildcards and exact hosts share the index without hiding each other: priority still decides', () => {
  const { routes } = compileRoutes([
    { name: 'wild', rule: 'Host(`*.example.com`)', entryPoints: [], target: 'wild' },
    { name: 'exact', rule: 'Host(`api.example.com`) && PathPrefix(`/v1`)', entryPoints: [], target: 'exact' },
  ]);
  assert.equal(routes.match('web', requestFor('https://api.example.com/v1/x'))?.name, 'exact');
  assert.equal(routes.match('web', requestFor('https://api.example.com/other'))?.name, 'wild');
  assert.equal(routes.match('web', requestFor('https://www.example.com/v1'))?.name, 'wild');
});
