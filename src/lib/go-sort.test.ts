import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareAsGo } from './go-sort.ts';

test('strings sort as Go sorts them: by UTF-8 bytes, so by code point', () => {
  const keys = ['a/2', 'a/10', 'a/1', 'a/1/x', '\u{1F600}', '\uFF21', 'b'];
  const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...keys].sort(compareAsGo), byBytes);
  // Where JavaScript's own order differs: U+FF21 is below the surrogate pair of U+1F600 in UTF-16, above it in UTF-8.
  assert.notDeepEqual([...keys].sort(), byBytes);
  assert.deepEqual(byBytes.slice(0, 4), ['a/1', 'a/1/x', 'a/10', 'a/2']);
});
