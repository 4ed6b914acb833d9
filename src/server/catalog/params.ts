/** Query-string parameters shared by the catalog, health and agent reads, parsed as Consul parses them. */
import { Errors } from '../../lib/errors.ts';
import { compileFilter, type FilterSchema } from '../filter/index.ts';

/** `?node-meta=key:value` (repeatable; Consul's parseMetaFilter splits on the first colon). */
export function nodeMetaFilters(query: URLSearchParams): Array<[string, string]> {
  return query.getAll('node-meta').map((pair) => {
    const at = pair.indexOf(':');
    return at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
  });
}

/** structs.SatisfiesMetaFilters: every pair must be present with that value. */
export function satisfiesMeta(meta: Record<string, string>, filters: Array<[string, string]>): boolean {
  return filters.every(([k, v]) => Object.hasOwn(meta, k) && meta[k] === v);
}

/** Compiles `?filter` once per request (a bad expression is a 400 before any blocking); undefined when absent. */
export function filterOf(query: URLSearchParams, schema: FilterSchema): ((item: unknown) => boolean) | undefined {
  const expr = query.get('filter');
  if (expr === null || expr === '') return undefined;
  return compileFilter(expr, schema);
}

/** `?tag=` values (repeatable); an instance must carry every one, compared case-insensitively as Consul does. */
export function tagFilter(query: URLSearchParams): string[] | undefined {
  return query.has('tag') ? query.getAll('tag') : undefined;
}

export function hasTags(tags: readonly string[], wanted: readonly string[] | undefined): boolean {
  if (!wanted) return true;
  const have = new Set(tags.map((t) => t.toLowerCase()));
  return wanted.every((t) => have.has(t.toLowerCase()));
}

/** Consul's getBoolQueryParam: present without a value means true; otherwise strconv.ParseBool. */
export function boolParam(query: URLSearchParams, key: string, invalid: string): boolean {
  if (!query.has(key)) return false;
  const raw = query.get(key) ?? '';
  if (raw === '') return true;
  const parsed = parseGoBool(raw);
  if (parsed === undefined) throw Errors.badRequest(invalid);
  return parsed;
}

/** Go's strconv.ParseBool. */
export function parseGoBool(raw: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}
