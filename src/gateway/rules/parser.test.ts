import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule, RuleSyntaxError, RuleErrorCodes, type RuleNode } from './index.ts';

/** The tree as a compact string: and/or/not with matcher calls, to compare shapes. */
function show(n: RuleNode): string {
  switch (n.kind) {
    case 'and':
      return `(${show(n.left)} && ${show(n.right)})`;
    case 'or':
      return `(${show(n.left)} || ${show(n.right)})`;
    case 'not':
      return `!${show(n.operand)}`;
    case 'matcher':
      return `${n.name}(${n.args.join(',')})`;
  }
}

function syntaxError(rule: string): RuleSyntaxError {
  try {
    parseRule(rule);
  } catch (err) {
    assert.ok(err instanceof RuleSyntaxError, `expected RuleSyntaxError for ${rule}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${rule} to be rejected`);
}

test('&& binds tighter than ||, both left-associative', () => {
  assert.equal(show(parseRule('Host(`a`) || Host(`b`) && Path(`/c`)')), '(Host(a) || (Host(b) && Path(/c)))');
  assert.equal(show(parseRule('Host(`a`) && Host(`b`) || Path(`/c`)')), '((Host(a) && Host(b)) || Path(/c))');
  assert.equal(show(parseRule('Method(`GET`) && Host(`a`) && Path(`/c`)')), '((Method(GET) && Host(a)) && Path(/c))');
  assert.equal(show(parseRule('(Host(`a`) || Host(`b`)) && Path(`/c`)')), '((Host(a) || Host(b)) && Path(/c))');
});

test('! applies to the next operand; superfluous parentheses vanish', () => {
  assert.equal(show(parseRule('!Host(`a`) && Path(`/c`)')), '(!Host(a) && Path(/c))');
  assert.equal(show(parseRule('!(Host(`a`) && Path(`/c`))')), '!(Host(a) && Path(/c))');
  assert.equal(show(parseRule('!!Host(`a`)')), '!!Host(a)');
  assert.equal(show(parseRule('((Host(`a`)))')), 'Host(a)');
});

test('matcher names: exact, lower, UPPER and Title(lower) as Traefik registers them', () => {
  for (const name of ['PathPrefix', 'pathprefix', 'PATHPREFIX', 'Pathprefix']) {
    assert.equal(show(parseRule(`${name}(\`/x\`)`)), 'PathPrefix(/x)');
  }
  assert.equal(syntaxError('pathPrefix(`/x`)').code, RuleErrorCodes.unknownMatcher);
  const unknown = syntaxError('Host(`a`) && HostSNI(`b`)');
  assert.equal(unknown.code, RuleErrorCodes.unknownMatcher);
  assert.equal(unknown.position, 13);
  assert.match(unknown.message, /unsupported function: HostSNI/);
});

test('values are Go string literals: backquotes raw, double quotes with escapes, single quotes rejected', () => {
  const raw = parseRule('PathRegexp(`^/a\\.b$`)');
  assert.equal(raw.kind === 'matcher' && raw.args[0], '^/a\\.b$');
  const interpreted = parseRule('Header("X-A", "tab\\there \\"q\\" \\x41\\u00e9")');
  assert.deepEqual(interpreted.kind === 'matcher' && interpreted.args, ['X-A', 'tab\there "q" Aé']);
  const mixed = parseRule('Host("example.com") || Host(`example.org`)');
  assert.equal(show(mixed), '(Host(example.com) || Host(example.org))');
  const single = syntaxError("Host('example.com')");
  assert.equal(single.code, RuleErrorCodes.syntax);
  assert.equal(single.position, 5);
  assert.match(syntaxError('Host("a\\q")').reason, /unknown escape sequence/);
});

test('whitespace, newlines and a trailing comma in arguments are accepted as Go accepts them', () => {
  assert.equal(show(parseRule('  Host( `a` ,\n )')), 'Host(a)');
  assert.equal(show(parseRule('Host(`a`)\n\t&&\r\nPath(`/b`)')), '(Host(a) && Path(/b))');
});

test('syntax errors carry the position and say what is wrong', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 0, /empty rule/],
    ['Host', 4, /expected '\(' after Host/],
    ['Host(`a`) &&', 12, /expected a matcher.*found end of rule/],
    ['Host(`a`) ||', 12, /found end of rule/],
    ['Host(`a)', 5, /raw string literal not terminated/],
    ['Host(`a`))', 9, /unexpected '\)'/],
    ['(Host(`a`)', 10, /expected '\)' to close '\(' at 1/],
    ['Host(`a`) & Path(`/`)', 10, /expected '&&'/],
    ['Host(`a`) | Path(`/`)', 10, /expected '\|\|'/],
    ['Host(`a`) Path(`/`)', 10, /unexpected identifier Path/],
    ['Host(a)', 5, /expected a string literal.*identifier a/],
    ['Host(`a` `b`)', 9, /expected ',' or '\)'/],
    ['Host(`a`) && @', 13, /illegal character "@"/],
    ['Host(`a`) != Path(`/`)', 10, /unsupported operator '!='/],
  ];
  for (const [rule, position, reason] of cases) {
    const err = syntaxError(rule);
    assert.equal(err.code, RuleErrorCodes.syntax, rule);
    assert.equal(err.position, position, `position for ${JSON.stringify(rule)}: ${err.message}`);
    assert.match(err.reason, reason, rule);
    assert.equal(err.statusCode, 400);
  }
});

test('line and column are reported for multi-line rules', () => {
  const err = syntaxError('Host(`a`) &&\n  Nope(`b`)');
  assert.equal(err.line, 2);
  assert.equal(err.column, 3);
  assert.match(err.message, /\(at 2:3\)$/);
});

test('v3 arity: one value for Host, Path, PathPrefix, Method, ClientIP, regexps; two for Header; one or two for Query', () => {
  for (const rule of ['Host(`a`, `b`)', 'Path(`/a`, `/b`)', 'PathPrefix(`/a`, `/b`)', 'Method(`GET`, `POST`)', 'ClientIP(`127.0.0.1`, `192.168.1.0/24`)', 'HostRegexp(`a`, `b`)']) {
    const err = syntaxError(rule);
    assert.equal(err.code, RuleErrorCodes.arguments, rule);
    assert.match(err.reason, /unexpected number of parameters; got 2, expected one of \[1\]/);
    assert.match(err.reason, /takes exactly one value in Traefik v3.*\|\|/);
  }
  const header = syntaxError('Header(`X-Forwarded-Host`)');
  assert.match(header.reason, /got 1, expected one of \[2\]/);
  assert.match(syntaxError('Query(`q`, `traefik`, `proxy`)').reason, /got 3, expected one of \[1 2\]/);
  assert.match(syntaxError('Host()').reason, /no args for matcher Host/);
  const empty = syntaxError('Header(`X-Forwarded-Host`, ``)');
  assert.match(empty.reason, /empty args for matcher Header/);
  assert.equal(empty.position, 27);
});
