/**
 * Where a request's token comes from, in Consul's order (agent/http.go parseTokenInternal, parseTokenFromHeaders):
 * `?token=`, then `X-Consul-Token`, then `Authorization: Bearer`; empty values are skipped; the bearer value is its
 * first space-separated word.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerToken, requestToken } from './token.ts';

const q = (s = '') => new URLSearchParams(s);

test('?token= wins over X-Consul-Token, which wins over Authorization: Bearer', () => {
  assert.equal(requestToken({ 'x-consul-token': 'h', authorization: 'Bearer b' }, q('token=q')), 'q');
  assert.equal(requestToken({ 'x-consul-token': 'h', authorization: 'Bearer b' }, q()), 'h');
  assert.equal(requestToken({ authorization: 'Bearer b' }, q()), 'b');
  assert.equal(requestToken({}, q()), undefined);
});

test('empty values fall through to the next place', () => {
  assert.equal(requestToken({ 'x-consul-token': '', authorization: 'Bearer b' }, q('token=')), 'b');
  assert.equal(requestToken({ 'x-consul-token': 'h' }, q('token=')), 'h');
});

test('Authorization: only the Bearer scheme, any case, first word of the value', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bEaReR abc'), 'abc');
  assert.equal(bearerToken('Bearer   abc  def'), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearerabc'), undefined);
  assert.equal(bearerToken('Bearer '), undefined);
  assert.equal(bearerToken(undefined), undefined);
});
