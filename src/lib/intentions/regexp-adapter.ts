/**
 * Intention `PathRegex` and header `Regex` patterns through the one Go-regexp compiler (`src/lib/go-regexp/`).
 * Envoy, whose RBAC filter enforces Consul's L7 intentions, matches these patterns against the whole value, so the
 * pattern is anchored at both ends: a full match, not Go's unanchored MatchString.
 */
import { compileGoRegexp } from '../go-regexp/index.ts';

export interface CompiledPattern {
  fullMatch(input: string): boolean;
}

/** Compiles a user-supplied RE2 pattern; throws MG_REGEXP_SYNTAX (Go's message) for an invalid one. */
export function compilePattern(pattern: string): CompiledPattern {
  compileGoRegexp(pattern); // the pattern alone must be valid: "(a))(" wrapped would hide its own error text
  const re = compileGoRegexp(`^(?:${pattern})$`);
  return { fullMatch: (input) => re.test(input) };
}
