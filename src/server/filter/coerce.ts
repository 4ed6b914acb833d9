/**
 * The value coercions go-bexpr applies to the raw text of an expression value (hashicorp/go-bexpr coerce.go):
 * Go's strconv.ParseInt(v, 0, 64), ParseUint(v, 0, 64), ParseFloat(v, 64) and ParseBool. Failures carry strconv's
 * own wording because Consul passes it through ("strconv.ParseInt: parsing \"x\": invalid syntax").
 */

export type Coerced = { ok: true; value: number | boolean | string } | { ok: false; error: string };

const INT_SYNTAX = /^(0[xX](_?[0-9a-fA-F])+|0[bB](_?[01])+|0[oO](_?[0-7])+|0(_?[0-7])*|[1-9](_?[0-9])*)$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function syntax(fn: string, raw: string): Coerced {
  return { ok: false, error: `strconv.${fn}: parsing ${JSON.stringify(raw)}: invalid syntax` };
}
function range(fn: string, raw: string): Coerced {
  return { ok: false, error: `strconv.${fn}: parsing ${JSON.stringify(raw)}: value out of range` };
}

/** Go's base-0 integer literal (0x…, 0o…, 0b…, leading-0 octal, underscores between digits) as a BigInt. */
function parseGoInteger(digits: string): bigint | undefined {
  if (!INT_SYNTAX.test(digits)) return undefined;
  const clean = digits.replaceAll('_', '');
  if (/^0[0-7]+$/.test(clean)) return BigInt(`0o${clean.slice(1)}`);
  return BigInt(clean.toLowerCase().replace(/^0o/, '0o'));
}

export function coerceInt(raw: string): Coerced {
  const negative = raw.startsWith('-');
  const unsigned = raw.startsWith('-') || raw.startsWith('+') ? raw.slice(1) : raw;
  const n = parseGoInteger(unsigned);
  if (n === undefined) return syntax('ParseInt', raw);
  const v = negative ? -n : n;
  if (v < INT64_MIN || v > INT64_MAX) return range('ParseInt', raw);
  return { ok: true, value: Number(v) };
}

export function coerceUint(raw: string): Coerced {
  const n = parseGoInteger(raw);
  if (n === undefined) return syntax('ParseUint', raw);
  if (n > UINT64_MAX) return range('ParseUint', raw);
  return { ok: true, value: Number(n) };
}

const FLOAT_SYNTAX = /^[+-]?((\d(_?\d)*)?\.?(\d(_?\d)*)?([eE][+-]?\d+)?)$/;
const FLOAT_SPECIAL = /^[+-]?(inf|infinity|nan)$/i;

export function coerceFloat(raw: string): Coerced {
  if (FLOAT_SPECIAL.test(raw)) {
    const lower = raw.toLowerCase();
    if (lower.endsWith('nan')) return { ok: true, value: Number.NaN };
    return { ok: true, value: lower.startsWith('-') ? -Infinity : Infinity };
  }
  if (/^[+-]?0[xX]/.test(raw)) {
    // Hex floats ("0x1p-2") need a 'p' exponent in Go; Number() cannot read them, so do it by hand.
    const m = /^([+-]?)0[xX]([0-9a-fA-F_]*)(?:\.([0-9a-fA-F_]*))?[pP]([+-]?\d+)$/.exec(raw);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) return syntax('ParseFloat', raw);
    const mant = Number.parseInt(`${m[2]!}${m[3] ?? ''}`.replaceAll('_', '') || '0', 16);
    const value = mant * 2 ** (Number(m[4]) - 4 * (m[3] ?? '').replaceAll('_', '').length);
    return { ok: true, value: m[1] === '-' ? -value : value };
  }
  if (!FLOAT_SYNTAX.test(raw) || !/\d/.test(raw)) return syntax('ParseFloat', raw);
  const value = Number(raw.replaceAll('_', ''));
  if (Number.isNaN(value)) return syntax('ParseFloat', raw);
  if (!Number.isFinite(value)) return range('ParseFloat', raw);
  return { ok: true, value };
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

export function coerceBool(raw: string): Coerced {
  if (TRUE.has(raw)) return { ok: true, value: true };
  if (FALSE.has(raw)) return { ok: true, value: false };
  return syntax('ParseBool', raw);
}
