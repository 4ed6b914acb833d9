import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp, GoRegexpError } from './regexp.ts';

function matches(pattern: string, cases: Record<string, boolean>): void {
  const re = compileGoRegexp(pattern);
  for (const [input, expected] of Object.entries(cases)) assert.equal(re.test(input), expected, `${pattern} on ${JSON.stringify(input)}`);
}

function rejects(pattern: string, message: RegExp): void {
  assert.throws(() => compileGoRegexp(pattern), (err: unknown) => err instanceof GoRegexpError && message.test(err.message), pattern);
}

test('unanchored search like Go MatchString; anchors only where written', () => {
  matches('css', { '/css': true, '/a/css/b': true, '/CSS': false });
  matches('^/css$', { '/css': true, '/css/': false });
  matches('\\Aab\\z', { ab: true, 'ab\n': false, xab: false });
});

test('dot excludes only \\n (JS also excludes \\r and U+2028); (?s) includes it', () => {
  matches('^a.b$', { 'a\rb': true, 'a\u2028b': true, 'a\nb': false, 'a😀b': true });
  matches('(?s)^a.b$', { 'a\nb': true });
});

test('Perl classes are ASCII as in Go; \\s has no \\v', () => {
  matches('^\\d+$', { '123': true, '١٢': false });
  matches('^\\w+$', { abc_1: true, 'é': false });
  matches('^\\s$', { ' ': true, '\t': true, '\v': false, '\u00a0': false });
  matches('^[^\\S]$', { ' ': true, x: false });
  matches('^[\\d\\-x]+$', { '1-x': true, y: false });
});

test('flags: (?i) for the rest of the group and its alternatives, (?i:…) scoped, (?-i) clears, (?U) swaps greediness', () => {
  matches('^(?i)abc$', { ABC: true, abc: true });
  matches('^a(?i)b|c$', { aB: true, C: true, Ab: false });
  matches('^(?i:a)b$', { Ab: true, AB: false });
  matches('^(?i)a(?-i)b$', { Ab: true, AB: false });
  matches('^(?i:x(?-i)y|z)$', { Xy: true, XY: false, z: true, Z: false });
  const lazy = compileGoRegexp('(?U)a+');
  assert.equal(lazy.exec('aaa')?.[0], 'a');
  const greedy = compileGoRegexp('(?U)a+?');
  assert.equal(greedy.exec('aaa')?.[0], 'aaa');
  matches('(?m)^b$', { 'a\nb\nc': true, 'a\rb': false });
});

test('Go-only syntax: POSIX and Unicode classes, named groups, \\x{…}, octal, \\Q…\\E, literal braces', () => {
  matches('^[[:alpha:]]+$', { abc: true, ab1: false });
  matches('^[[:^digit:]]+$', { abc: true, a1: false });
  matches('^\\pL+$', { 'héllo': true, h1: false });
  matches('^\\p{Greek}+$', { 'αβγ': true, abc: false });
  matches('^\\PL$', { '1': true, a: false });
  matches('^(?P<name>[a-z]+)-(?<id>\\d+)$', { 'abc-12': true, 'abc-x': false });
  matches('^\\x{1F600}\\x41$', { '😀A': true });
  matches('^\\101\\0$', { 'A\0': true });
  matches('^\\Qa.b*\\E$', { 'a.b*': true, axbb: false });
  matches('^/{path:(css|js)}$', { '/{path:css}': true, '/css': false });
  matches('^x{,3}$', { 'x{,3}': true, xxx: false });
  matches('^a{2,3}$', { aa: true, aaaa: false });
  matches('^\\-\\:\\#$', { '-:#': true });
  matches('^[]a]+$', { ']a': true });
});

test('RE2 rejects what Go rejects: backreferences, lookarounds, bad repeats, bad escapes', () => {
  rejects('(a)\\1', /invalid escape sequence: `\\1`/);
  rejects('a(?=b)', /invalid or unsupported Perl syntax/);
  rejects('a(?!b)', /invalid or unsupported Perl syntax/);
  rejects('(?<=a)b', /invalid or unsupported Perl syntax/);
  rejects('a**', /invalid nested repetition operator: `\*\*`/);
  rejects('*a', /missing argument to repetition operator/);
  rejects('a{1001}', /invalid repeat count/);
  rejects('(abc', /missing closing \)/);
  rejects('abc)', /unexpected \)/);
  rejects('[abc', /missing closing \]/);
  rejects('\\e', /invalid escape sequence/);
  rejects('a\\', /trailing backslash/);
  rejects('[z-a]', /invalid character class range/);
  rejects('\\p{Nope}', /invalid character class range/);
});
