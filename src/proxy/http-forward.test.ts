/**
 * Header copying on both HTTP paths: hop-by-hop headers (RFC 9110 §7.6.1) and whatever `Connection` names are not
 * forwarded, in any letter case; the copy is prototype-free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPrototypeFree } from '../lib/http/headers.ts';
import { copyRequestHeaders } from './http-forward.ts';

test('hop-by-hop headers and the ones Connection names are dropped; the rest is copied into a prototype-free map', () => {
  const out = copyRequestHeaders({
    host: 'api', accept: '*/*', connection: 'Keep-Alive, X-Hop', 'x-hop': 'secret', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'set-cookie': ['a=1', 'b=2'],
  });
  assert.ok(isPrototypeFree(out));
  assert.deepEqual({ ...out }, { host: 'api', accept: '*/*', 'set-cookie': ['a=1', 'b=2'] });
  assert.deepEqual({ ...copyRequestHeaders({ connection: 'keep-alive', 'x-a': '1' }) }, { 'x-a': '1' });
  assert.deepEqual({ ...copyRequestHeaders({ connection: 'close', 'x-a': '1', te: 'trailers' }) }, { 'x-a': '1' });
});
