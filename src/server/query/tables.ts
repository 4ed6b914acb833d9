/** The `prepared-queries` table and the integrity rules of Consul's preparedQuerySetTxn (see README.md). */
import { defineError } from '../../lib/errors.ts';
import type { StoreReader, StoredRow, WriteTxn } from '../store/types.ts';

export const QUERIES_TABLE = 'prepared-queries';
/** The sessions table (owned by src/server/session); a query bound to a session lives as long as it does. */
const SESSIONS_TABLE = 'sessions';

export interface QueryFailoverTarget {
  Peer: string;
  Datacenter: string;
  Partition?: string;
  Namespace?: string;
}

/** structs.ServiceQuery as stored and sent. */
export interface ServiceQuery {
  Service: string;
  Failover: { NearestN: number; Datacenters: string[] | null; Targets: QueryFailoverTarget[] | null };
  IgnoreCheckIDs: string[] | null;
  OnlyPassing: boolean;
  Near: string;
  Tags: string[] | null;
  NodeMeta: Record<string, string> | null;
  ServiceMeta: Record<string, string> | null;
  Peer: string;
  Connect: boolean;
}

/** structs.PreparedQuery without the Raft indexes (the row keeps them). */
export interface StoredQuery {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: { Type: string; Regexp: string; RemoveEmptyTags: boolean };
  Service: ServiceQuery;
  DNS: { TTL: string };
}

export type PreparedQuery = StoredQuery & { CreateIndex: number; ModifyIndex: number };

export const QueryErrors = {
  /** Consul answers these state-store refusals with a 500 (untyped RPC errors); they are client errors: 400. */
  invalid: defineError('MG_QUERY_INVALID', 400, (message: string) => message),
  notFound: defineError('MG_QUERY_NOT_FOUND', 404, () => 'Query not found'),
} as const;

export function toWire(row: StoredRow<StoredQuery>): PreparedQuery {
  return { ...row.value, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex };
}

/** Whether a stored query still exists: one bound to a session is gone with its session. */
export function isLive(reader: StoreReader, row: StoredRow<StoredQuery>): boolean {
  return row.value.Session === '' || reader.get(SESSIONS_TABLE, row.value.Session) !== undefined;
}

export function liveQueries(reader: StoreReader): StoredRow<StoredQuery>[] {
  return reader.list<StoredQuery>(QUERIES_TABLE).filter((r) => isLive(reader, r));
}

export function getQuery(reader: StoreReader, id: string): StoredRow<StoredQuery> | undefined {
  const row = reader.get<StoredQuery>(QUERIES_TABLE, id);
  return row && isLive(reader, row) ? row : undefined;
}

/** preparedQuerySetTxn's checks, then the write. `existing` is the query being updated (undefined on create). */
export function putQuery(tx: WriteTxn, query: StoredQuery, updating: boolean): void {
  // Queries whose session is gone are deleted here, so they neither hold a name nor linger.
  for (const row of tx.list<StoredQuery>(QUERIES_TABLE)) if (!isLive(tx, row)) tx.delete(QUERIES_TABLE, row.key);
  const existing = tx.get<StoredQuery>(QUERIES_TABLE, query.ID);
  if (updating && !existing) throw QueryErrors.invalid(`Cannot modify non-existent prepared query: '${query.ID}'`);
  if (query.Session !== '' && !tx.get(SESSIONS_TABLE, query.Session)) throw QueryErrors.invalid(`invalid session ${JSON.stringify(query.Session)}`);
  const others = tx.list<StoredQuery>(QUERIES_TABLE).filter((r) => r.key !== query.ID);
  if (query.Name !== '') {
    const lower = query.Name.toLowerCase();
    if (others.some((r) => r.value.Name.toLowerCase() === lower)) throw QueryErrors.invalid(`name '${query.Name}' aliases an existing query name`);
    if (others.some((r) => r.key === query.Name)) throw QueryErrors.invalid(`name '${query.Name}' aliases an existing query id`);
  } else if (query.Template.Type !== '' && others.some((r) => r.value.Name === '' && r.value.Template.Type !== '')) {
    throw QueryErrors.invalid('a query template with an empty name already exists');
  }
  tx.put(QUERIES_TABLE, query.ID, query);
}
