/**
 * Consul's `?filter=` expressions (hashicorp/go-bexpr, developer.hashicorp.com/consul/api-docs/features/filtering):
 * compile once per request, then test every candidate object with the returned predicate.
 */
import { defineError } from '../../lib/errors.ts';
import { FilterSyntaxError, parseFilter } from './grammar.ts';
import { FilterValidationError, compileExpression } from './compile.ts';
import type { FilterSchema } from './types.ts';

export type { FilterFields, FilterSchema, FilterType } from './types.ts';
export type { Expression, MatchExpression, MatchOperator } from './grammar.ts';
export { parseFilter } from './grammar.ts';

/**
 * A filter that cannot be compiled. Consul's text is bexpr.CreateFilter's: "Failed to create boolean expression
 * evaluator: " followed by the parser's "line:col (offset): ..." or the validator's complaint.
 */
export const ErrInvalidFilter = defineError(
  'MG_FILTER_INVALID',
  400,
  (detail: string) => `Failed to create boolean expression evaluator: ${detail}`,
);

/**
 * Compiles a filter expression into a predicate over one element of the listing (a catalog service, a health
 * entry, ...). With `schema`, selectors and operators are checked the way Consul checks them against its struct
 * type (a `FilterFields` description), or only the first selector segment is checked (a list of field names).
 * Throws ErrInvalidFilter (400) for a syntax error or an invalid selector, operator or value; the predicate itself
 * never throws.
 */
export function compileFilter(expression: string, schema?: FilterSchema): (item: unknown) => boolean {
  try {
    return compileExpression(parseFilter(expression), schema);
  } catch (err) {
    if (err instanceof FilterSyntaxError || err instanceof FilterValidationError) throw ErrInvalidFilter(err.message);
    throw err;
  }
}
