/**
 * From a raw body to a stored entry: the kind is read first (`Kind` or `kind`, as DecodeConfigEntry reads it), the
 * fields are decoded against that kind's schema, then normalized and validated.
 */
import { ErrEntryDecode, decodeEntryFields, isRecord } from './decode.ts';
import { kindSpec, normalizeAndValidate, type ConfigEntry } from './kinds.ts';

export function kindOf(raw: unknown): string {
  if (!isRecord(raw)) throw ErrEntryDecode('payload must be a JSON object');
  const kind = raw.Kind ?? raw.kind;
  if (kind === undefined) throw ErrEntryDecode('Payload does not contain a kind/Kind key at the top level');
  if (typeof kind !== 'string') throw ErrEntryDecode('Kind value in payload is not a string');
  return kind;
}

/** Decodes, normalizes and validates one entry; every failure is a 400 naming the field. */
export function decodeConfigEntry(raw: unknown): ConfigEntry {
  const kind = kindOf(raw);
  const spec = kindSpec(kind);
  // The Raft indexes (and an intentions entry's Hash) are part of Consul's structs and may come back in a body
  // that was read first; they are the server's to set, so they are accepted and dropped.
  const { CreateIndex: _c, ModifyIndex: _m, Hash: _h, ...rest } = raw as Record<string, unknown>;
  const fields = decodeEntryFields(spec.schema, rest) as Record<string, unknown>;
  return normalizeAndValidate(kind, fields);
}
