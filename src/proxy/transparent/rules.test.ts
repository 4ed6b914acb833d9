import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMeshgateError } from '../../lib/errors.ts';
import { redirectRules, removalRules } from './rules.ts';

// Expected order and shape from Consul's sdk/iptables/iptables.go `Setup`: chains created first; outbound REDIRECT,
// OUTPUT jump, proxy-UID and 127.0.0.1 RETURNs, catch-all jump; exclusions inserted (-I) at the head of
// CONSUL_PROXY_OUTPUT; inbound REDIRECT to the proxy's port, PREROUTING jump, catch-all, excluded ports inserted.
test('redirectRules produces Consul\'s rule set, exclusions inserted ahead of the catch-all', () => {
  const rules = redirectRules({
    proxyUid: '1234', proxyInboundPort: 20000, excludeInboundPorts: ['22'], excludeOutboundPorts: ['9999'],
    excludeOutboundCidrs: ['10.0.0.0/8'], excludeUids: ['42'],
  }).map((r) => r.join(' '));
  assert.deepEqual(rules, [
    '-t nat -N CONSUL_PROXY_INBOUND',
    '-t nat -N CONSUL_PROXY_IN_REDIRECT',
    '-t nat -N CONSUL_PROXY_OUTPUT',
    '-t nat -N CONSUL_PROXY_REDIRECT',
    '-t nat -N CONSUL_DNS_REDIRECT',
    '-t nat -A CONSUL_PROXY_REDIRECT -p tcp -j REDIRECT --to-port 15001',
    '-t nat -A OUTPUT -p tcp -j CONSUL_PROXY_OUTPUT',
    '-t nat -A CONSUL_PROXY_OUTPUT -m owner --uid-owner 1234 -j RETURN',
    '-t nat -A CONSUL_PROXY_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-t nat -A CONSUL_PROXY_OUTPUT -j CONSUL_PROXY_REDIRECT',
    '-t nat -I CONSUL_PROXY_OUTPUT -p tcp --dport 9999 -j RETURN',
    '-t nat -I CONSUL_PROXY_OUTPUT -d 10.0.0.0/8 -j RETURN',
    '-t nat -I CONSUL_PROXY_OUTPUT -m owner --uid-owner 42 -j RETURN',
    '-t nat -A CONSUL_PROXY_IN_REDIRECT -p tcp -j REDIRECT --to-port 20000',
    '-t nat -A PREROUTING -p tcp -j CONSUL_PROXY_INBOUND',
    '-t nat -A CONSUL_PROXY_INBOUND -p tcp -j CONSUL_PROXY_IN_REDIRECT',
    '-t nat -I CONSUL_PROXY_INBOUND -p tcp --dport 22 -j RETURN',
  ]);
});

test('DNS redirect: DNAT to the mesh DNS before the TCP capture; with a port only DNS sent to that IP is taken', () => {
  const all = redirectRules({ proxyUid: '1', proxyInboundPort: 1, dnsIp: '10.1.1.1' }).map((r) => r.join(' '));
  assert.ok(all.includes('-t nat -A CONSUL_DNS_REDIRECT -p udp --dport 53 -j DNAT --to-destination 10.1.1.1'));
  assert.ok(all.indexOf('-t nat -A OUTPUT -p udp --dport 53 -j CONSUL_DNS_REDIRECT') < all.indexOf('-t nat -A OUTPUT -p tcp -j CONSUL_PROXY_OUTPUT'));
  const withPort = redirectRules({ proxyUid: '1', proxyInboundPort: 1, dnsPort: 8600 }).map((r) => r.join(' '));
  assert.ok(withPort.includes('-t nat -A CONSUL_DNS_REDIRECT -p tcp -d 127.0.0.1 --dport 53 -j DNAT --to-destination 127.0.0.1:8600'));
  assert.ok(!redirectRules({ proxyUid: '1', proxyInboundPort: 1 }).some((r) => r.includes('DNAT')));
});

test('bad input is refused naming the flag, before any rule is built', () => {
  const cases: Array<[Parameters<typeof redirectRules>[0], RegExp]> = [
    [{ proxyUid: '', proxyInboundPort: 1 }, /proxy-uid/],
    [{ proxyUid: '1; rm -rf /', proxyInboundPort: 1 }, /proxy-uid/],
    [{ proxyUid: '1', proxyInboundPort: 0 }, /proxy-inbound-port/],
    [{ proxyUid: '1', proxyInboundPort: 70000 }, /proxy-inbound-port/],
    [{ proxyUid: '1', proxyInboundPort: 1, excludeOutboundPorts: ['http'] }, /exclude-outbound-port/],
    [{ proxyUid: '1', proxyInboundPort: 1, excludeOutboundCidrs: ['10.0.0.0/33'] }, /exclude-outbound-cidr/],
    [{ proxyUid: '1', proxyInboundPort: 1, excludeUids: ['-j ACCEPT'] }, /exclude-uid/],
    [{ proxyUid: '1', proxyInboundPort: 1, dnsIp: 'dns.local' }, /consul-dns-ip/],
  ];
  for (const [cfg, field] of cases) {
    assert.throws(() => redirectRules(cfg), (err: unknown) => isMeshgateError(err, 'MG_REDIRECT_CONFIG') && field.test(err.message), JSON.stringify(cfg));
  }
  // a user name and a port range are what iptables itself accepts
  const named = redirectRules({ proxyUid: 'envoy', proxyInboundPort: 1, excludeInboundPorts: ['8000:8100'] }).map((r) => r.join(' '));
  assert.ok(named.includes('-t nat -A CONSUL_PROXY_OUTPUT -m owner --uid-owner envoy -j RETURN'));
  assert.ok(named.includes('-t nat -I CONSUL_PROXY_INBOUND -p tcp --dport 8000:8100 -j RETURN'));
});

test('removalRules deletes the jumps before flushing and deleting every chain', () => {
  const rules = removalRules().map((r) => r.join(' '));
  const firstFlush = rules.findIndex((r) => r.includes(' -F '));
  assert.ok(rules.slice(0, firstFlush).every((r) => r.includes(' -D ')));
  assert.equal(rules.filter((r) => r.includes(' -X ')).length, 5);
});
