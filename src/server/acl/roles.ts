/**
 * ACL roles (Consul's ACL.RoleSet / RoleDelete / RoleRead): a named set of policy links, service identities and
 * node identities that tokens link to. Names are unique; policies are linked by ID or name.
 */
import { randomUUID } from 'node:crypto';
import type { StoredRow, StoreReader, WriteTxn } from '../store/types.ts';
import { contentHash } from './hash.ts';
import { linksToWire, resolveLinks } from './links.ts';
import { IDENTITY_NAME, type NodeIdentity, type ServiceIdentity } from './identities.ts';
import { ErrAclInvalid, ErrAclResourceNotFound, UUID, policyLinksToWire, resolvePolicyLinks } from './policies.ts';
import { NAME_INDEX, ROLES_TABLE, type Link, type RoleRow } from './tables.ts';

/** Consul's validRoleName. */
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;

export interface RoleInput {
  ID?: string;
  Name?: string;
  Description?: string;
  Policies?: Array<{ ID?: string; Name?: string }>;
  ServiceIdentities?: ServiceIdentity[];
  NodeIdentities?: NodeIdentity[];
}

export function getRole(reader: StoreReader, id: string): StoredRow<RoleRow> | undefined {
  return reader.get<RoleRow>(ROLES_TABLE, id);
}

export function getRoleByName(reader: StoreReader, name: string): StoredRow<RoleRow> | undefined {
  return reader.listBy<RoleRow>(ROLES_TABLE, NAME_INDEX, name)[0];
}

export function roleToWire(reader: StoreReader, row: StoredRow<RoleRow>): Record<string, unknown> {
  const r = row.value;
  const policies = policyLinksToWire(reader, r.Policies);
  return {
    ID: r.ID, Name: r.Name, Description: r.Description,
    ...(policies.length > 0 ? { Policies: policies } : {}),
    ...(r.ServiceIdentities.length > 0 ? { ServiceIdentities: r.ServiceIdentities } : {}),
    ...(r.NodeIdentities.length > 0 ? { NodeIdentities: r.NodeIdentities } : {}),
    Hash: r.Hash, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex,
  };
}

/** Validates service and node identities as Consul does (names, a node identity's datacenter). */
export function validateIdentities(what: string, services: readonly ServiceIdentity[] | undefined, nodes: readonly NodeIdentity[] | undefined): {
  services: ServiceIdentity[]; nodes: NodeIdentity[];
} {
  const outServices: ServiceIdentity[] = [];
  for (const s of services ?? []) {
    if (!s || typeof s.ServiceName !== 'string' || s.ServiceName === '') throw ErrAclInvalid(`${what}: Service identity is missing the service name field on this ${what.toLowerCase()}`);
    if (!IDENTITY_NAME.test(s.ServiceName) || s.ServiceName.length > 256) {
      throw ErrAclInvalid(`${what}: Service identity ${JSON.stringify(s.ServiceName)} has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
    }
    outServices.push({ ServiceName: s.ServiceName, ...(s.Datacenters && s.Datacenters.length > 0 ? { Datacenters: [...s.Datacenters] } : {}) });
  }
  const outNodes: NodeIdentity[] = [];
  for (const n of nodes ?? []) {
    if (!n || typeof n.NodeName !== 'string' || n.NodeName === '') throw ErrAclInvalid(`${what}: Node identity is missing the node name field on this ${what.toLowerCase()}`);
    if (!IDENTITY_NAME.test(n.NodeName) || n.NodeName.length > 256) {
      throw ErrAclInvalid(`${what}: Node identity ${JSON.stringify(n.NodeName)} has an invalid name. Only lowercase alphanumeric characters, '-' and '_' are allowed`);
    }
    if (!n.Datacenter) throw ErrAclInvalid(`${what}: Node identity ${JSON.stringify(n.NodeName)} is missing the datacenter field on this ${what.toLowerCase()}`);
    outNodes.push({ NodeName: n.NodeName, Datacenter: n.Datacenter });
  }
  return { services: outServices, nodes: outNodes };
}

export function applyRole(tx: WriteTxn, input: RoleInput, create: boolean): RoleRow {
  const name = input.Name ?? '';
  if (name === '') throw ErrAclInvalid('Invalid Role: no Name is set');
  if (!ROLE_NAME.test(name)) throw ErrAclInvalid("Invalid Role: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  let id = input.ID ?? '';
  if (create || id === '') id = randomUUID();
  else {
    if (!UUID.test(id)) throw ErrAclInvalid('Role ID invalid UUID');
    if (!getRole(tx, id)) throw ErrAclInvalid(`Invalid Role: A Role with ID ${JSON.stringify(id)} does not exist`);
  }
  const sameName = getRoleByName(tx, name);
  if (sameName && sameName.value.ID !== id) throw ErrAclInvalid(`Invalid Role: A Role with Name ${JSON.stringify(name)} already exists`);
  const policies: Link[] = resolvePolicyLinks(tx, input.Policies, 'Invalid Role');
  const { services, nodes } = validateIdentities('Role', input.ServiceIdentities, input.NodeIdentities);
  const row: RoleRow = {
    ID: id, Name: name, Description: input.Description ?? '', Policies: policies, ServiceIdentities: services, NodeIdentities: nodes,
    Hash: contentHash([name, policies, services, nodes]),
  };
  tx.put(ROLES_TABLE, id, row);
  return row;
}

export function deleteRole(tx: WriteTxn, id: string): void {
  if (!getRole(tx, id)) throw ErrAclResourceNotFound('Cannot find role to delete');
  tx.delete(ROLES_TABLE, id);
}

/** Role links by ID or Name (structs.ACLTokenRoleLink) → IDs. */
export function resolveRoleLinks(reader: StoreReader, links: ReadonlyArray<{ ID?: string; Name?: string }> | undefined, what: string): Link[] {
  return resolveLinks(links, what, 'role', (id) => getRole(reader, id)?.value, (name) => getRoleByName(reader, name)?.value);
}

export function roleLinksToWire(reader: StoreReader, links: readonly Link[]): Array<{ ID: string; Name: string }> {
  return linksToWire(links, (id) => getRole(reader, id)?.value);
}
