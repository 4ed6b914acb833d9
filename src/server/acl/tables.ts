/**
 * The ACL tables of the state store (both backends): `acl-tokens` keyed by AccessorID, `acl-policies` and
 * `acl-roles` keyed by ID, and `acl-meta` (the bootstrap mark, whose ModifyIndex is Consul's reset index). A token
 * row never holds its secret in clear (see secrets.ts): `SecretHash` is the lookup key (secondary index `secret`),
 * `SealedSecret` the secret under the data dir's key. Links to policies and roles are kept by ID; names are filled
 * in on the way out, and links to deleted policies or roles are dropped there (Consul's fixupTokenPolicyLinks).
 */
import { defineIndex } from '../store/secondary-index.ts';
import type { NodeIdentity, ServiceIdentity } from './identities.ts';
import type { PolicyRules } from './rules.ts';
import type { ACLPolicy } from '../../api/types/acl.ts';

export const TOKENS_TABLE = 'acl-tokens';
export const POLICIES_TABLE = 'acl-policies';
export const ROLES_TABLE = 'acl-roles';
export const ACL_META_TABLE = 'acl-meta';
export const BOOTSTRAP_KEY = 'bootstrap';
export const ACL_TABLES: readonly string[] = [TOKENS_TABLE, POLICIES_TABLE, ROLES_TABLE];

export const SECRET_INDEX = 'secret';
export const NAME_INDEX = 'name';
export const EXPIRES_INDEX = 'expires';
export const AUTH_METHOD_INDEX = 'auth-method';

export interface Link {
  ID: string;
}

export interface TokenRow {
  AccessorID: string;
  SecretHash: string;
  SealedSecret: string;
  Description: string;
  Policies: Link[];
  Roles: Link[];
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Local: boolean;
  AuthMethod?: string;
  /** RFC 3339; absent when the token never expires. */
  ExpirationTime?: string;
  CreateTime: string;
  Hash: string;
}

/** A policy as stored: the wire's ACLPolicy without the indexes (kept by the store) and with its decoded rules. */
export type PolicyRow = Omit<ACLPolicy, 'CreateIndex' | 'ModifyIndex'> & {
  /** The decoded rules, so resolving a token never parses (internal; not on the wire). */
  Decoded: PolicyRules;
};

export interface RoleRow {
  ID: string;
  Name: string;
  Description: string;
  Policies: Link[];
  ServiceIdentities: ServiceIdentity[];
  NodeIdentities: NodeIdentity[];
  Hash: string;
}

export interface BootstrapRow {
  Bootstrapped: true;
}

defineIndex<TokenRow>(TOKENS_TABLE, SECRET_INDEX, (t) => t.SecretHash);
defineIndex<TokenRow>(TOKENS_TABLE, EXPIRES_INDEX, (t) => (t.ExpirationTime ? 'yes' : undefined));
defineIndex<TokenRow>(TOKENS_TABLE, AUTH_METHOD_INDEX, (t) => t.AuthMethod || undefined);
defineIndex<PolicyRow>(POLICIES_TABLE, NAME_INDEX, (p) => p.Name);
defineIndex<RoleRow>(ROLES_TABLE, NAME_INDEX, (r) => r.Name);
