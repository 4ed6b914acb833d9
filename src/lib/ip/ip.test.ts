/**
 * Cases from Traefik's pkg/ip checker_test.go (TestIsAuthorized, TestNew, TestContainsIsAllowed,
 * TestContainsBrokenIPs) and strategy_test.go, plus the netip behaviours Traefik's checker relies on
 * (`canonicalAddr`: IPv4-mapped addresses unmapped, zones ignored).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Checker, IpSet, hostOfAddress } from './checker.ts';
import { compileIpStrategy, ipv6SubnetOf, remoteIp } from './strategy.ts';
import { formatIp, parseCidr, parseIp } from './address.ts';
import { isMeshgateError } from '../errors.ts';

test('isAuthorized (Traefik TestIsAuthorized): the host part of addr:port, octal refused', () => {
  assert.equal(new Checker(['1.2.3.4/24']).isAuthorized('10.2.3.1:123'), false);
  assert.equal(new Checker(['1.2.3.4/24']).isAuthorized('1.2.3.1:123'), true);
  assert.equal(new Checker(['127.2.3.4/24']).isAuthorized('0127.2.3.1:123'), false);
  assert.equal(new Checker(['::1']).isAuthorized('[::1]:80'), true);
});

test('new checker (Traefik TestNew): empty lists and bad entries are configuration errors', () => {
  for (const list of [[], ['1.2.3.4/24', '', 'fe80::/16'], [''], ['foo'], ['1.2.3.4/33'], ['fe80::1%eth0/64'], ['01.2.3.4']]) {
    assert.throws(() => new Checker(list, 'sourceRange'), (err: unknown) => isMeshgateError(err, 'MG_INVALID_CONFIG') && /^sourceRange: /.test(err.message), JSON.stringify(list));
  }
  assert.doesNotThrow(() => new Checker(['1.2.3.4/24', 'fe80::/16']));
  assert.equal(new IpSet([]).contains('1.2.3.4'), false, 'an empty IpSet (no trustedIPs) contains nothing');
});

const contains: Array<[string, string[], string[], string[]]> = [
  ['IPv4', ['1.2.3.4/24'], ['1.2.3.1', '1.2.3.32', '1.2.3.156', '1.2.3.255'], ['1.2.16.1', '1.2.32.1', '127.0.0.1', '8.8.8.8']],
  ['IPv4 single IP', ['8.8.8.8'], ['8.8.8.8'], ['8.8.8.7', '8.8.8.9', '8.8.8.0', '8.8.8.255', '4.4.4.4', '127.0.0.1']],
  ['IPv4 Net single IP', ['8.8.8.8/32'], ['8.8.8.8'], ['8.8.8.7', '8.8.8.9', '8.8.8.0', '8.8.8.255', '4.4.4.4', '127.0.0.1']],
  ['multiple IPv4', ['1.2.3.4/24', '8.8.8.8/8'], ['1.2.3.1', '1.2.3.255', '8.8.4.4', '8.0.0.1', '8.32.42.128', '8.255.255.255'], ['1.2.16.1', '127.0.0.1', '4.4.4.4', '4.8.8.8']],
  ['IPv6', ['2a03:4000:6:d080::/64'], ['2a03:4000:6:d080::', '2a03:4000:6:d080::1', '2a03:4000:6:d080:dead:beef:ffff:ffff', '2a03:4000:6:d080::42'], ['2a03:4000:7:d080::', '2a03:4000:7:d080::1', 'fe80::', '4242::1']],
  ['IPv6 single IP', ['2a03:4000:6:d080::42/128'], ['2a03:4000:6:d080::42'], ['2a03:4000:6:d080::1', '2a03:4000:6:d080:dead:beef:ffff:ffff', '2a03:4000:6:d080::43']],
  ['multiple IPv6 & IPv4', ['2a03:4000:6:d080::/64', 'fe80::/16', '1.2.3.4/24', '8.8.8.8/8'],
    ['2a03:4000:6:d080::1', 'fe80::1', 'fe80:aa00:00bb:4232:ff00:eeee:00ff:1111', 'fe80::fe80', '1.2.3.1', '8.255.255.255'],
    ['2a03:4000:7:d080::', '4242::1', '1.2.16.1', '127.0.0.1', '4.8.8.8']],
  // netip canonicalAddr: mapped addresses are their IPv4 address; zones are ignored.
  ['IPv4-mapped peers', ['10.0.0.0/8', '192.168.1.1'], ['::ffff:10.1.2.3', '::FFFF:192.168.1.1', '10.0.0.1'], ['::ffff:11.0.0.1', '::10.0.0.1']],
  ['network written mapped', ['::ffff:10.0.0.0/104'], ['10.0.0.1', '::ffff:10.9.9.9'], ['11.0.0.1']],
  ['zones', ['fe80::/10', '::1'], ['fe80::1%eth0', 'fe80::abcd%25', '::1%lo'], ['fe81::1%eth0'.replace('fe81', '2001')]],
  ['IPv4 and IPv6 families stay apart', ['0.0.0.0/0'], ['1.2.3.4', '::ffff:1.2.3.4'], ['::1', '2001:db8::1']],
  ['::/0 holds IPv6 only', ['::/0'], ['::1', '2001:db8::1'], ['1.2.3.4']],
];
for (const [desc, trusted, pass, reject] of contains) {
  test(`contains (Traefik TestContainsIsAllowed and netip): ${desc}`, () => {
    const checker = new Checker(trusted);
    for (const ip of pass) assert.equal(checker.contains(ip), true, `${ip} should pass`);
    for (const ip of reject) assert.equal(checker.contains(ip), false, `${ip} should not pass`);
  });
}

test('broken addresses never match (Traefik TestContainsBrokenIPs)', () => {
  const checker = new Checker(['1.2.3.4/24', '::/0']);
  for (const ip of ['foo', '10.0.0.350', 'fe:::80', '', '\\&$§&/(', '1.2.3', '1.2.3.04', '%eth0', '1::2%', '1.2.3.4%eth0']) {
    assert.equal(checker.contains(ip), false, JSON.stringify(ip));
  }
});

test('parsing and formatting', () => {
  assert.equal(formatIp(parseIp('2001:DB8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
  assert.equal(formatIp(parseIp('::')!), '::');
  assert.equal(formatIp(parseIp('1:0:0:0:0:0:0:0')!), '1::');
  assert.equal(formatIp(parseIp('1:0:1:1:1:1:1:1')!), '1:0:1:1:1:1:1:1', 'a single zero group is not compressed');
  assert.equal(formatIp(parseIp('::ffff:1.2.3.4')!), '1.2.3.4');
  assert.equal(parseCidr('fe80::1%eth0/64'), undefined);
  assert.equal(parseCidr('1.2.3.4/08'), undefined);
  assert.equal(hostOfAddress('1.2.3.4:80'), '1.2.3.4');
  assert.equal(hostOfAddress('[::1]:80'), '::1');
  assert.equal(hostOfAddress('::1'), '::1');
  assert.equal(remoteIp('::ffff:10.0.0.1'), '10.0.0.1');
});

const xff = (value: string | undefined) => value;

test('strategies (Traefik strategy_test.go): RemoteAddr, Depth, excludedIPs', () => {
  const remote = compileIpStrategy(undefined);
  assert.equal(remote('192.0.2.1', xff('1.1.1.1')), '192.0.2.1');
  assert.equal(remote('192.0.2.1:1234', undefined), '192.0.2.1');
  const depth3 = compileIpStrategy({ depth: 3 });
  assert.equal(depth3('192.0.2.1', xff('10.0.0.4,10.0.0.3,10.0.0.2,10.0.0.1')), '10.0.0.3');
  assert.equal(depth3('192.0.2.1', xff('10.0.0.2, 10.0.0.1')), '', 'fewer entries than depth');
  assert.equal(compileIpStrategy({ depth: 1 })('192.0.2.1', ['10.0.0.2', '10.0.0.1']), '10.0.0.1');
  const pool = compileIpStrategy({ excludedIPs: ['10.0.0.1', '10.0.0.2/31'] });
  assert.equal(pool('192.0.2.1', xff('1.1.1.1, 10.0.0.3, 10.0.0.1')), '1.1.1.1');
  assert.equal(pool('192.0.2.1', xff('10.0.0.4,10.0.0.3, 10.0.0.1')), '10.0.0.4');
  assert.equal(pool('192.0.2.1', xff('10.0.0.3, 10.0.0.1')), '');
  assert.equal(pool('192.0.2.1', undefined), '');
  // Depth wins over excludedIPs.
  assert.equal(compileIpStrategy({ depth: 1, excludedIPs: ['10.0.0.1'] })('x', xff('1.1.1.1, 10.0.0.1')), '10.0.0.1');
});

test('ipv6Subnet reduces an IPv6 client to its network (RemoteAddr and Depth)', () => {
  assert.equal(ipv6SubnetOf('2001:db8:1:2:3:4:5:6', 64), '2001:db8:1:2::');
  assert.equal(ipv6SubnetOf('2001:db8:1:2:3:4:5:6', 128), '2001:db8:1:2:3:4:5:6');
  assert.equal(ipv6SubnetOf('10.0.0.1', 64), '10.0.0.1', 'IPv4 unchanged');
  assert.equal(ipv6SubnetOf('nope:', 64), 'nope:', 'unparsable unchanged');
  assert.equal(compileIpStrategy({ ipv6Subnet: 48 })('2001:db8:1:2::9', undefined), '2001:db8:1::');
  assert.equal(compileIpStrategy({ depth: 1, ipv6Subnet: 64 })('x', xff('1.1.1.1, 2001:db8:0:1:2::3')), '2001:db8:0:1::');
  for (const bad of [0, 129, -1]) {
    assert.throws(() => compileIpStrategy({ ipv6Subnet: bad }), /invalid IPv6 subnet/);
  }
});
