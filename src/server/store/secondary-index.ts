/**
 * Secondary indexes, declared by the owner of a table (go-memdb's named indexes, as Consul's state store uses
 * them): an index maps a row's value to one string, and `listBy(table, index, value)` returns the rows with that
 * value in key order, in time proportional to their number rather than to the table's size. Declarations are a
 * registry by table name (the catalog declares `services` by service name when its module loads); a table builds an
 * index on its first lookup, so the order in which a store is opened and the declaring module is loaded does not
 * matter.
 */
import { defineError } from '../../lib/errors.ts';

export type IndexFunction = (value: unknown) => string | undefined;

export const ErrUnknownIndex = defineError(
  'MG_STORE_UNKNOWN_INDEX',
  500,
  (table: string, index: string) => `state store: table "${table}" has no index "${index}"`,
);

const definitions = new Map<string, Map<string, IndexFunction>>();

/**
 * Declares index `name` on `table`: `of` gives a row value's index value (undefined leaves the row out). Rows are
 * immutable, so `of` must be a pure function of the value. Declaring the same name again replaces the function.
 */
export function defineIndex<V>(table: string, name: string, of: (value: V) => string | undefined): void {
  let byName = definitions.get(table);
  if (!byName) definitions.set(table, (byName = new Map()));
  byName.set(name, of as IndexFunction);
}

/** The index function of `table`'s index `name`; throws MG_STORE_UNKNOWN_INDEX when none was declared. */
export function indexFunction(table: string, name: string): IndexFunction {
  const of = definitions.get(table)?.get(name);
  if (!of) throw ErrUnknownIndex(table, name);
  return of;
}
