/**
 * The contract between the ACL system and everything it guards — the shape of Consul's acl.Authorizer
 * (acl/authorizer.go), with each decision already folded through the default policy, so an endpoint asks one yes/no
 * question. Two sides build on it: the rules engine and token resolver in this folder produce Authorizers, and the
 * endpoints, DNS and blocking queries consume them through `enforce.ts`.
 */
import { MeshgateError } from '../../lib/errors.ts';

/** Consul's acl.Resource names, as they appear in rules and in 403 messages. */
export type AclResource =
  | 'acl' | 'agent' | 'event' | 'intention' | 'key' | 'keyring' | 'mesh' | 'node' | 'operator' | 'query' | 'service' | 'session';

/** Consul's acl.AccessLevel as printed in errors (`list` exists for keys only). */
export type AccessLevel = 'read' | 'list' | 'write';

/** The anonymous token's fixed AccessorID (Consul's acl.AnonymousTokenID). */
export const ANONYMOUS_TOKEN_ID = '00000000-0000-0000-0000-000000000002';
/** The builtin global-management policy's fixed ID (Consul's structs.ACLPolicyGlobalManagementID). */
export const GLOBAL_MANAGEMENT_POLICY_ID = '00000000-0000-0000-0000-000000000001';

/** One resolved identity's permissions. Every method answers after the default policy has been applied. */
export interface Authorizer {
  /** The AccessorID named in 403 messages; ANONYMOUS_TOKEN_ID for the anonymous token, '' when ACLs are off. */
  readonly accessorId: string;
  aclRead(): boolean;
  aclWrite(): boolean;
  agentRead(node: string): boolean;
  agentWrite(node: string): boolean;
  eventRead(name: string): boolean;
  eventWrite(name: string): boolean;
  /** What an intention check decides when no intention matches (Consul's IntentionDefaultAllow). */
  intentionDefaultAllow(): boolean;
  intentionRead(service: string): boolean;
  intentionWrite(service: string): boolean;
  keyList(prefix: string): boolean;
  keyRead(key: string): boolean;
  keyWrite(key: string): boolean;
  /** Write on a whole prefix: allowed only when no rule below the prefix denies a write (recursive delete). */
  keyWritePrefix(prefix: string): boolean;
  keyringRead(): boolean;
  keyringWrite(): boolean;
  meshRead(): boolean;
  meshWrite(): boolean;
  nodeRead(node: string): boolean;
  nodeReadAll(): boolean;
  nodeWrite(node: string): boolean;
  operatorRead(): boolean;
  operatorWrite(): boolean;
  preparedQueryRead(name: string): boolean;
  preparedQueryWrite(name: string): boolean;
  serviceRead(service: string): boolean;
  serviceReadAll(): boolean;
  serviceWrite(service: string): boolean;
  serviceWriteAny(): boolean;
  sessionRead(node: string): boolean;
  sessionWrite(node: string): boolean;
  snapshot(): boolean;
}

/** ACLs disabled (Consul's `acl.enabled = false`): every question answered yes. */
export const ALLOW_ALL_AUTHORIZER: Authorizer = Object.freeze({
  accessorId: '',
  aclRead: () => true, aclWrite: () => true,
  agentRead: () => true, agentWrite: () => true,
  eventRead: () => true, eventWrite: () => true,
  intentionDefaultAllow: () => true, intentionRead: () => true, intentionWrite: () => true,
  keyList: () => true, keyRead: () => true, keyWrite: () => true, keyWritePrefix: () => true,
  keyringRead: () => true, keyringWrite: () => true,
  meshRead: () => true, meshWrite: () => true,
  nodeRead: () => true, nodeReadAll: () => true, nodeWrite: () => true,
  operatorRead: () => true, operatorWrite: () => true,
  preparedQueryRead: () => true, preparedQueryWrite: () => true,
  serviceRead: () => true, serviceReadAll: () => true, serviceWrite: () => true, serviceWriteAny: () => true,
  sessionRead: () => true, sessionWrite: () => true,
  snapshot: () => true,
});

/**
 * Resolves the secret a request carried (X-Consul-Token, `Authorization: Bearer`, `?token=`; undefined when none)
 * to an Authorizer. No secret means the configured default token, else the anonymous token. A secret that names no
 * token (or an expired one) throws `ErrAclNotFound` — Consul answers 403 "ACL not found" rather than falling back to
 * anonymous. Synchronous: tokens, policies and roles are read from the store's in-memory view.
 */
export interface AclResolver {
  readonly enabled: boolean;
  resolve(secretId: string | undefined): Authorizer;
  /**
   * Calls `onRevoked` once when the token behind `secretId` is deleted, expires or stops resolving, so a blocking
   * query waiting with it can end with 403 (Consul re-checks ACLs when a blocking query wakes). Returns the unsubscribe.
   */
  watchRevocation(secretId: string | undefined, onRevoked: () => void): () => void;
}

/** A resolver for a server with ACLs off. */
export const ACLS_DISABLED: AclResolver = {
  enabled: false,
  resolve: () => ALLOW_ALL_AUTHORIZER,
  watchRevocation: () => () => {},
};

export class PermissionDeniedError extends MeshgateError {
  constructor(message: string) {
    super('MG_ACL_PERMISSION_DENIED', 403, message);
    this.name = 'PermissionDeniedError';
  }
}

/**
 * Consul's 403 text (acl/errors.go PermissionDeniedError.Error):
 * `Permission denied: token with AccessorID '<id>' lacks permission '<resource>:<level>' on "<name>"`, with
 * "anonymous token" and a hint in place of the AccessorID for the anonymous token, and no ` on …` for unnamed
 * resources (acl, operator, mesh, keyring, snapshot → `acl:write`, `operator:read`, …).
 */
export function permissionDenied(authz: Pick<Authorizer, 'accessorId'>, resource: AclResource, level: AccessLevel, name?: string): PermissionDeniedError {
  const anonymous = authz.accessorId === ANONYMOUS_TOKEN_ID;
  let message = 'Permission denied';
  message += anonymous ? ': anonymous token' : `: token with AccessorID '${authz.accessorId}'`;
  message += ` lacks permission '${resource}:${level}'`;
  if (name !== undefined && name !== '') message += ` on ${JSON.stringify(name)}`;
  if (anonymous) message += '. The anonymous token is used implicitly when a request does not specify a token.';
  return new PermissionDeniedError(message);
}

/** Consul's answer for a secret that names no token: 403 "ACL not found" (acl/errors.go errNotFound). */
export class AclNotFoundError extends MeshgateError {
  constructor() {
    super('MG_ACL_NOT_FOUND', 403, 'ACL not found');
    this.name = 'AclNotFoundError';
  }
}
