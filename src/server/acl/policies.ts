/**
 * ACL policies (Consul's ACL.PolicySet / PolicyDelete / PolicyRead, agent/consul/acl_endpoint.go): a name unique
 * among policies, rules validated by parsing them (the decoded form is stored beside the text), and the builtin
 * `global-management` policy, created at start, whose rules and datacenters cannot change and which cannot be
 * deleted.
 */
import { randomUUID } from 'node:crypto';
import { defineError } from '../../lib/errors.ts';
import type { StoredRow, StoreReader, WriteTxn } from '../store/types.ts';
import { GLOBAL_MANAGEMENT_POLICY_ID } from './authorizer.ts';
import { contentHash } from './hash.ts';
import { ErrAclInvalid, linksToWire, resolveLinks } from './links.ts';
import { parseRules } from './rules.ts';
import { NAME_INDEX, POLICIES_TABLE, type Link, type PolicyRow } from './tables.ts';

export { ErrAclInvalid };
export const ErrAclResourceNotFound = defineError('MG_ACL_RESOURCE_NOT_FOUND', 404, (message: string) => message);

export const GLOBAL_MANAGEMENT_NAME = 'global-management';
/** The rules Consul gives its builtin policy (structs.ACLPolicyGlobalManagement). */
export const GLOBAL_MANAGEMENT_RULES = `acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}`;

/** Consul's validPolicyName. */
const POLICY_NAME = /^[A-Za-z0-9\-_]{1,128}$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PolicyInput {
  ID?: string;
  Name?: string;
  Description?: string;
  Rules?: string;
  Datacenters?: string[];
}

/** The wire form (structs.ACLPolicy). */
export function policyToWire(row: StoredRow<PolicyRow>): Record<string, unknown> {
  const p = row.value;
  return {
    ID: p.ID, Name: p.Name, Description: p.Description, Rules: p.Rules,
    ...(p.Datacenters && p.Datacenters.length > 0 ? { Datacenters: p.Datacenters } : {}),
    Hash: p.Hash, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex,
  };
}

/** The list form (structs.ACLPolicyListStub): no rules. */
export function policyToStub(row: StoredRow<PolicyRow>): Record<string, unknown> {
  const { Rules: _rules, ...stub } = policyToWire(row);
  return stub;
}

export function getPolicy(reader: StoreReader, id: string): StoredRow<PolicyRow> | undefined {
  return reader.get<PolicyRow>(POLICIES_TABLE, id);
}

export function getPolicyByName(reader: StoreReader, name: string): StoredRow<PolicyRow> | undefined {
  return reader.listBy<PolicyRow>(POLICIES_TABLE, NAME_INDEX, name)[0];
}

/** Creates the builtin global-management policy when missing (any replica may; the first write wins). */
export async function ensureGlobalManagement(write: (fn: (tx: WriteTxn) => void) => Promise<unknown>): Promise<void> {
  const decoded = await parseRules(GLOBAL_MANAGEMENT_RULES);
  await write((tx) => {
    if (getPolicy(tx, GLOBAL_MANAGEMENT_POLICY_ID)) return;
    const row: PolicyRow = {
      ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: GLOBAL_MANAGEMENT_NAME, Description: 'Builtin Policy that grants unlimited access',
      Rules: GLOBAL_MANAGEMENT_RULES, Hash: '', Decoded: decoded,
    };
    row.Hash = contentHash([row.Name, row.Rules, row.Datacenters ?? []]);
    tx.put(POLICIES_TABLE, row.ID, row);
  });
}

/**
 * Validates and decodes a policy before its transaction (parsing is async); `prepared.apply(tx)` then checks what
 * depends on the state (name taken, ID exists, builtin limits) and writes. Throws coded 400s naming the field.
 */
export async function preparePolicy(input: PolicyInput, create: boolean): Promise<{ apply(tx: WriteTxn): PolicyRow }> {
  const name = input.Name ?? '';
  if (name === '') throw ErrAclInvalid('Invalid Policy: no Name is set');
  if (!POLICY_NAME.test(name)) throw ErrAclInvalid("Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  if (!create && input.ID !== undefined && input.ID !== '' && !UUID.test(input.ID)) throw ErrAclInvalid('Policy ID invalid UUID');
  const rules = input.Rules ?? '';
  const decoded = await parseRules(rules);
  return {
    apply(tx) {
      const id = create || !input.ID ? randomUUID() : input.ID;
      const existing = create ? undefined : getPolicy(tx, id);
      if (!create && !existing) throw ErrAclInvalid(`Invalid Policy: A Policy with ID ${JSON.stringify(id)} does not exist`);
      const sameName = getPolicyByName(tx, name);
      if (sameName && sameName.value.ID !== id) throw ErrAclInvalid(`Invalid Policy: A Policy with Name ${JSON.stringify(name)} already exists`);
      if (id === GLOBAL_MANAGEMENT_POLICY_ID) {
        if (input.Datacenters && input.Datacenters.length > 0) throw ErrAclInvalid('Changing the Datacenters of the builtin global-management policy is not permitted');
        if (rules !== existing!.value.Rules) throw ErrAclInvalid('Changing the Rules for the builtin global-management policy is not permitted');
      }
      const row: PolicyRow = {
        ID: id, Name: name, Description: input.Description ?? '', Rules: rules,
        ...(input.Datacenters && input.Datacenters.length > 0 ? { Datacenters: input.Datacenters } : {}),
        Hash: contentHash([name, rules, input.Datacenters ?? []]), Decoded: decoded,
      };
      tx.put(POLICIES_TABLE, id, row);
      return row;
    },
  };
}

export function deletePolicy(tx: WriteTxn, id: string): void {
  if (id === GLOBAL_MANAGEMENT_POLICY_ID) throw ErrAclInvalid('Delete operation not permitted on the builtin global-management policy');
  if (!getPolicy(tx, id)) throw ErrAclResourceNotFound('Cannot find policy to delete');
  tx.delete(POLICIES_TABLE, id);
}

/** Policy links given by ID or Name (structs.ACLTokenPolicyLink) → IDs; an unknown one is an error naming it. */
export function resolvePolicyLinks(reader: StoreReader, links: ReadonlyArray<{ ID?: string; Name?: string }> | undefined, what: string): Link[] {
  return resolveLinks(links, what, 'policy', (id) => getPolicy(reader, id)?.value, (name) => getPolicyByName(reader, name)?.value);
}

/** Links with their current names, dropping links to deleted policies. */
export function policyLinksToWire(reader: StoreReader, links: readonly Link[]): Array<{ ID: string; Name: string }> {
  return linksToWire(links, (id) => getPolicy(reader, id)?.value);
}
