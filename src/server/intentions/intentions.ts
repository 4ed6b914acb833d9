/**
 * Intentions as Consul keeps them since 1.9: each destination's `service-intentions` config entry holds one source
 * per intention; the flat `Intention` of the /v1/connect/intentions API is one (entry, source) pair
 * (ServiceIntentionsConfigEntry.ToIntention). Two write paths, as in Consul's agent/consul/config_entry_endpoint.go
 * and intention_endpoint.go:
 * - legacy (POST /v1/connect/intentions, /intentions/:id): the source carries a generated LegacyID, LegacyMeta and
 *   legacy timestamps, validated with LegacyValidate; an entry edited through the config-entry API cannot be edited
 *   this way any more;
 * - by name (/intentions/exact): the source is upserted or removed by source name, validated as any entry write.
 */
import { randomUUID } from 'node:crypto';
import { defineError } from '../../lib/errors.ts';
import type { IntentionRule } from '../../lib/intentions/index.ts';
import type { ConfigEntry } from '../config-entries/kinds.ts';
import type { ServiceIntentionsEntry, SourceIntentionEntry } from '../config-entries/schemas.ts';
import { CONFIG_ENTRIES_TABLE, entryKey, getEntry, listEntries } from '../config-entries/table.ts';
import { normalizeIntentions, validateIntentions } from '../config-entries/validate.ts';
import type { StoreReader, StoredRow, WriteTxn } from '../store/types.ts';

export const IntentionErrors = {
  notFound: defineError('MG_INTENTION_NOT_FOUND', 404, () => 'Intention not found'),
  duplicate: defineError('MG_INTENTION_DUPLICATE', 400, (what: string) => `duplicate intention found: ${what}`),
  legacyMixed: defineError('MG_INTENTION_LEGACY_MIXED', 400, () =>
    'cannot use legacy intention API to edit intentions with a destination that was edited with the new config entry API'),
} as const;

const KIND = 'service-intentions';

/** structs.Intention on the wire (CE: namespaces are "default", partitions omitted). */
export interface WireIntention extends IntentionRule {
  ID: string;
  Description: string;
  SourceNS: string;
  SourceName: string;
  DestinationNS: string;
  DestinationName: string;
  SourceType: string;
  Action?: string;
  Permissions?: SourceIntentionEntry['Permissions'];
  Meta: Record<string, string>;
  Precedence: number;
  CreatedAt?: string;
  UpdatedAt?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

type StoredIntentions = ServiceIntentionsEntry & ConfigEntry;

export function toIntention(row: StoredRow<StoredIntentions>, src: SourceIntentionEntry): WireIntention {
  const e = row.value;
  return {
    ID: src.LegacyID ?? '',
    Description: src.Description ?? '',
    SourceNS: 'default',
    SourceName: src.Name ?? '',
    DestinationNS: 'default',
    DestinationName: e.Name,
    SourceType: src.Type ?? 'consul',
    ...(src.Action ? { Action: src.Action } : {}),
    ...(src.Permissions && src.Permissions.length > 0 ? { Permissions: src.Permissions } : {}),
    Meta: (src.LegacyID ? src.LegacyMeta : e.Meta) ?? {},
    Precedence: src.Precedence ?? 0,
    ...(src.LegacyCreateTime ? { CreatedAt: src.LegacyCreateTime } : {}),
    ...(src.LegacyUpdateTime ? { UpdatedAt: src.LegacyUpdateTime } : {}),
    CreateIndex: row.createIndex,
    ModifyIndex: row.modifyIndex,
  };
}

/** Every intention, in Consul's precedence order. */
export function listIntentions(reader: StoreReader): WireIntention[] {
  const out: WireIntention[] = [];
  for (const row of listEntries<StoredIntentions>(reader, KIND)) for (const src of row.value.Sources ?? []) out.push(toIntention(row, src));
  return out;
}

export function getExact(reader: StoreReader, source: string, destination: string): WireIntention | undefined {
  const row = getEntry<StoredIntentions>(reader, KIND, destination);
  const src = row?.value.Sources?.find((s) => s.Name === source);
  return row && src ? toIntention(row, src) : undefined;
}

export function getById(reader: StoreReader, id: string): WireIntention | undefined {
  for (const row of listEntries<StoredIntentions>(reader, KIND)) {
    const src = row.value.Sources?.find((s) => s.LegacyID === id);
    if (src) return toIntention(row, src);
  }
  return undefined;
}

/** The fields of an intention body that a write uses. */
export interface IntentionInput {
  SourceName?: string | undefined;
  DestinationName?: string | undefined;
  SourceType?: string | undefined;
  Action?: string | undefined;
  Permissions?: SourceIntentionEntry['Permissions'];
  Description?: string | undefined;
  Meta?: Record<string, string> | undefined;
}

function sourceOf(input: IntentionInput): SourceIntentionEntry {
  return {
    Name: input.SourceName ?? '',
    ...(input.Action ? { Action: input.Action } : {}),
    ...(input.Permissions && input.Permissions.length > 0 ? { Permissions: input.Permissions } : {}),
    ...(input.SourceType ? { Type: input.SourceType } : {}),
    ...(input.Description ? { Description: input.Description } : {}),
  };
}

function save(tx: WriteTxn, entry: StoredIntentions, legacy: boolean): void {
  if ((entry.Sources ?? []).length === 0) {
    tx.delete(CONFIG_ENTRIES_TABLE, entryKey(KIND, entry.Name));
    return;
  }
  normalizeIntentions(entry, legacy);
  validateIntentions(entry, legacy);
  tx.put(CONFIG_ENTRIES_TABLE, entryKey(KIND, entry.Name), entry);
}

function currentEntry(tx: WriteTxn, destination: string): StoredIntentions {
  const row = getEntry<StoredIntentions>(tx, KIND, destination);
  return row ? structuredClone(row.value) : { Kind: KIND, Name: destination, Sources: [] };
}

/** PUT /exact: upsert the source by name (IntentionUpsert via the config entry). Legacy fields are dropped. */
export function upsertExact(tx: WriteTxn, source: string, destination: string, input: IntentionInput): void {
  const entry = currentEntry(tx, destination);
  const src = sourceOf({ ...input, SourceName: source });
  const sources = (entry.Sources ?? []).map((s) => {
    const { LegacyMeta: _m, ...rest } = s;
    return rest;
  });
  const at = sources.findIndex((s) => s.Name === source);
  if (at === -1) sources.push(src);
  else sources[at] = src;
  entry.Sources = sources;
  save(tx, entry, false);
}

export function deleteExact(tx: WriteTxn, source: string, destination: string): void {
  const entry = currentEntry(tx, destination);
  const before = entry.Sources?.length ?? 0;
  entry.Sources = (entry.Sources ?? []).filter((s) => s.Name !== source);
  if (entry.Sources.length === before) return;
  const legacy = entry.Sources.length > 0 && entry.Sources.every((s) => s.LegacyID);
  save(tx, entry, legacy);
}

/** POST /v1/connect/intentions (legacy create): a new ID; a second intention for the same pair is refused. */
export function createLegacy(tx: WriteTxn, input: IntentionInput, now: string): string {
  const destination = input.DestinationName ?? '';
  const entry = currentEntry(tx, destination);
  if ((entry.Sources ?? []).some((s) => !s.LegacyID)) throw IntentionErrors.legacyMixed();
  if ((entry.Sources ?? []).some((s) => s.Name === input.SourceName)) {
    throw IntentionErrors.duplicate(`${input.SourceName ?? ''} => ${destination}`);
  }
  const id = randomUUID();
  entry.Sources = [...(entry.Sources ?? []), {
    ...sourceOf(input), LegacyID: id, LegacyMeta: input.Meta ?? {}, LegacyCreateTime: now, LegacyUpdateTime: now,
  }];
  save(tx, entry, true);
  return id;
}

/** PUT /v1/connect/intentions/:id (legacy update); the pair may change, as Consul allows. */
export function updateLegacy(tx: WriteTxn, id: string, input: IntentionInput, now: string): void {
  const existing = getById(tx, id);
  if (!existing) throw IntentionErrors.notFound();
  const old = currentEntry(tx, existing.DestinationName);
  const prev = old.Sources!.find((s) => s.LegacyID === id)!;
  old.Sources = old.Sources!.filter((s) => s.LegacyID !== id);
  const destination = input.DestinationName ?? existing.DestinationName;
  const updated: SourceIntentionEntry = {
    ...sourceOf({ ...input, SourceName: input.SourceName ?? existing.SourceName }),
    LegacyID: id, LegacyMeta: input.Meta ?? {}, LegacyCreateTime: prev.LegacyCreateTime ?? now, LegacyUpdateTime: now,
  };
  if (destination === existing.DestinationName) {
    old.Sources.push(updated);
    save(tx, old, true);
    return;
  }
  save(tx, old, true);
  const target = currentEntry(tx, destination);
  if ((target.Sources ?? []).some((s) => !s.LegacyID)) throw IntentionErrors.legacyMixed();
  target.Sources = [...(target.Sources ?? []), updated];
  save(tx, target, true);
}

export function deleteLegacy(tx: WriteTxn, id: string): void {
  const existing = getById(tx, id);
  if (!existing) throw IntentionErrors.notFound();
  const entry = currentEntry(tx, existing.DestinationName);
  entry.Sources = entry.Sources!.filter((s) => s.LegacyID !== id);
  save(tx, entry, true);
}
