/**
 * The one Go-regexp compiler against Go's own documented behaviour: the flag and assertion table of
 * golang/go src/regexp/syntax/doc.go, the `badRe` error table and the `replaceTests` table of
 * src/regexp/all_test.go (ReplaceAllString with Expand templates), and RE2's linear-time guarantee.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshgateError } from '../errors.ts';
import { compileGoRegexp, syntaxErrorOffset } from './index.ts';

function matches(pattern: string, cases: Record<string, boolean>): void {
  const re = compileGoRegexp(pattern);
  for (const [input, expected] of Object.entries(cases)) assert.equal(re.test(input), expected, `${pattern} on ${JSON.stringify(input)}`);
}

/** Go's regexp.Compile error text, exactly (syntax.Error: "error parsing regexp: <code>: `<expr>`"). */
function rejects(pattern: string, message: string): void {
  assert.throws(
    () => compileGoRegexp(pattern),
    (err: unknown) => isMeshgateError(err, 'MG_REGEXP_SYNTAX') && err.statusCode === 400 && err.message === message,
    pattern,
  );
}

test('\\A and \\z are the ends of the text, never of a line; $ without (?m) is \\z, not Perl\'s \\Z', () => {
  // doc.go: "\A at beginning of text", "\z at end of text", "$ at end of text (like \z not \Z) or line (flag m=true)".
  matches('^/api\\z', { '/api': true, '/apiz': false, '/api\n': false, '/api/x': false });
  matches('\\A/api', { '/api': true, 'x/api': false, 'x\n/api': false });
  matches('(?m)\\A/api\\z', { 'x\n/api': false, '/api\nx': false, '/api': true });
  matches('^a$', { 'a\n': false });
  matches('(?m)^a$', { 'b\na\nc': true, 'a\n': true });
});

test('flags (?i) (?s) (?m) (?U), set for the rest of the group or scoped with (?flags:re)', () => {
  matches('(?i)^abc$', { ABC: true, aBc: true, abd: false });
  matches('^a(?i:b)c$', { aBc: true, aBC: false });
  matches('^(?i)a(?-i)b$', { Ab: true, AB: false });
  matches('(?i)k', { '\u212a': true }); // Go folds the Kelvin sign to k (simple case folding)
  matches('^a.b$', { 'a\nb': false, 'a\rb': true, 'a\u2028b': true, 'a😀b': true });
  matches('(?s)^a.b$', { 'a\nb': true });
  const lazy = compileGoRegexp('(?U)a+');
  assert.deepEqual(lazy.findSubmatch('aaa'), ['a']);
  assert.deepEqual(compileGoRegexp('(?U)a+?').findSubmatch('aaa'), ['aaa']);
});

test('named groups (?P<name>re) and (?<name>re); SubexpNames as in Go', () => {
  const re = compileGoRegexp('(?P<first>[a-z]+) (?<last>[a-z]+)(x)?');
  assert.deepEqual(re.subexpNames, ['', 'first', 'last', '']);
  assert.equal(re.numSubexp, 3);
  assert.deepEqual(re.findSubmatch('ann lee'), ['ann lee', 'ann', 'lee', undefined]);
  assert.deepEqual(re.findSubmatchIndex('> ann lee'), [2, 9, 2, 5, 6, 9, -1, -1]);
  rejects('(?P<>a)', 'error parsing regexp: invalid named capture: `(?P<>`');
  rejects('(?P<a-b>x)', 'error parsing regexp: invalid named capture: `(?P<a-b>`');
});

test('classes: Perl classes are ASCII, POSIX [[:alpha:]], Unicode \\pL \\p{Greek}, \\Q…\\E, \\x{…}', () => {
  matches('^\\d+$', { '123': true, '١٢': false });
  matches('^\\s$', { ' ': true, '\v': false, '\u00a0': false });
  matches('^[[:alpha:]]+$', { abc: true, ab1: false, 'é': false });
  matches('^[[:^digit:]]+$', { abc: true, a1: false });
  matches('^\\pL+$', { 'héllo': true, h1: false });
  matches('^\\p{Greek}+$', { 'αβγ': true, abc: false });
  matches('^\\Qa.b*\\E$', { 'a.b*': true, axbb: false });
  matches('^\\x{1F600}\\x41$', { '😀A': true });
  matches('^x{,3}$', { 'x{,3}': true, xxx: false }); // `{` that is not a repeat is a literal in Go
});

test('what RE2 cannot do is refused with Go\'s error text: backreferences, lookarounds, \\Z, possessive', () => {
  rejects('(a)\\1', 'error parsing regexp: invalid escape sequence: `\\1`');
  rejects('(?P<n>a)\\k<n>', 'error parsing regexp: invalid escape sequence: `\\k`');
  rejects('a(?=b)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
  rejects('a(?!b)', 'error parsing regexp: invalid or unsupported Perl syntax: `(?!`');
  rejects('(?<=a)b', 'error parsing regexp: invalid named capture: `(?<=a)b`');
  rejects('a\\Z', 'error parsing regexp: invalid escape sequence: `\\Z`');
  rejects('a++', 'error parsing regexp: invalid nested repetition operator: `++`');
});

test('Go\'s badRe table (all_test.go), message for message', () => {
  const table: Array<[string, string]> = [
    ['*', 'missing argument to repetition operator: `*`'],
    ['+', 'missing argument to repetition operator: `+`'],
    ['?', 'missing argument to repetition operator: `?`'],
    ['(abc', 'missing closing ): `(abc`'],
    ['abc)', 'unexpected ): `abc)`'],
    ['x[a-z', 'missing closing ]: `[a-z`'],
    ['[z-a]', 'invalid character class range: `z-a`'],
    ['abc\\', 'trailing backslash at end of expression'],
    ['a**', 'invalid nested repetition operator: `**`'],
    ['a*+', 'invalid nested repetition operator: `*+`'],
    ['\\x', 'invalid escape sequence: `\\x`'],
  ];
  for (const [pattern, message] of table) rejects(pattern, `error parsing regexp: ${message}`);
  assert.equal(syntaxErrorOffset('x[a-z', 'error parsing regexp: missing closing ]: `[a-z`'), 1);
});

test('ReplaceAllString: Go\'s replaceTests (all_test.go), empty matches and Expand templates included', () => {
  const table: Array<[pattern: string, replacement: string, input: string, output: string]> = [
    ['', 'x', 'abc', 'xaxbxcx'],
    ['b', 'x', 'abc', 'axc'],
    ['[a-c]*', 'x', '\u65e5', 'x\u65e5x'],
    ['^[a-c]*', 'x', 'abcdabc', 'xdabc'],
    ['[a-c]*$', 'x', 'abcdabc', 'abcdx'],
    ['[a-c]*', 'x', 'abcbcdcdedef', 'xdxdxexdxexfx'],
    ['a+', '($0)', 'banana', 'b(a)n(a)n(a)'],
    ['a+', '(${0})$0', 'banana', 'b(a)an(a)an(a)a'],
    ['hello, (.+)', 'goodbye, ${1}', 'hello, world', 'goodbye, world'],
    ['hello, (.+)', 'goodbye, $1x', 'hello, world', 'goodbye, '], // longest name: $1x is ${1x}
    ['hello, (.+)', 'goodbye, ${1}x', 'hello, world', 'goodbye, worldx'],
    ['hello, (.+)', '<$0><$1><$2><$3>', 'hello, world', '<hello, world><world><><>'],
    ['hello, (?P<noun>.+)', 'goodbye, $noun!', 'hello, world', 'goodbye, world!'],
    ['hello, (?P<noun>.+)', 'goodbye, ${noun}', 'hello, world', 'goodbye, world'],
    ['a+', '${oops', 'aaa', '${oops'],
    ['a+', '$$', 'aaa', '$'],
    ['a+', '$', 'aaa', '$'],
    ['(x)?', '$1', '123', '123'],
    ['(a)(b){0}(c)', '.$1|$3.', 'xacxacx', 'x.a|c.x.a|c.x'],
    ['((a(b){0}){3}){5}(h)', 'y caramb$2', 'say aaaaaaaaaaaaaaaah', 'say ay caramba'],
  ];
  for (const [pattern, replacement, input, output] of table) {
    assert.equal(compileGoRegexp(pattern).replaceAllString(input, replacement), output, `${pattern} / ${replacement} on ${input}`);
  }
  // Not from Go's table: the search steps over a whole code point, never into a surrogate pair.
  assert.equal(compileGoRegexp('').replaceAllString('😀a', '-'), '-😀-a-');
});

test('matching is linear: (a+)+$ and friends on hostile input finish at once', () => {
  const hostile = `${'a'.repeat(30)}!`;
  const started = performance.now();
  for (const pattern of ['^(a+)+$', '(a+)+$', '(a|a)*b', '^(a*)*$', '^(a|aa)+$']) {
    assert.equal(compileGoRegexp(pattern).test(hostile), false, pattern);
    assert.equal(compileGoRegexp(pattern).replaceAllString(hostile, 'x'), hostile, pattern);
  }
  assert.equal(compileGoRegexp('(a+)+$').test('a'.repeat(100_000) + '!'), false);
  // A generous bound that only proves nothing backtracked (a JS RegExp needs minutes for the first pattern).
  assert.ok(performance.now() - started < 2000, `took ${performance.now() - started} ms`);
});

test('caseInsensitive option: (?i) for the whole pattern, as for lower-cased header names', () => {
  const re = compileGoRegexp('^X-Auth-', { caseInsensitive: true });
  assert.equal(re.test('x-auth-role'), true);
  assert.equal(re.test('x-other'), false);
});

test('cases carried over from the gateway\'s former RE2-to-RegExp translator still hold', () => {
  matches('css', { '/css': true, '/a/css/b': true, '/CSS': false });
  matches('^/css$', { '/css': true, '/css/': false });
  matches('\\Aab\\z', { ab: true, 'ab\n': false, xab: false });
  matches('^\\w+$', { abc_1: true, 'é': false });
  matches('^[^\\S]$', { ' ': true, x: false });
  matches('^[\\d\\-x]+$', { '1-x': true, y: false });
  matches('^a(?i)b|c$', { aB: true, C: true, Ab: false });
  matches('^(?i:x(?-i)y|z)$', { Xy: true, XY: false, z: true, Z: false });
  matches('(?m)^b$', { 'a\nb\nc': true, 'a\rb': false });
  matches('^\\PL$', { '1': true, a: false });
  matches('^\\101\\0$', { 'A\0': true });
  matches('^/{path:(css|js)}$', { '/{path:css}': true, '/css': false });
  matches('^a{2,3}$', { aa: true, aaaa: false });
  matches('^\\-\\:\\#$', { '-:#': true });
  matches('^[]a]+$', { ']a': true });
  rejects('a{1001}', 'error parsing regexp: invalid repeat count: `{1001}`');
  rejects('\\e', 'error parsing regexp: invalid escape sequence: `\\e`');
  rejects('\\p{Nope}', 'error parsing regexp: invalid character class range: `\\p{Nope}`');
});

test('the documented differences from Go (README) are what they say, so an upgrade that closes one shows up', () => {
  // Go accepts duplicate group names (all_test.go replaceTests: `(?P<x>hi)|(?P<x>bye)`); RE2/J's parser does not.
  rejects('(?P<x>hi)|(?P<x>bye)', 'error parsing regexp: duplicate capture group name: `x`');
  // Recent Go resolves Unicode class aliases and any letter case (parse.go canonicalName); re2js knows exact names.
  rejects('\\p{Letter}', 'error parsing regexp: invalid character class range: `\\p{Letter}`');
  matches('^\\p{Greek}$', { 'α': true });
  // Positions are UTF-16 code units, not UTF-8 bytes: Go would say [2, 3] for "é" before "x".
  assert.deepEqual(compileGoRegexp('x').findSubmatchIndex('éx'), [1, 2]);
});
