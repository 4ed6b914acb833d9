/**
 * The one error a user-supplied Go regexp can raise. Its message is Go's `regexp/syntax` error text
 * ("error parsing regexp: <what>: `<where>`"), so operators see what Consul and Traefik would have said.
 */
import { defineError } from '../errors.ts';

export const ErrRegexpSyntax = defineError('MG_REGEXP_SYNTAX', 400, (message: string) => message);

/**
 * Where in `pattern` a Go syntax error points: Go quotes the offending fragment between backquotes and gives no
 * offset, so the first occurrence of that fragment is the best guess (0 when the fragment is the whole pattern or
 * missing). Callers that show positions (the rule parser) add it to the pattern's own position.
 */
export function syntaxErrorOffset(pattern: string, message: string): number {
  const fragment = /`([^]*)`$/.exec(message)?.[1];
  if (fragment === undefined || fragment === '') return 0;
  const at = pattern.indexOf(fragment);
  return at < 0 ? 0 : at;
}
