/**
 * Query names as Consul reads them (agent/dns.go `dispatch`): right to left up to the first kind label,
 * case-insensitive, with the forms its DNS documentation lists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressToHex, normalizeDomain, parseName } from './names.ts';

const domain = normalizeDomain('Consul');

test('service, tag, RFC 2782, node and addr names parse as Consul reads them', () => {
  const cases: [string, ReturnType<typeof parseName>][] = [
    ['consul', { kind: 'apex' }],
    ['web.service.consul', { kind: 'service', service: 'web' }],
    ['WEB.Service.CONSUL.', { kind: 'service', service: 'web' }],
    ['web.service.dc1.consul', { kind: 'service', service: 'web', datacenter: 'dc1' }],
    ['primary.postgres.service.consul', { kind: 'service', service: 'postgres', tag: 'primary' }],
    ['_postgres._primary.service.consul', { kind: 'service', service: 'postgres', tag: 'primary' }],
    ['_postgres._tcp.service.consul', { kind: 'service', service: 'postgres' }],
    ['db-host-1.node.consul', { kind: 'node', node: 'db-host-1' }],
    ['db-host-1.node.dc2.consul', { kind: 'node', node: 'db-host-1', datacenter: 'dc2' }],
    ['7f000001.addr.dc1.consul', { kind: 'addr', address: '127.0.0.1', datacenter: 'dc1' }],
    ['20010db8000000000000000000000001.addr.consul', { kind: 'addr', address: '2001:0db8:0000:0000:0000:0000:0000:0001' }],
    // Consul 0.3's form: every label before the service is the tag, dots included.
    ['a.b.web.service.consul', { kind: 'service', service: 'web', tag: 'a.b' }],
    ['web.service.dc1.dc.consul', { kind: 'service', service: 'web', datacenter: 'dc1' }],
    ['web.connect.consul', { kind: 'connect', service: 'web' }],
    ['ignored.web.connect.dc1.consul', { kind: 'connect', service: 'web', datacenter: 'dc1' }],
    ['web.virtual.consul', { kind: 'virtual', service: 'web' }],
    ['web.ingress.consul', { kind: 'unknown' }],
    // Node names may contain dots; the rightmost kind label decides.
    ['db.example.node.consul', { kind: 'node', node: 'db.example' }],
    ['a.node.b.node.consul', { kind: 'node', node: 'a.node.b' }],
    ['_geo._udp.query.consul', { kind: 'query', query: 'geo' }],
    ['web.service.a.b.c.consul', { kind: 'unknown' }],
    ['web.nothing.consul', { kind: 'unknown' }],
    ['service.consul', { kind: 'unknown' }],
    ['xyz.addr.consul', { kind: 'unknown' }],
    ['web..service.consul', { kind: 'unknown' }],
    ['example.com', undefined],
    ['notconsul', undefined],
    ['web.service.consul.evil.com', undefined],
  ];
  for (const [name, expected] of cases) assert.deepEqual(parseName(name, domain), expected, name);
});

test('an SRV question may leave out the service label; other types may not', () => {
  assert.deepEqual(parseName('_web._tcp.consul', domain, 'SRV'), { kind: 'service', service: 'web' });
  assert.deepEqual(parseName('_web._tcp.dc1.consul', domain, 'SRV'), { kind: 'service', service: 'web', datacenter: 'dc1' });
  assert.deepEqual(parseName('_web._tcp.consul', domain, 'A'), { kind: 'unknown' });
});

test('addresses round-trip through the .addr. label', () => {
  assert.equal(addressToHex('10.0.0.255'), '0a0000ff');
  assert.equal(addressToHex('::1'), '00000000000000000000000000000001');
  assert.equal(addressToHex('fe80::1:2'), 'fe800000000000000000000000010002');
  assert.equal(addressToHex('1::2::3'), undefined);
  assert.equal(addressToHex('db.example.com'), undefined);
  assert.deepEqual(parseName(`${addressToHex('192.168.1.20')!}.addr.consul`, domain), { kind: 'addr', address: '192.168.1.20' });
});
