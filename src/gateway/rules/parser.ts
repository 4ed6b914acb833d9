/**
 * The rule grammar Traefik v3 accepts (it hands the rule to Go's expression parser through vulcand/predicate):
 *
 *   rule    := or
 *   or      := and { '||' and }
 *   and     := unary { '&&' unary }          — so `&&` binds tighter than `||`, as in Go
 *   unary   := '!' unary | primary
 *   primary := '(' or ')' | Matcher '(' [ string { ',' string } [ ',' ] ] ')'
 *   string  := `raw` | "interpreted, with Go escapes"
 *
 * Matcher names are accepted as Traefik registers them: exact (`PathPrefix`), lower (`pathprefix`), upper
 * (`PATHPREFIX`) and title of lower (`Pathprefix`). The tree keeps `!` as a node (Traefik pushes it down to the
 * leaves with De Morgan's laws, which decides the same requests).
 */
import { RuleErrorCodes, RuleSyntaxError } from './errors.ts';

export const MATCHER_NAMES = [
  'ClientIP',
  'Method',
  'Host',
  'HostRegexp',
  'Path',
  'PathRegexp',
  'PathPrefix',
  'Header',
  'HeaderRegexp',
  'Query',
  'QueryRegexp',
] as const;

export type MatcherName = (typeof MATCHER_NAMES)[number];

export type RuleNode =
  | { readonly kind: 'and'; readonly left: RuleNode; readonly right: RuleNode; readonly position: number }
  | { readonly kind: 'or'; readonly left: RuleNode; readonly right: RuleNode; readonly position: number }
  | { readonly kind: 'not'; readonly operand: RuleNode; readonly position: number }
  | {
      readonly kind: 'matcher';
      readonly name: MatcherName;
      readonly args: readonly string[];
      /** Offset of the matcher name. */
      readonly position: number;
      /** Offset of each argument's opening quote. */
      readonly argPositions: readonly number[];
    };

export type MatcherNode = Extract<RuleNode, { kind: 'matcher' }>;

/** The matcher names a rule language accepts (HTTP's here; TCP's in gateway/tcp) and how errors list them. */
export interface MatcherVocabulary {
  readonly lookup: ReadonlyMap<string, string>;
  readonly label: string;
  readonly names: readonly string[];
}

/** How Traefik's rules.NewParser registers each name: as is, lower, upper and Title(lower). */
export function matcherVocabulary(names: readonly string[], label: string): MatcherVocabulary {
  const m = new Map<string, string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    m.set(name, name);
    m.set(lower, name);
    m.set(name.toUpperCase(), name);
    m.set(lower.charAt(0).toUpperCase() + lower.slice(1), name);
  }
  return { lookup: m, label, names };
}

const HTTP_VOCABULARY = matcherVocabulary(MATCHER_NAMES, 'Traefik v3 HTTP matchers');

const TokenKind = {
  ident: 'identifier',
  string: 'string',
  lparen: "'('",
  rparen: "')'",
  comma: "','",
  and: "'&&'",
  or: "'||'",
  not: "'!'",
  eof: 'EOF',
} as const;
type TokenKind = (typeof TokenKind)[keyof typeof TokenKind];

interface Token {
  kind: TokenKind;
  /** Identifier name or decoded string value. */
  value: string;
  start: number;
}

class Lexer {
  private pos = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  error(position: number, reason: string): RuleSyntaxError {
    return new RuleSyntaxError(RuleErrorCodes.syntax, this.src, position, reason);
  }

  next(): Token {
    const s = this.src;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
    const start = this.pos;
    if (start >= s.length) return { kind: TokenKind.eof, value: '', start };
    const ch = s[start]!;
    switch (ch) {
      case '(':
        this.pos++;
        return { kind: TokenKind.lparen, value: ch, start };
      case ')':
        this.pos++;
        return { kind: TokenKind.rparen, value: ch, start };
      case ',':
        this.pos++;
        return { kind: TokenKind.comma, value: ch, start };
      case '!':
        if (s[start + 1] === '=') throw this.error(start, "unsupported operator '!='");
        this.pos++;
        return { kind: TokenKind.not, value: ch, start };
      case '&':
        if (s[start + 1] !== '&') throw this.error(start, "unexpected '&', expected '&&'");
        this.pos += 2;
        return { kind: TokenKind.and, value: '&&', start };
      case '|':
        if (s[start + 1] !== '|') throw this.error(start, "unexpected '|', expected '||'");
        this.pos += 2;
        return { kind: TokenKind.or, value: '||', start };
      case '`':
        return this.rawString(start);
      case '"':
        return this.interpretedString(start);
      case "'":
        throw this.error(start, "single quotes are not accepted: values are Go string literals, use backquotes or double quotes");
      default:
        if (isIdentStart(ch)) {
          let end = start + 1;
          while (end < s.length && isIdentPart(s[end]!)) end++;
          this.pos = end;
          return { kind: TokenKind.ident, value: s.slice(start, end), start };
        }
        throw this.error(start, `illegal character ${JSON.stringify(ch)}`);
    }
  }

  private rawString(start: number): Token {
    const end = this.src.indexOf('`', start + 1);
    if (end < 0) throw this.error(start, 'raw string literal not terminated');
    this.pos = end + 1;
    // Go drops carriage returns from raw string literals.
    const value = this.src.slice(start + 1, end);
    return { kind: TokenKind.string, value: value.includes('\r') ? value.replaceAll('\r', '') : value, start };
  }

  private interpretedString(start: number): Token {
    const s = this.src;
    let out = '';
    let i = start + 1;
    for (;;) {
      if (i >= s.length || s[i] === '\n') throw this.error(start, 'string literal not terminated');
      const ch = s[i]!;
      if (ch === '"') break;
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      const esc = s[i + 1];
      const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
      if (esc !== undefined && simple[esc] !== undefined) {
        out += simple[esc];
        i += 2;
        continue;
      }
      const hexLen = esc === 'x' ? 2 : esc === 'u' ? 4 : esc === 'U' ? 8 : 0;
      if (hexLen > 0) {
        const digits = s.slice(i + 2, i + 2 + hexLen);
        if (digits.length !== hexLen || !/^[0-9A-Fa-f]+$/.test(digits)) throw this.error(i, 'illegal character in escape sequence');
        const code = parseInt(digits, 16);
        if (esc === 'x') out += String.fromCharCode(code); // a byte; only ASCII is meaningful in a JS string
        else {
          if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) throw this.error(i, 'escape sequence is invalid Unicode code point');
          out += String.fromCodePoint(code);
        }
        i += 2 + hexLen;
        continue;
      }
      if (esc !== undefined && esc >= '0' && esc <= '7') {
        const digits = s.slice(i + 1, i + 4);
        if (!/^[0-7]{3}$/.test(digits)) throw this.error(i, 'illegal character in escape sequence');
        const code = parseInt(digits, 8);
        if (code > 255) throw this.error(i, 'octal escape value > 255');
        out += String.fromCharCode(code);
        i += 4;
        continue;
      }
      throw this.error(i, 'unknown escape sequence');
    }
    this.pos = i + 1;
    return { kind: TokenKind.string, value: out, start };
  }
}

function isIdentStart(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_';
}
function isIdentPart(ch: string): boolean {
  return isIdentStart(ch) || (ch >= '0' && ch <= '9');
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;
  private readonly rule: string;
  private readonly vocabulary: MatcherVocabulary;

  constructor(rule: string, vocabulary: MatcherVocabulary) {
    this.rule = rule;
    this.vocabulary = vocabulary;
    this.lexer = new Lexer(rule);
    this.tok = this.lexer.next();
  }

  parse(): RuleNode {
    if (this.tok.kind === TokenKind.eof) throw this.lexer.error(0, 'empty rule');
    const node = this.or();
    if (this.cur().kind !== TokenKind.eof) {
      throw this.lexer.error(this.cur().start, `unexpected ${describe(this.cur())}, expected '&&', '||' or end of rule`);
    }
    return node;
  }

  /** The current token (a method, so TypeScript does not narrow it across advance()). */
  private cur(): Token {
    return this.tok;
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private or(): RuleNode {
    let left = this.and();
    while (this.cur().kind === TokenKind.or) {
      const op = this.advance();
      const right = this.and();
      left = { kind: 'or', left, right, position: op.start };
    }
    return left;
  }

  private and(): RuleNode {
    let left = this.unary();
    while (this.cur().kind === TokenKind.and) {
      const op = this.advance();
      const right = this.unary();
      left = { kind: 'and', left, right, position: op.start };
    }
    return left;
  }

  private unary(): RuleNode {
    if (this.cur().kind === TokenKind.not) {
      const op = this.advance();
      return { kind: 'not', operand: this.unary(), position: op.start };
    }
    return this.primary();
  }

  private primary(): RuleNode {
    const t = this.tok;
    if (t.kind === TokenKind.lparen) {
      this.advance();
      const inner = this.or();
      if (this.cur().kind !== TokenKind.rparen) {
        throw this.lexer.error(this.cur().start, `expected ')' to close '(' at ${t.start + 1}, found ${describe(this.cur())}`);
      }
      this.advance();
      return inner;
    }
    if (t.kind === TokenKind.ident) return this.call();
    throw this.lexer.error(t.start, `expected a matcher, '!' or '(', found ${describe(t)}`);
  }

  private call(): MatcherNode {
    const ident = this.advance();
    const name = this.vocabulary.lookup.get(ident.value) as MatcherName | undefined;
    if (name === undefined) {
      throw new RuleSyntaxError(
        RuleErrorCodes.unknownMatcher,
        this.rule,
        ident.start,
        `unsupported function: ${ident.value} (${this.vocabulary.label}: ${this.vocabulary.names.join(', ')})`,
      );
    }
    if (this.cur().kind !== TokenKind.lparen) {
      throw this.lexer.error(this.cur().start, `expected '(' after ${ident.value}, found ${describe(this.cur())}`);
    }
    this.advance();
    // Made with their first value (most matchers take one): an empty array's first push reserves 17 slots, twice per
    // matcher of every rule of a 50,000-router table.
    let args: string[] | undefined;
    let argPositions: number[] | undefined;
    while (this.cur().kind !== TokenKind.rparen) {
      if (this.cur().kind !== TokenKind.string) {
        throw this.lexer.error(
          this.cur().start,
          this.cur().kind === TokenKind.ident
            ? `expected a string literal in backquotes or double quotes, found identifier ${this.cur().value}`
            : `expected a string literal or ')', found ${describe(this.cur())}`,
        );
      }
      const arg = this.advance();
      if (args === undefined || argPositions === undefined) {
        args = [arg.value];
        argPositions = [arg.start];
      } else {
        args.push(arg.value);
        argPositions.push(arg.start);
      }
      if (this.cur().kind === TokenKind.comma) this.advance();
      else if (this.cur().kind !== TokenKind.rparen) {
        throw this.lexer.error(this.cur().start, `expected ',' or ')' in arguments of ${ident.value}, found ${describe(this.cur())}`);
      }
    }
    this.advance();
    return { kind: 'matcher', name, args: args ?? [], position: ident.start, argPositions: argPositions ?? [] };
  }
}

function describe(t: Token): string {
  if (t.kind === TokenKind.eof) return 'end of rule';
  if (t.kind === TokenKind.ident) return `identifier ${t.value}`;
  if (t.kind === TokenKind.string) return 'string literal';
  return t.kind;
}

/** Grammar only: returns the tree or throws a positioned RuleSyntaxError. Matcher values are checked by matchers.ts. */
export function parseRuleSyntax(rule: string): RuleNode {
  return new Parser(rule, HTTP_VOCABULARY).parse();
}

/**
 * The same grammar over another matcher vocabulary (Traefik's TCP rules: HostSNI, HostSNIRegexp, ClientIP, ALPN).
 * The tree's matcher names are then that vocabulary's; the caller compiles them.
 */
export function parseRuleSyntaxWith(rule: string, vocabulary: MatcherVocabulary): RuleNode {
  return new Parser(rule, vocabulary).parse();
}
