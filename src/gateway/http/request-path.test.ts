/**
 * normalizeRequestTarget against the behaviour Traefik documents in docs/content/security/request-path.md (its
 * "Sanitization behavior" examples are the first table rows) and Go's url.JoinPath, which its sanitizePath handler
 * calls: path.Join of the escaped path, a trailing slash kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRequestTarget } from './request-path.ts';

test('sanitised: the page\'s examples, dot segments above the root, and the query left alone', () => {
  const cases: Array<[string, string]> = [
    ['/foo/../bar', '/bar'],
    ['/foo/bar//', '/foo/bar/'],
    ['/./foo/../bar//', '/bar/'],
    ['/a/./b/../../c', '/c'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a/..', '/'],
    ['/a/.', '/a'],
    ['//', '/'],
    ['/', '/'],
    ['/.well-known/acme-challenge/x', '/.well-known/acme-challenge/x'],
    ['/a/../b?x=/../y&z=%2e', '/b?x=/../y&z=%2e'],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeRequestTarget(input, true), expected, input);
});

test('normalised: unreserved escapes decoded (so %2e%2e is a dot segment), others upper-cased', () => {
  assert.equal(normalizeRequestTarget('/public/%2e%2e/admin', true), '/admin');
  assert.equal(normalizeRequestTarget('/public/%2E%2E/admin', true), '/admin');
  assert.equal(normalizeRequestTarget('/%61dmin/%7Euser', true), '/admin/~user');
  assert.equal(normalizeRequestTarget('/a%2fb%3b', true), '/a%2Fb%3B');
  assert.equal(normalizeRequestTarget('/a%2F..%2Fb', true), '/a%2F..%2Fb', 'an encoded slash is no segment boundary');
});

test('sanitizePath false: escapes still normalised, dot segments and double slashes kept', () => {
  assert.equal(normalizeRequestTarget('/public/../admin', false), '/public/../admin');
  assert.equal(normalizeRequestTarget('/public/%2e%2e//admin', false), '/public/..//admin');
});

test('unchanged targets come back as the same string; non-rooted targets are not cleaned', () => {
  const plain = '/api/v1.2/items?q=1';
  assert.equal(normalizeRequestTarget(plain, true), plain);
  assert.equal(normalizeRequestTarget('*', true), '*');
});
