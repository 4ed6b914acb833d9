/**
 * Which query an ID or name means (Consul's PreparedQueryResolve): a query with that ID; else the query with that
 * name (case-insensitively); else the template whose name is the longest prefix of it (the catch-all template,
 * with an empty name, matches everything). A template comes back rendered for the name.
 */
import type { StoreReader, StoredRow } from '../store/types.ts';
import { getQuery, liveQueries, type StoredQuery } from './tables.ts';
import { isTemplate, renderTemplate } from './template.ts';

export interface Resolved {
  row: StoredRow<StoredQuery>;
  /** The query to run: the stored one, or the template rendered for the name. */
  query: StoredQuery;
}

export function resolveQuery(reader: StoreReader, idOrName: string): Resolved | undefined {
  const prepare = (row: StoredRow<StoredQuery>): Resolved => ({ row, query: isTemplate(row.value) ? renderTemplate(row.value, idOrName) : row.value });
  const byId = getQuery(reader, idOrName);
  if (byId) return prepare(byId);
  const all = liveQueries(reader);
  const lower = idOrName.toLowerCase();
  const byName = all.find((r) => r.value.Name !== '' && r.value.Name.toLowerCase() === lower);
  if (byName) return prepare(byName);
  let best: StoredRow<StoredQuery> | undefined;
  for (const r of all) {
    if (!isTemplate(r.value) || !lower.startsWith(r.value.Name.toLowerCase())) continue;
    if (!best || r.value.Name.length > best.value.Name.length) best = r;
  }
  return best ? prepare(best) : undefined;
}
