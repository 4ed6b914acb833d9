/**
 * The enforcement helpers against small hand-made authorizers: Consul's 403 texts (acl/errors.go), list filtering
 * that reports whether it removed anything, the filtered header masked for token-less requests
 * (agent/consul/rpc.go maskResultsFilteredByACLs), and ACLs-off costing no predicate call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALLOW_ALL_AUTHORIZER, ANONYMOUS_TOKEN_ID, PermissionDeniedError, type Authorizer } from './authorizer.ts';
import { allowed, filterByAcl, filteredHeaders, requireKeyWritePrefix, requirePermission, requireSnapshot } from './enforce.ts';

/** Every question answered no, except keys under `app/`. */
function denyAllBut(accessorId: string): Authorizer {
  const no = () => false;
  return {
    ...Object.fromEntries(Object.keys(ALLOW_ALL_AUTHORIZER).map((k) => [k, no])),
    accessorId,
    keyRead: (k: string) => k.startsWith('app/'),
    keyWrite: (k: string) => k.startsWith('app/'),
  } as unknown as Authorizer;
}

test('a denial is Consul\'s 403 naming the token, the permission and the resource', () => {
  const authz = denyAllBut('acc-1');
  assert.throws(() => requirePermission(authz, 'key', 'write', 'other/x'), (err: unknown) => {
    assert.ok(err instanceof PermissionDeniedError);
    assert.equal(err.statusCode, 403);
    assert.equal(err.message, `Permission denied: token with AccessorID 'acc-1' lacks permission 'key:write' on "other/x"`);
    return true;
  });
  assert.doesNotThrow(() => requirePermission(authz, 'key', 'write', 'app/x'));
  assert.throws(() => requirePermission(authz, 'operator', 'read'), { message: `Permission denied: token with AccessorID 'acc-1' lacks permission 'operator:read'` });
  assert.throws(() => requireSnapshot(authz), { message: /lacks permission 'acl:write'$/ });
  assert.throws(() => requireKeyWritePrefix(authz, ''), { message: /lacks permission 'key:write'/ });
  const anonymous = denyAllBut(ANONYMOUS_TOKEN_ID);
  assert.throws(() => requirePermission(anonymous, 'service', 'read', 'web'), {
    message: /^Permission denied: anonymous token lacks permission 'service:read' on "web"\. The anonymous token is used implicitly/,
  });
});

test('allowed() asks the matching question for each resource and level', () => {
  const authz = denyAllBut('a');
  assert.equal(allowed(authz, 'key', 'read', 'app/1'), true);
  assert.equal(allowed(authz, 'key', 'list', 'app/'), false);
  assert.equal(allowed(authz, 'service', 'read', 'web'), false);
  assert.equal(allowed(ALLOW_ALL_AUTHORIZER, 'acl', 'write'), true);
});

test('filterByAcl keeps the readable items and reports whether it removed any; ACLs off never asks', () => {
  const authz = denyAllBut('a');
  assert.deepEqual(filterByAcl(authz, ['app/1', 'x/2', 'app/3'], (k) => authz.keyRead(k)), { items: ['app/1', 'app/3'], filtered: true });
  assert.deepEqual(filterByAcl(authz, ['app/1'], (k) => authz.keyRead(k)), { items: ['app/1'], filtered: false });
  const items = ['a', 'b'];
  const out = filterByAcl(ALLOW_ALL_AUTHORIZER, items, () => assert.fail('no predicate with ACLs off'));
  assert.equal(out.items, items);
  assert.equal(out.filtered, false);
});

test('the filtered header is sent to callers with a token, not to token-less anonymous ones', () => {
  const header = { 'X-Consul-Results-Filtered-By-ACLs': 'true' };
  assert.deepEqual(filteredHeaders(true, 'secret', denyAllBut('acc')), header);
  assert.equal(filteredHeaders(true, undefined, denyAllBut(ANONYMOUS_TOKEN_ID)), undefined);
  // No token sent but a configured default token answered: Consul's HTTP layer had put that token in the request.
  assert.deepEqual(filteredHeaders(true, undefined, denyAllBut('default-acc')), header);
  assert.equal(filteredHeaders(false, 'secret', denyAllBut('acc')), undefined);
});
