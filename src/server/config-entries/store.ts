/**
 * Writes of configuration entries inside a store transaction (Consul's state store EnsureConfigEntry /
 * EnsureConfigEntryCAS / DeleteConfigEntry): a check-and-set on ModifyIndex when asked, and, for the kinds that take
 * part in discovery chains, the proposed change compiled into every chain it could touch before it is kept
 * (validateProposedConfigEntryInServiceGraph) — an entry that would break a chain is refused and nothing is written.
 */
import type { StoreReader, WriteTxn } from '../store/types.ts';
import { ErrChainGraph, compileDiscoveryChain } from './discovery-chain.ts';
import type { ConfigEntry } from './kinds.ts';
import type { IngressGatewayEntry } from './schemas.ts';
import { CONFIG_ENTRIES_TABLE, entryKey, getEntry, listEntries } from './table.ts';

const CHAIN_KINDS = new Set(['service-router', 'service-splitter', 'service-resolver', 'service-defaults', 'proxy-defaults', 'ingress-gateway']);
const GRAPH_VALIDATION_TRUST_DOMAIN = 'validation.consul';

/** Upsert; with `cas`, only when the stored ModifyIndex equals it (0: only when absent). Returns whether it wrote. */
export function applyEntry(tx: WriteTxn, entry: ConfigEntry, cas?: number): boolean {
  const existing = getEntry(tx, entry.Kind, entry.Name);
  if (cas !== undefined && (existing?.modifyIndex ?? 0) !== cas) return false;
  tx.put(CONFIG_ENTRIES_TABLE, entryKey(entry.Kind, entry.Name), entry);
  if (CHAIN_KINDS.has(entry.Kind)) validateChains(tx, entry.Kind === 'proxy-defaults' || entry.Kind === 'ingress-gateway' ? undefined : entry.Name);
  return true;
}

/** Delete; with `cas`, only when the stored ModifyIndex equals it. Deleting an absent entry succeeds (Consul). */
export function deleteEntry(tx: WriteTxn, kind: string, name: string, cas?: number): boolean {
  const existing = getEntry(tx, kind, name);
  if (cas !== undefined && (existing?.modifyIndex ?? 0) !== cas) return false;
  if (!existing) return true;
  tx.delete(CONFIG_ENTRIES_TABLE, entryKey(kind, name));
  if (CHAIN_KINDS.has(kind)) validateChains(tx, kind === 'proxy-defaults' || kind === 'ingress-gateway' ? undefined : name);
  return true;
}

/** The chains a change could break: the entry's own service and every service with a chain entry of its own. */
function validateChains(reader: StoreReader, changed: string | undefined): void {
  const names = new Set<string>(changed === undefined ? [] : [changed]);
  for (const kind of ['service-router', 'service-splitter', 'service-resolver']) {
    for (const row of listEntries(reader, kind)) names.add(row.value.Name);
  }
  const compile = (name: string) => compileDiscoveryChain({
    serviceName: name,
    datacenter: 'dc',
    trustDomain: GRAPH_VALIDATION_TRUST_DOMAIN,
    entries: (kind, n) => getEntry(reader, kind, n)?.value,
  });
  for (const name of names) compile(name);
  // An ingress listener serves its services with one protocol, and each service's chain must have it
  // (validateProposedConfigEntryInServiceGraph's ingress check).
  for (const row of listEntries<IngressGatewayEntry & ConfigEntry>(reader, 'ingress-gateway')) {
    for (const listener of row.value.Listeners ?? []) {
      const protocol = listener.Protocol ?? 'tcp';
      for (const svc of listener.Services ?? []) {
        if (!svc.Name || svc.Name === '*') continue;
        const chainProtocol = compile(svc.Name).Protocol;
        if (chainProtocol !== protocol) {
          throw ErrChainGraph(`service ${JSON.stringify(svc.Name)} has protocol ${JSON.stringify(chainProtocol)}, which does not match defined listener protocol ${JSON.stringify(protocol)}`);
        }
      }
    }
  }
}
