/**
 * TCP rules as Traefik's pkg/muxer/tcp compiles them (mux.go AddRoute, matcher.go hostSNI / hostSNIRegexp /
 * clientIP / alpn): default priority is the rule's length, `HostSNI(\`*\`)` alone is the catch-all at -1, values
 * are checked when the router is built.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTcpRule } from './rules.ts';
import { TcpEntryRouting, type TcpRoute } from './routing.ts';
import { parseProxyHeader, proxyHeader } from './proxy-protocol.ts';

const conn = (serverName: string, remoteIp = '127.0.0.1', alpn: string[] = []) => ({ serverName, remoteIp, alpn });

test('HostSNI, HostSNIRegexp, ClientIP and ALPN match as Traefik\'s matchers do, combined with &&, || and !', () => {
  const sni = compileTcpRule('HostSNI(`API.example.com`)', undefined);
  assert.equal(sni.match(conn('api.example.com')), true);
  assert.equal(sni.match(conn('')), false, 'a named HostSNI never matches a connection without SNI');
  assert.equal(sni.priority, 'HostSNI(`API.example.com`)'.length);
  assert.equal(sni.catchAll, false);

  const all = compileTcpRule('HostSNI(`*`)', undefined);
  assert.equal(all.match(conn('')), true);
  assert.equal(all.catchAll, true);
  assert.equal(all.priority, -1);
  assert.equal(compileTcpRule('HostSNI(`*`)', 5).priority, 5);

  const re = compileTcpRule('HostSNIRegexp(`^[a-z]+\\.example\\.com$`)', undefined);
  assert.equal(re.match(conn('db.example.com')), true);
  assert.equal(re.match(conn('db.example.org')), false);

  const ip = compileTcpRule('ClientIP(`10.0.0.0/8`) && !ALPN(`h2`) || HostSNI(`x.test`)', undefined);
  assert.equal(ip.match(conn('', '10.1.2.3')), true);
  assert.equal(ip.match(conn('', '10.1.2.3', ['h2'])), false);
  assert.equal(ip.match(conn('x.test', '192.0.2.1', ['h2'])), true);
  assert.equal(ip.catchAll, false);
});

test('values Traefik refuses are refused with its wording', () => {
  assert.throws(() => compileTcpRule('HostSNI(`bad host`)', undefined), /invalid value for HostSNI matcher, "bad host" is not a valid hostname/);
  assert.throws(() => compileTcpRule('ALPN(`acme-tls/1`)', undefined), /"acme-tls\/1" is not allowed/);
  assert.throws(() => compileTcpRule('ClientIP(`not-an-ip`)', undefined), /ClientIP matcher/);
  assert.throws(() => compileTcpRule('Host(`a.b`)', undefined), /unsupported function: Host \(Traefik v3 TCP matchers: HostSNI, HostSNIRegexp, ClientIP, ALPN\)/);
  assert.throws(() => compileTcpRule('HostSNI(`a`, `b`)', undefined), /expected 1/);
});

test('routes are tried by priority, highest first; the catch-all last', () => {
  const route = (name: string, rule: string, priority?: number): TcpRoute => {
    const c = compileTcpRule(rule, priority);
    return { name, match: c.match, catchAll: c.catchAll, priority: c.priority, tls: 'passthrough', tlsOptions: 'default', handler: () => {} };
  };
  const routing = new TcpEntryRouting([], [route('all', 'HostSNI(`*`)'), route('short', 'HostSNI(`a.io`)'), route('long', 'HostSNIRegexp(`^a\\.io$`)'), route('forced', 'HostSNI(`*`)', 1000)]);
  assert.deepEqual(routing.secure.map((r) => r.name), ['forced', 'long', 'short', 'all']);
  const withoutForced = new TcpEntryRouting([], [route('all', 'HostSNI(`*`)'), route('short', 'HostSNI(`a.io`)'), route('long', 'HostSNIRegexp(`^a\\.io$`)')]);
  assert.equal(withoutForced.matchTls(conn('a.io'))?.name, 'long');
  assert.equal(withoutForced.matchTls(conn('b.io'))?.name, 'all');
});

test('PROXY headers round-trip through proxy-protocol-js, v1 and v2, IPv4 and IPv6, split anywhere', () => {
  for (const version of [1, 2] as const) {
    for (const [src, dst] of [['192.0.2.7', '127.0.0.1'], ['2001:db8::7', '::1']]) {
      const header = proxyHeader(version, { sourceAddress: src!, sourcePort: 40000, destinationAddress: dst!, destinationPort: 443 });
      const whole = Buffer.concat([header, Buffer.from('payload')]);
      const parsed = parseProxyHeader(whole);
      assert.ok(parsed.done && 'header' in parsed, JSON.stringify(parsed));
      assert.equal(parsed.length, header.length);
      assert.equal(parsed.header.source?.port, 40000);
      assert.equal(parsed.header.source?.address.replace(/(^|:)0(:0)*:/, '::'), src);
      for (let cut = 1; cut < header.length; cut++) assert.equal(parseProxyHeader(whole.subarray(0, cut)).done, false, `v${version} cut at ${cut}`);
    }
  }
  const garbage = parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'));
  assert.ok(garbage.done && 'error' in garbage);
});
