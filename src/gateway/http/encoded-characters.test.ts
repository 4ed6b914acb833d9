/**
 * The encoded-characters check on its own: Traefik's pkg/middlewares/encodedcharacters reads the escaped path, which
 * Go's url.ParseRequestURI has already checked, so a `%` without two hex digits never reaches it there; here the check
 * counts such an escape as denied, so `%%2F` cannot hide the %2F after it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deniedEncodings, hasDeniedEncoding } from './encoded-characters.ts';

test('hasDeniedEncoding: denied escapes in either case, malformed escapes, and allowed ones', () => {
  const denied = deniedEncodings({ allowEncodedPercent: true }, false);
  assert.equal(hasDeniedEncoding('/a%2Fb', denied), true);
  assert.equal(hasDeniedEncoding('/a%2fb', denied), true);
  assert.equal(hasDeniedEncoding('/a%%2Fb', denied), true);
  assert.equal(hasDeniedEncoding('/a%zz', denied), true);
  assert.equal(hasDeniedEncoding('/a%2', denied), true);
  assert.equal(hasDeniedEncoding('/a%25b%7E', denied), false);
  assert.equal(hasDeniedEncoding('/plain/path', denied), false);
});
