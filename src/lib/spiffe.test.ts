/** SPIFFE ID shapes of Consul's agent/connect (uri_service.go, uri_agent.go, uri_signing.go, ParseCertURI). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { certUriMatches, formatSpiffeId, parseSpiffeId, trustDomainForCluster, uriSans } from './spiffe.ts';
import { isMeshgateError } from './errors.ts';

const td = trustDomainForCluster('11111111-2222-3333-4444-555555555555');

test('service, agent and signing identities round-trip', () => {
  const ids = [
    { kind: 'service', trustDomain: td, namespace: 'default', datacenter: 'dc1', service: 'web' },
    { kind: 'agent', trustDomain: td, datacenter: 'dc1', node: 'node-1' },
    { kind: 'signing', trustDomain: td },
  ] as const;
  for (const id of ids) assert.deepEqual(parseSpiffeId(formatSpiffeId(id)), id);
  assert.equal(formatSpiffeId(ids[0]), `spiffe://${td}/ns/default/dc/dc1/svc/web`);
  assert.equal(formatSpiffeId(ids[1]), `spiffe://${td}/agent/client/dc/dc1/id/node-1`);
});

test('names with reserved characters are escaped and read back', () => {
  const id = { kind: 'service', trustDomain: td, namespace: 'default', datacenter: 'dc1', service: 'a/b c' } as const;
  assert.equal(formatSpiffeId(id), `spiffe://${td}/ns/default/dc/dc1/svc/a%2Fb%20c`);
  assert.deepEqual(parseSpiffeId(formatSpiffeId(id)), id);
});

test('anything else is refused with a coded error', () => {
  for (const bad of ['https://x/ns/default/dc/dc1/svc/web', 'spiffe:///ns/a/dc/b/svc/c', `spiffe://${td}/ns/default/svc/web`,
    `spiffe://${td}/ns/default/dc/dc1/svc/web?x=1`, 'not a uri', `spiffe://${td}/ns/default/dc/dc1/svc/%ZZ`]) {
    assert.throws(() => parseSpiffeId(bad), (err) => isMeshgateError(err, 'MG_SPIFFE_ID_INVALID'), bad);
  }
});

test('certUriMatches: the expected URI takes the presented trust domain, then compares case-insensitively (Traefik verifyServerCertMatchesURI)', () => {
  const presented = 'spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web';
  assert.equal(certUriMatches(presented, 'spiffe:///ns/default/dc/dc1/svc/web'), true);
  assert.equal(certUriMatches(presented, 'spiffe://other.consul/ns/default/dc/dc1/svc/WEB'), true);
  assert.equal(certUriMatches(presented, 'spiffe:///ns/default/dc/dc1/svc/api'), false);
  assert.equal(certUriMatches(presented, 'spiffe:///ns/default/dc/dc2/svc/web'), false);
  assert.equal(certUriMatches(presented, 'https:///ns/default/dc/dc1/svc/web'), false);
  assert.deepEqual(uriSans('DNS:web.example, URI:spiffe://td/ns/default/dc/dc1/svc/web, URI:spiffe://td/x'), ['spiffe://td/ns/default/dc/dc1/svc/web', 'spiffe://td/x']);
});
