/**
 * The `config-entries` table of the state store: key `<kind>/<name>`, value the normalized entry (Consul's
 * PascalCase fields, without the Raft indexes, which the store keeps per row and the wire form adds back as
 * CreateIndex / ModifyIndex). Intentions live here too, as `service-intentions` entries, as Consul stores them
 * since 1.9. A secondary index by kind serves `GET /v1/config/:kind` without a scan of the other kinds.
 */
import { defineIndex } from '../store/secondary-index.ts';
import type { StoreReader, StoredRow } from '../store/types.ts';
import type { ConfigEntry } from './kinds.ts';

export const CONFIG_ENTRIES_TABLE = 'config-entries';
export const KIND_INDEX = 'kind';
defineIndex<ConfigEntry>(CONFIG_ENTRIES_TABLE, KIND_INDEX, (e) => e.Kind);

export const entryKey = (kind: string, name: string): string => `${kind}/${name}`;

export function getEntry<E extends ConfigEntry = ConfigEntry>(reader: StoreReader, kind: string, name: string): StoredRow<E> | undefined {
  return reader.get<E>(CONFIG_ENTRIES_TABLE, entryKey(kind, name));
}

export function listEntries<E extends ConfigEntry = ConfigEntry>(reader: StoreReader, kind: string): StoredRow<E>[] {
  return reader.listBy<E>(CONFIG_ENTRIES_TABLE, KIND_INDEX, kind);
}

/** The wire form: the entry with its Raft indexes, as Consul's GET /v1/config returns it. */
export function entryToWire(row: StoredRow<ConfigEntry>): ConfigEntry & { CreateIndex: number; ModifyIndex: number } {
  return { ...row.value, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex };
}
