/**
 * Walking the zod schemas as shapes: what a key under a section is, whatever wrappers (optional, default,
 * preprocess, transform, lazy) surround it. Two readers need this: the catalog's label decoder
 * (providers/consulcatalog-labels.ts) and `canonicalKeys`, which gives configuration keys Traefik's spelling
 * before validation, because Traefik's loader (paerser: file and flags → node tree → struct) finds fields without
 * regard to case: `healthcheck`, `healthCheck` and `HealthCheck` are one key.
 */

export type SchemaDef = { type: string; [k: string]: unknown };

export const defOf = (schema: unknown): SchemaDef => (schema as { _zod: { def: SchemaDef } })._zod.def;

/** Strips wrappers (optional, default, preprocess/transform pipes, lazy) down to the shape a value must have. */
export function unwrap(schema: unknown): SchemaDef {
  let def = defOf(schema);
  for (let guard = 0; guard < 32; guard++) {
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
      case 'nonoptional':
        def = defOf(def.innerType);
        continue;
      case 'pipe': {
        // z.preprocess(fn, s) is pipe(transform, s): the input shape is `s`; x.transform(f) is pipe(x, transform).
        const input = defOf(def.in);
        def = input.type === 'transform' ? defOf(def.out) : input;
        continue;
      }
      case 'lazy':
        def = defOf((def.getter as () => unknown)());
        continue;
      default:
        return def;
    }
  }
  return def;
}

/** A section switched off (`--ping=false`): the key is left out. */
const OMIT: unique symbol = Symbol('omit');

export interface CanonicalOptions {
  /**
   * Values were read from text with paerser's default list separator (KV stores; label-style sources): a string
   * where the schema wants a list of scalars is split on commas and each item trimmed (paerser element_fill.go
   * `setSlice`); an empty string is no list at all (setSlice leaves the slice nil). A file's YAML/TOML uses another
   * separator in Traefik, which refuses a string there, so file documents do not set this.
   */
  textLists?: boolean;
}

/** Lower-cased field name → the field as the schema spells it, built once per object schema. */
const fieldIndex = new WeakMap<object, Map<string, string>>();

function fieldsOf(def: SchemaDef): Map<string, string> {
  const shape = def.shape as object;
  let index = fieldIndex.get(shape);
  if (index === undefined) {
    index = new Map(Object.keys(shape).map((k) => [k.toLowerCase(), k]));
    fieldIndex.set(shape, index);
  }
  return index;
}

/** The object members of a union (a service is one of loadBalancer, weighted, …; each its own object). */
function objectOptions(def: SchemaDef): SchemaDef[] {
  return (def.options as unknown[]).map(unwrap).filter((o) => o.type === 'object');
}

/**
 * Returns `value` with every object key that names a schema field case-insensitively rewritten to the schema's
 * spelling. Map keys (router, service and middleware names, header names) keep their case; unknown keys stay as
 * written so validation still names them. Objects are copied only where a key changes. A number or boolean field
 * written as text (`"404"`, `"true"`) becomes the number or boolean, as paerser reads every value from text.
 */
export function canonicalKeys(value: unknown, schema: unknown, options: CanonicalOptions = {}): unknown {
  if (typeof value === 'string' && options.textLists === true) {
    const list = textList(value, schema);
    if (list !== undefined) return list;
  }
  if (typeof value === 'string' || typeof value === 'boolean') {
    // A section given as a flag (`--ping`, `--api.insecure=true` beside `--ping=true`): true is the section with
    // its defaults, false leaves it out — paerser's rule for pointer-to-struct fields.
    if (unwrap(schema).type === 'object') {
      const on = typeof value === 'boolean' ? value : TRUE.has(value) ? true : FALSE.has(value) ? false : undefined;
      if (on !== undefined) return on ? {} : OMIT;
    }
    return typeof value === 'string' ? scalarFromText(value, schema) : value;
  }
  if (value === null || typeof value !== 'object') return value;
  const def = unwrap(schema);
  switch (def.type) {
    case 'object':
      return Array.isArray(value) ? value : canonicalObject(value as Record<string, unknown>, [def], options);
    case 'union': {
      if (Array.isArray(value)) {
        const list = (def.options as unknown[]).map(unwrap).find((o) => o.type === 'array');
        return list ? canonicalKeys(value, { _zod: { def: list } }, options) : value;
      }
      const members = objectOptions(def);
      return members.length > 0 ? canonicalObject(value as Record<string, unknown>, members, options) : value;
    }
    case 'record': {
      if (Array.isArray(value)) return value;
      let out: Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(value)) {
        const next = canonicalKeys(v, def.valueType, options);
        if (next === OMIT) delete (out ??= { ...(value as Record<string, unknown>) })[k];
        // Defined, not assigned: a map entry named `__proto__` (a router so named) stays an entry, never the prototype.
        else if (next !== v) Object.defineProperty((out ??= { ...(value as Record<string, unknown>) }), k, { value: next, enumerable: true, writable: true, configurable: true });
      }
      return out ?? value;
    }
    case 'array': {
      if (!Array.isArray(value)) return value;
      let out: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const next = canonicalKeys(value[i], def.element, options);
        if (next !== value[i]) (out ??= [...value])[i] = next;
      }
      return out ?? value;
    }
    default:
      return value;
  }
}

function canonicalObject(value: Record<string, unknown>, members: SchemaDef[], options: CanonicalOptions): Record<string, unknown> {
  let renamed = false;
  let changed = false;
  const entries: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(value)) {
    let key = k;
    let field: unknown;
    for (const def of members) {
      const shape = def.shape as Record<string, unknown>;
      const found = Object.hasOwn(shape, k) ? k : fieldsOf(def).get(k.toLowerCase());
      if (found !== undefined) {
        key = found;
        field = shape[found];
        break;
      }
    }
    // Two spellings of one key: the second keeps its own, so validation reports it rather than one silently winning.
    if (key !== k && (Object.hasOwn(value, key) || entries.some(([e]) => e === key))) key = k;
    const next = field === undefined ? v : canonicalKeys(v, field, options);
    if (key !== k) renamed = true;
    if (next !== v) changed = true;
    if (next !== OMIT) entries.push([key, next]);
  }
  if (!renamed && !changed) return value;
  return Object.fromEntries(entries);
}

/** Go's strconv.ParseBool spellings, which paerser accepts for a bool field. */
const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** A list of scalars written as one text (`web, websecure`), or undefined where the schema wants no such list. */
function textList(text: string, schema: unknown): unknown {
  const def = unwrap(schema);
  if (def.type !== 'array') return undefined;
  const element = unwrap(def.element).type;
  if (element === 'object' || element === 'record' || element === 'array' || element === 'union') return undefined;
  if (text === '') return OMIT;
  return text.split(',').map((item) => scalarFromText(item.trim(), def.element));
}

function scalarFromText(text: string, schema: unknown): unknown {
  const type = unwrap(schema).type;
  if (type === 'number' || type === 'int') {
    const n = Number(text.trim());
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  if (type === 'boolean') return TRUE.has(text) ? true : FALSE.has(text) ? false : text;
  return text;
}
