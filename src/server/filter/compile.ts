/**
 * Turns a parsed expression into a predicate, following go-bexpr v0.1.2 (the release Consul pins):
 *
 * - validation against the element type (validate.go): each selector segment must name a field, every operator
 *   must be one the field's kind supports, values are coerced once ("Selector %q is not valid",
 *   "Invalid match operator %q for selector %q", "Failed to coerce value %q for selector %q: ...");
 * - evaluation (evaluate.go, evaluateMatchExpressionRecurse): a slice met before the end of the selector is
 *   searched element by element and matches if ANY element matches (so `Checks.Status != passing` is true when
 *   some check is not passing, and `not Checks.Status != passing` means all pass); a map key that is absent makes
 *   `==`, `in`, `is not empty` false and `!=`, `not in`, `is empty` true;
 * - a struct field absent from the JSON object is its Go zero value ("" / 0 / false / empty), since Consul's
 *   structs always carry every field while Meshgate's objects may omit empty ones.
 *
 * Everything that can fail fails here, at compile time; the returned predicate never throws.
 */
import type { Expression, MatchExpression, MatchOperator } from './grammar.ts';
import type { FilterFields, FilterSchema, FilterType } from './types.ts';
import { coerceBool, coerceFloat, coerceInt, coerceUint, type Coerced } from './coerce.ts';
import { isMeshgateError, MeshgateError } from '../../lib/errors.ts';
import { compileGoRegexp, ErrRegexpSyntax, type GoRegexp } from '../../lib/go-regexp/index.ts';

export type Predicate = (item: unknown) => boolean;

/** A compile-time failure carrying go-bexpr's wording (without Consul's "Failed to create ..." prefix). */
export class FilterValidationError extends MeshgateError {
  constructor(message: string) {
    super('MG_FILTER_INVALID', 400, message);
    this.name = 'FilterValidationError';
  }
}

const EQUALITY: readonly MatchOperator[] = ['Equal', 'Not Equal'];
const STRING_OPS: readonly MatchOperator[] = ['Equal', 'Not Equal', 'In', 'Not In', 'Matches', 'Not Matches'];
const LIST_PRIMITIVE_OPS: readonly MatchOperator[] = ['In', 'Not In', 'Is Empty', 'Is Not Empty'];
const EMPTINESS: readonly MatchOperator[] = ['Is Empty', 'Is Not Empty'];
const MAP_OPS: readonly MatchOperator[] = ['Is Empty', 'Is Not Empty', 'In', 'Not In'];

type Primitive = 'string' | 'int' | 'uint' | 'float' | 'bool';

function isPrimitive(t: FilterType): t is Primitive {
  return t === 'string' || t === 'int' || t === 'uint' || t === 'float' || t === 'bool';
}

function coerce(kind: Primitive, raw: string): Coerced {
  switch (kind) {
    case 'int': return coerceInt(raw);
    case 'uint': return coerceUint(raw);
    case 'float': return coerceFloat(raw);
    case 'bool': return coerceBool(raw);
    case 'string': return { ok: true, value: raw };
  }
}

/** Operators go-bexpr's generated field configuration allows on a value of this type. */
function supportedOps(t: FilterType): readonly MatchOperator[] {
  if (t === 'any') return [...STRING_OPS, ...EMPTINESS];
  if (t === 'string') return STRING_OPS;
  if (isPrimitive(t)) return EQUALITY;
  if ('list' in t) return isPrimitive(t.list) ? LIST_PRIMITIVE_OPS : EMPTINESS;
  if ('map' in t) return MAP_OPS;
  return [];
}

/** The element type a list resolves to for selection: lists of lists flatten, as go-bexpr's recursion does. */
function listElement(t: FilterType): FilterType {
  let cur = t;
  while (typeof cur === 'object' && 'list' in cur) cur = cur.list;
  return cur;
}

function selectorText(path: readonly string[]): string {
  return JSON.stringify(path.join('.'));
}

export function compileExpression(ast: Expression, schema?: FilterSchema): Predicate {
  switch (ast.kind) {
    case 'not': {
      const inner = compileExpression(ast.operand, schema);
      return (item) => !inner(item);
    }
    case 'and': {
      const l = compileExpression(ast.left, schema);
      const r = compileExpression(ast.right, schema);
      return (item) => l(item) && r(item);
    }
    case 'or': {
      const l = compileExpression(ast.left, schema);
      const r = compileExpression(ast.right, schema);
      return (item) => l(item) || r(item);
    }
    case 'match':
      if (schema === undefined) return compileDynamic(ast, 0);
      if (isNameList(schema)) {
        if (!schema.includes(ast.selector[0]!)) {
          throw new FilterValidationError(`Selector ${selectorText(ast.selector.slice(0, 1))} is not valid`);
        }
        return compileDynamic(ast, 0);
      }
      return compileTyped(ast, schema);
  }
}

function isNameList(schema: FilterSchema): schema is readonly string[] {
  return Array.isArray(schema);
}

// -------------------------------------------------------------------------------------------------------------
// Typed: validated against the declared shape.

function compileTyped(m: MatchExpression, root: FilterFields): Predicate {
  // Resolve the selector to the type at its end, segment by segment (validate.go).
  let cur: FilterType = { struct: root };
  for (let i = 0; i < m.selector.length; i++) {
    const seg = m.selector[i]!;
    const t = listElement(cur);
    if (t === 'any') return typedWalk(m, root, i, compileDynamic(m, i));
    let next: FilterType | undefined;
    if (typeof t === 'object' && 'struct' in t) next = Object.hasOwn(t.struct, seg) ? t.struct[seg] : undefined;
    else if (typeof t === 'object' && 'map' in t) next = t.map;
    if (next === undefined) {
      throw new FilterValidationError(`Selector ${selectorText(m.selector.slice(0, i + 1))} is not valid`);
    }
    cur = next;
  }
  if (!supportedOps(cur).includes(m.operator)) {
    throw new FilterValidationError(`Invalid match operator ${JSON.stringify(m.operator)} for selector ${selectorText(m.selector)}`);
  }
  return typedWalk(m, root, m.selector.length, leafTest(m, cur));
}

/** The test applied to the value at the end of a fully typed selector. */
function leafTest(m: MatchExpression, leaf: FilterType): Predicate {
  const raw = m.value;
  const fail = (why: string): never => {
    throw new FilterValidationError(`Failed to coerce value ${JSON.stringify(raw)} for selector ${selectorText(m.selector)}: ${why}`);
  };
  const negate = m.operator === 'Not Equal' || m.operator === 'Not In' || m.operator === 'Is Not Empty' || m.operator === 'Not Matches';
  const positive = ((): Predicate => {
    switch (m.operator) {
      case 'Is Empty':
      case 'Is Not Empty':
        return (v) => sizeOf(v) === 0;
      case 'Matches':
      case 'Not Matches': {
        const re = compileRegex(raw!);
        return (v) => re.test(stringOf(v));
      }
      case 'Equal':
      case 'Not Equal': {
        const kind = leaf as Primitive;
        const c = coerce(kind, raw!);
        if (!c.ok) return fail(c.error);
        return equalTo(kind, c.value);
      }
      case 'In':
      case 'Not In': {
        if (leaf === 'string' || leaf === 'any') return (v) => stringOf(v).includes(raw!);
        if (typeof leaf === 'object' && 'map' in leaf) return (v) => isRecord(v) && Object.hasOwn(v, raw!) && v[raw!] !== undefined;
        const elem = listElement(leaf) as Primitive;
        const c = coerce(elem, raw!);
        if (!c.ok) return fail(c.error);
        const eq = equalTo(elem, c.value);
        return (v) => Array.isArray(v) && v.some((x) => eq(x));
      }
    }
  })();
  return negate ? (v) => !positive(v) : positive;
}

function equalTo(kind: Primitive, want: number | boolean | string): Predicate {
  switch (kind) {
    case 'string': return (v) => stringOf(v) === want;
    case 'bool': return (v) => (v === undefined || v === null ? false : v === true) === want;
    default: return (v) => (typeof v === 'number' ? v : v === undefined || v === null ? 0 : Number(v)) === want;
  }
}

/**
 * Walks the object along the selector using the declared types: lists before the end are searched for ANY element
 * that matches, map keys that are absent take go-bexpr's missing-key answer, struct fields that are absent are zero
 * values (undefined flows on to the leaf test, which reads it as "" / 0 / false / empty).
 */
function typedWalk(m: MatchExpression, root: FilterFields, depthEnd: number, leaf: Predicate): Predicate {
  const missing = missingKeyResult(m.operator);
  const step = (value: unknown, t: FilterType, depth: number): boolean => {
    if (depth >= depthEnd) return leaf(value);
    if (typeof t === 'object' && 'list' in t) {
      if (!Array.isArray(value)) return false;
      for (const item of value) if (step(item, t.list, depth)) return true;
      return false;
    }
    const seg = m.selector[depth]!;
    if (typeof t === 'object' && 'map' in t) {
      if (!isRecord(value) || !Object.hasOwn(value, seg) || value[seg] === undefined) return missing;
      return step(value[seg], t.map, depth + 1);
    }
    if (typeof t === 'object' && 'struct' in t) {
      const next = isRecord(value) && Object.hasOwn(value, seg) ? value[seg] : undefined;
      return step(next, t.struct[seg]!, depth + 1);
    }
    return false;
  };
  const top: FilterType = { struct: root };
  return (item) => step(item, top, 0);
}

function missingKeyResult(op: MatchOperator): boolean {
  // evaluate.go: "when the key doesn't exist in the map" — Equal, IsNotEmpty, In (and, by the same reasoning,
  // Matches) are false; NotEqual, IsEmpty, NotIn, NotMatches are true.
  return !(op === 'Equal' || op === 'Is Not Empty' || op === 'In' || op === 'Matches');
}

// -------------------------------------------------------------------------------------------------------------
// Dynamic: no declared type below this point; the JSON value's own type decides, as newer go-bexpr releases do.

function compileDynamic(m: MatchExpression, from: number): Predicate {
  const raw = m.value ?? '';
  const missing = missingKeyResult(m.operator);
  const re = m.operator === 'Matches' || m.operator === 'Not Matches' ? compileRegex(raw) : undefined;
  const num = coerceFloat(raw);
  const bool = coerceBool(raw);
  const leafPositive = (v: unknown): boolean => {
    switch (m.operator) {
      case 'Equal':
      case 'Not Equal':
        return dynamicEqual(v, raw, num, bool);
      case 'In':
      case 'Not In':
        if (typeof v === 'string') return v.includes(raw);
        if (Array.isArray(v)) return v.some((x) => dynamicEqual(x, raw, num, bool));
        if (isRecord(v)) return Object.hasOwn(v, raw) && v[raw] !== undefined;
        return false;
      case 'Is Empty':
      case 'Is Not Empty':
        return sizeOf(v) === 0;
      case 'Matches':
      case 'Not Matches':
        return typeof v === 'string' && re!.test(v);
    }
  };
  const negate = m.operator === 'Not Equal' || m.operator === 'Not In' || m.operator === 'Is Not Empty' || m.operator === 'Not Matches';
  const step = (value: unknown, depth: number): boolean => {
    if (depth >= m.selector.length) {
      if (value === undefined || value === null) return missing;
      return negate ? !leafPositive(value) : leafPositive(value);
    }
    if (Array.isArray(value)) {
      for (const item of value) if (step(item, depth)) return true;
      return false;
    }
    const seg = m.selector[depth]!;
    if (!isRecord(value) || !Object.hasOwn(value, seg) || value[seg] === undefined || value[seg] === null) return missing;
    return step(value[seg], depth + 1);
  };
  return (item) => step(item, from);
}

function dynamicEqual(v: unknown, raw: string, num: Coerced, bool: Coerced): boolean {
  if (typeof v === 'string') return v === raw;
  if (typeof v === 'number') return num.ok && v === num.value;
  if (typeof v === 'boolean') return bool.ok && v === bool.value;
  return false;
}

// -------------------------------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

function sizeOf(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (isRecord(v)) return Object.values(v).filter((x) => x !== undefined).length;
  return 1;
}

/**
 * go-bexpr's `matches` compiles the value with Go's `regexp.Compile` (validate.go: "Failed to compile regular
 * expression %q: %v") and tests with `MatchString`, an unanchored search in linear time. The one Go-regexp compiler
 * keeps both: a hostile `^(a+)+$` cannot stall the server, and RE2's syntax and refusals are Go's.
 */
function compileRegex(pattern: string): GoRegexp {
  try {
    return compileGoRegexp(pattern);
  } catch (err) {
    if (!isMeshgateError(err, ErrRegexpSyntax.code)) throw err;
    throw new FilterValidationError(`Failed to compile regular expression ${JSON.stringify(pattern)}: ${err.message}`);
  }
}
