/**
 * Traefik's tag constraints (pkg/provider/constraints, MatchTags): a boolean expression over a service's tags with
 * `Tag("a")`, `TagRegex("a.*")` (Go regexp, unanchored: any tag containing a match), `!`, `&&`, `||` and parentheses,
 * Go's operator precedence (! over && over ||) and Go string literals ("…" with escapes, or `…` raw). Parsed once per
 * configuration; an empty expression matches everything.
 */
import { defineError, isMeshgateError } from '../../lib/errors.ts';
import { compileGoRegexp, ErrRegexpSyntax, type GoRegexp } from '../../lib/go-regexp/index.ts';

export const ConstraintError = defineError('MG_GATEWAY_CONSTRAINT', 400, (expr: string, message: string) => `constraints "${expr}": ${message}`);

export type TagMatcher = (tags: readonly string[]) => boolean;

type Token = { kind: 'ident' | 'string' | 'op' | 'lparen' | 'rparen' | 'comma'; text: string; at: number };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c === '(' ? 'lparen' : c === ')' ? 'rparen' : 'comma', text: c, at: i });
      i++;
    } else if (expr.startsWith('&&', i) || expr.startsWith('||', i)) {
      tokens.push({ kind: 'op', text: expr.slice(i, i + 2), at: i });
      i += 2;
    } else if (c === '!') {
      tokens.push({ kind: 'op', text: '!', at: i });
      i++;
    } else if (c === '`') {
      const end = expr.indexOf('`', i + 1);
      if (end === -1) throw ConstraintError(expr, `unterminated raw string at ${i}`);
      tokens.push({ kind: 'string', text: expr.slice(i + 1, end), at: i });
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= expr.length) throw ConstraintError(expr, `unterminated string at ${i}`);
        const d = expr[j]!;
        if (d === '"') break;
        if (d === '\\') {
          const e = expr[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
          if (e === undefined || map[e] === undefined) throw ConstraintError(expr, `unknown escape sequence at ${j}`);
          text += map[e];
          j += 2;
        } else {
          text += d;
          j++;
        }
      }
      tokens.push({ kind: 'string', text, at: i });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < expr.length && /[A-Za-z0-9_]/.test(expr[j]!)) j++;
      tokens.push({ kind: 'ident', text: expr.slice(i, j), at: i });
      i = j;
    } else {
      throw ConstraintError(expr, `unexpected "${c}" at ${i}`);
    }
  }
  return tokens;
}

/** Parses a constraints expression; throws MG_GATEWAY_CONSTRAINT naming the problem. */
export function parseTagConstraints(expr: string): TagMatcher {
  if (expr.trim() === '') return () => true;
  const tokens = tokenize(expr);
  let pos = 0;
  const peek = () => tokens[pos];
  const fail = (message: string): never => {
    throw ConstraintError(expr, message);
  };

  const parseOr = (): TagMatcher => {
    let left = parseAnd();
    while (peek()?.kind === 'op' && peek()!.text === '||') {
      pos++;
      const a = left;
      const b = parseAnd();
      left = (tags) => a(tags) || b(tags);
    }
    return left;
  };
  const parseAnd = (): TagMatcher => {
    let left = parseUnary();
    while (peek()?.kind === 'op' && peek()!.text === '&&') {
      pos++;
      const a = left;
      const b = parseUnary();
      left = (tags) => a(tags) && b(tags);
    }
    return left;
  };
  const parseUnary = (): TagMatcher => {
    const t = peek();
    if (!t) return fail('unexpected end of expression');
    if (t.kind === 'op' && t.text === '!') {
      pos++;
      const inner = parseUnary();
      return (tags) => !inner(tags);
    }
    if (t.kind === 'lparen') {
      pos++;
      const inner = parseOr();
      if (peek()?.kind !== 'rparen') fail(`expected ")" at ${peek()?.at ?? expr.length}`);
      pos++;
      return inner;
    }
    if (t.kind === 'ident') return parseCall();
    return fail(`unexpected "${t.text}" at ${t.at}`);
  };
  const parseCall = (): TagMatcher => {
    const name = tokens[pos++]!;
    if (peek()?.kind !== 'lparen') fail(`expected "(" after ${name.text}`);
    pos++;
    const args: string[] = [];
    while (peek() && peek()!.kind !== 'rparen') {
      const arg = tokens[pos++]!;
      if (arg.kind !== 'string') fail(`${name.text}: arguments must be strings (at ${arg.at})`);
      args.push(arg.text);
      if (peek()?.kind === 'comma') pos++;
    }
    if (peek()?.kind !== 'rparen') fail(`expected ")" after the arguments of ${name.text}`);
    pos++;
    if (name.text !== 'Tag' && name.text !== 'TagRegex') fail(`unsupported function "${name.text}" (Tag and TagRegex are)`);
    if (args.length !== 1) fail(`${name.text} takes exactly one argument, got ${args.length}`);
    const value = args[0]!;
    if (name.text === 'Tag') return (tags) => tags.includes(value);
    let re: GoRegexp | undefined;
    try {
      re = compileGoRegexp(value);
    } catch (err) {
      // Traefik: a regexp that does not compile matches nothing.
      if (!isMeshgateError(err, ErrRegexpSyntax.code)) throw err;
      re = undefined;
    }
    return (tags) => re !== undefined && tags.some((tag) => re!.test(tag));
  };

  const matcher = parseOr();
  if (pos !== tokens.length) fail(`unexpected "${tokens[pos]!.text}" at ${tokens[pos]!.at}`);
  return matcher;
}
