/**
 * The shape description a filter is checked against, standing in for the Go struct type that Consul hands to
 * go-bexpr (`bexpr.CreateFilter(expr, nil, reply.Nodes)`). go-bexpr derives from the type which selectors exist and
 * which operators each accepts; Meshgate's objects are plain JSON, so the endpoint states the type instead.
 *
 * - `'string' | 'int' | 'uint' | 'float' | 'bool'`: Go's primitive kinds; the value in the expression is coerced
 *   once, at compile time, the way go-bexpr does (strconv.ParseInt(v, 0, 64), ParseUint, ParseFloat, ParseBool).
 * - `{ list: T }`: a slice. Of primitives: `in`, `not in`, `is empty`, `is not empty`. Of structs: emptiness, and
 *   selectors continue into the element's fields, matching when ANY element matches.
 * - `{ map: T }`: `map[string]T`: `in`/`not in` test keys, emptiness; `Meta.key` selects a value of type T.
 * - `{ struct: {...} }`: named fields only; a field not listed is not selectable (go-bexpr's `bexpr:"-"`).
 * - `'any'`: a value of unknown shape, matched by its runtime JSON type (no validation below it).
 */
export type FilterType =
  | 'string'
  | 'int'
  | 'uint'
  | 'float'
  | 'bool'
  | 'any'
  | { readonly list: FilterType }
  | { readonly map: FilterType }
  | { readonly struct: FilterFields };

export type FilterFields = { readonly [field: string]: FilterType };

/**
 * What `compileFilter` may validate against: the element's fields (typed: every selector segment and operator is
 * checked, values coerced), or only the allowed top-level field names (the rest is matched dynamically).
 */
export type FilterSchema = FilterFields | readonly string[];
