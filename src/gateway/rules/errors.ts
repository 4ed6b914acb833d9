/**
 * Rule errors: one class so callers can `instanceof` it, with a stable code per kind of problem and the position
 * (0-based offset, 1-based line and column, as Go's parser reports them) of the token that is wrong.
 */
import { MeshgateError } from '../../lib/errors.ts';

export const RuleErrorCodes = {
  /** The rule is not a well-formed expression (tokens, parentheses, operators, string literals). */
  syntax: 'MG_RULE_SYNTAX',
  /** A function name that is not one of Traefik v3's HTTP matchers. */
  unknownMatcher: 'MG_RULE_UNKNOWN_MATCHER',
  /** Missing, empty or too many arguments for a matcher. */
  arguments: 'MG_RULE_ARGUMENTS',
  /** An argument that the matcher rejects: bad regexp, bad IP/CIDR, path without '/', non-ASCII host. */
  value: 'MG_RULE_VALUE',
} as const;

export type RuleErrorCode = (typeof RuleErrorCodes)[keyof typeof RuleErrorCodes];

export class RuleSyntaxError extends MeshgateError {
  /** 0-based offset into the rule string (UTF-16 code units). */
  readonly position: number;
  readonly line: number;
  readonly column: number;
  /** The problem without the position suffix. */
  readonly reason: string;
  readonly rule: string;

  constructor(code: RuleErrorCode, rule: string, position: number, reason: string) {
    const { line, column } = lineColumn(rule, position);
    super(code, 400, `error while parsing rule ${rule}: ${reason} (at ${line}:${column})`);
    this.name = 'RuleSyntaxError';
    this.position = position;
    this.line = line;
    this.column = column;
    this.reason = reason;
    this.rule = rule;
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
