/**
 * Turning a raw entry (a JSON body, or an HCL file through hcl2json) into typed fields the way Consul's
 * `DecodeConfigEntry` (agent/structs/config_entry.go) does with mapstructure:
 *
 * - field names match case-insensitively, and the snake_case spellings Consul's `alias` tags and
 *   `decode.HookTranslateKeys` accept (`connect_timeout`, `path_prefix`, `tls_min_version`) name the same field —
 *   every alias is the field's name in snake_case, so a key matches when it equals the field's name once case and
 *   underscores are dropped;
 * - `decode.HookWeakDecodeFromSlice`: a one-element list where a struct is expected is that struct (HCL blocks
 *   `Match { HTTP { … } }` come out of hcl2json as lists);
 * - a key that names no field is refused (`validateUnusedKeys`: `invalid config key "Routes[0].Foo"`);
 * - keys of free-form maps (Meta, Config, Subsets, Failover) are data and stay as written.
 */
import type { z } from 'zod';
import { defineError } from '../../lib/errors.ts';

export const ErrEntryDecode = defineError('MG_CONFIG_ENTRY_DECODE', 400, (detail: string) => `Request decoding failed: ${detail}`);

interface Def {
  readonly type: string;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly options?: readonly z.ZodType[];
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'readonly']);

function unwrap(schema: z.ZodType): Def {
  let def = defOf(schema);
  for (let i = 0; i < 16; i++) {
    if (WRAPPERS.has(def.type) && def.innerType) def = defOf(def.innerType);
    else if (def.type === 'pipe' && def.in) def = defOf(def.in);
    else break;
  }
  return def;
}

const fold = (key: string): string => key.replace(/_/g, '').toLowerCase();

/** Canonical keys, one-element lists unwrapped, unknown keys refused; then the schema's type checks. */
export function decodeEntryFields<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const canonical = walk(schema, raw, '');
  const result = schema.safeParse(canonical);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = formatPath(issue.path as (string | number)[]);
  throw ErrEntryDecode(`${where === '' ? '' : `${where}: `}${issue.message}`);
}

function walk(schema: z.ZodType, value: unknown, path: string): unknown {
  const def = unwrap(schema);
  if (value === null) return undefined; // encoding/json and mapstructure leave a null field at its zero value
  switch (def.type) {
    case 'object': {
      if (Array.isArray(value) && value.length === 1 && isRecord(value[0])) value = value[0];
      if (!isRecord(value)) return value;
      const shape = def.shape ?? {};
      const byFold = new Map<string, string>();
      for (const key of Object.keys(shape)) byFold.set(fold(key), key);
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const field = Object.hasOwn(shape, key) ? key : byFold.get(fold(key));
        if (field === undefined) throw ErrEntryDecode(`invalid config key ${JSON.stringify(join(path, key))}`);
        const decoded = walk(shape[field]!, v, join(path, field));
        if (decoded !== undefined) out[field] = decoded;
      }
      return out;
    }
    case 'array':
      return Array.isArray(value) && def.element ? value.map((v, i) => walk(def.element!, v, `${path}[${i}]`)) : value;
    case 'record': {
      if (Array.isArray(value) && value.length === 1 && isRecord(value[0])) value = value[0];
      if (!isRecord(value) || !def.valueType) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(def.valueType, v, `${path}[${JSON.stringify(k)}]`);
      return out;
    }
    default:
      return value;
  }
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
