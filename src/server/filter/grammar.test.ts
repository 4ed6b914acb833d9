/**
 * The parser's guards against hostile input keep go-bexpr's trees (grammar.peg: OrExpression and AndExpression are
 * right-recursive, so `a or b or c` is `a or (b or c)`, and `and` binds tighter than `or`) while bounding its time
 * and stack: memoised expression rules, loops for `and`/`or` chains, and MAX_FILTER_NESTING.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterSyntaxError, MAX_FILTER_NESTING, parseFilter, type Expression } from './grammar.ts';

const m = (name: string): Expression => ({ kind: 'match', selector: [name], operator: 'Equal', value: '1' });

test('or/and chains build go-bexpr\'s right-nested trees, and binds tighter than or', () => {
  assert.deepEqual(parseFilter('a == 1 or b == 1 or c == 1'), { kind: 'or', left: m('a'), right: { kind: 'or', left: m('b'), right: m('c') } });
  assert.deepEqual(parseFilter('a == 1 and b == 1 and c == 1'), { kind: 'and', left: m('a'), right: { kind: 'and', left: m('b'), right: m('c') } });
  assert.deepEqual(parseFilter('a == 1 and b == 1 or c == 1'), { kind: 'or', left: { kind: 'and', left: m('a'), right: m('b') }, right: m('c') });
  assert.deepEqual(parseFilter('not (a == 1 or b == 1) and c == 1'), {
    kind: 'and',
    left: { kind: 'not', operand: { kind: 'or', left: m('a'), right: m('b') } },
    right: m('c'),
  });
});

test('nesting: MAX_FILTER_NESTING levels parse, one more is a syntax error at the position where it starts', () => {
  const at = (depth: number) => `${'('.repeat(depth)}a == 1${')'.repeat(depth)}`;
  assert.deepEqual(parseFilter(at(MAX_FILTER_NESTING - 1)), m('a'));
  assert.throws(
    () => parseFilter(at(MAX_FILTER_NESTING + 5)),
    (err: unknown) =>
      err instanceof FilterSyntaxError &&
      err.message === `1:${MAX_FILTER_NESTING + 2} (${MAX_FILTER_NESTING + 1}): expression nested too deeply: more than ${MAX_FILTER_NESTING} levels of parentheses or "not"`,
  );
});

test('time stays linear: deep groups, unclosed groups and long chains parse at once', () => {
  const started = performance.now();
  parseFilter(`${'('.repeat(40)}a == 1 and b == 1${')'.repeat(40)}`); // 4^40 steps without memoisation
  assert.throws(() => parseFilter(`${'('.repeat(40)}a == 1`), /Unmatched parentheses/);
  parseFilter(Array.from({ length: 2000 }, (_, i) => `x == v${i}`).join(' or '));
  assert.ok(performance.now() - started < 5000, `took ${performance.now() - started} ms`);
});
