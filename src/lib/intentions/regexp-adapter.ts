/**
 * TEMPORARY ADAPTER — to be replaced by the one Go-regexp compiler in `src/lib/go-regexp/` (owned by helper
 * "regexp") once it lands on main. Until then intention `PathRegex` and header `Regex` matches compile here with
 * re2js, which has Go's RE2 syntax and linear-time matching; Envoy (whose RBAC filter enforces Consul's L7
 * intentions) matches these patterns against the whole value, so `fullMatch` is a full match, not a search.
 */
import { RE2JS } from 're2js';

export interface CompiledPattern {
  fullMatch(input: string): boolean;
}

/** Compiles a user-supplied RE2 pattern; throws re2js's syntax error for an invalid one. */
export function compilePattern(pattern: string): CompiledPattern {
  const re = RE2JS.compile(pattern);
  return { fullMatch: (input) => re.matches(input) };
}
