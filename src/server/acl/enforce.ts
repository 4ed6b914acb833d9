/**
 * Enforcement: how the endpoints, DNS and blocking queries put the Authorizer's questions and answer a "no" the way
 * Consul does. A single named thing the caller may not touch is Consul's 403 (`requirePermission`); a list is
 * narrowed to what the caller may read (`filterByAcl`) and the answer says so with
 * `X-Consul-Results-Filtered-By-ACLs: true` (`filteredHeaders`). With ACLs off every question meets
 * ALLOW_ALL_AUTHORIZER, and the list helpers return their input untouched without calling the predicate, so the hot
 * read paths pay one identity comparison.
 */
import {
  ALLOW_ALL_AUTHORIZER, ANONYMOUS_TOKEN_ID, permissionDenied, type AccessLevel, type AclResource, type Authorizer,
} from './authorizer.ts';

/** The question behind `<resource>:<level>` on `name` (Consul's acl.Enforce, one yes/no per resource and level). */
export function allowed(authz: Authorizer, resource: AclResource, level: AccessLevel, name = ''): boolean {
  if (authz === ALLOW_ALL_AUTHORIZER) return true;
  const write = level === 'write';
  switch (resource) {
    case 'acl': return write ? authz.aclWrite() : authz.aclRead();
    case 'agent': return write ? authz.agentWrite(name) : authz.agentRead(name);
    case 'event': return write ? authz.eventWrite(name) : authz.eventRead(name);
    case 'intention': return write ? authz.intentionWrite(name) : authz.intentionRead(name);
    case 'key': return write ? authz.keyWrite(name) : level === 'list' ? authz.keyList(name) : authz.keyRead(name);
    case 'keyring': return write ? authz.keyringWrite() : authz.keyringRead();
    case 'mesh': return write ? authz.meshWrite() : authz.meshRead();
    case 'node': return write ? authz.nodeWrite(name) : authz.nodeRead(name);
    case 'operator': return write ? authz.operatorWrite() : authz.operatorRead();
    case 'query': return write ? authz.preparedQueryWrite(name) : authz.preparedQueryRead(name);
    case 'service': return write ? authz.serviceWrite(name) : authz.serviceRead(name);
    case 'session': return write ? authz.sessionWrite(name) : authz.sessionRead(name);
  }
}

/**
 * Throws Consul's 403 (`Permission denied: token with AccessorID '…' lacks permission '<resource>:<level>' on "…"`)
 * unless the authorizer allows it. Unnamed resources (acl, operator, mesh, keyring) leave `name` out.
 */
export function requirePermission(authz: Authorizer, resource: AclResource, level: AccessLevel, name?: string): void {
  if (!allowed(authz, resource, level, name ?? '')) throw permissionDenied(authz, resource, level, name);
}

/** A recursive KV delete: write on the prefix with nothing below it denied (Consul's KeyWritePrefixAllowed). */
export function requireKeyWritePrefix(authz: Authorizer, prefix: string): void {
  if (authz !== ALLOW_ALL_AUTHORIZER && !authz.keyWritePrefix(prefix)) throw permissionDenied(authz, 'key', 'write', prefix);
}

/** Consul's structs.SnapshotAllowed: taking or restoring a snapshot needs `acl:write` (management). */
export function requireSnapshot(authz: Authorizer): void {
  if (authz !== ALLOW_ALL_AUTHORIZER && !authz.snapshot()) throw permissionDenied(authz, 'acl', 'write');
}

/** A list narrowed by read permission, and whether anything was removed (Consul's ResultsFilteredByACLs). */
export interface Filtered<T> {
  readonly items: T[];
  readonly filtered: boolean;
}

/** Keeps the items `allow` admits; with ACLs off the input comes back as it is and `allow` is never called. */
export function filterByAcl<T>(authz: Authorizer, items: T[], allow: (item: T) => boolean): Filtered<T> {
  if (authz === ALLOW_ALL_AUTHORIZER) return { items, filtered: false };
  const kept = items.filter(allow);
  return { items: kept, filtered: kept.length !== items.length };
}

/**
 * The header that tells a client some results were hidden from it. Consul masks it for a request with no token
 * (agent/consul/rpc.go maskResultsFilteredByACLs, "to limit information leaking": with `?filter` an unauthenticated
 * caller could otherwise probe for hidden names). Its HTTP layer has already put the agent's default token in place
 * of a missing one, so the mask applies only when the caller sent nothing and resolved to the anonymous token.
 */
export function filteredHeaders(filtered: boolean, token: string | undefined, authz: Authorizer): Record<string, string> | undefined {
  if (!filtered) return undefined;
  if ((token === undefined || token === '') && authz.accessorId === ANONYMOUS_TOKEN_ID) return undefined;
  return { [FILTERED_HEADER]: 'true' };
}

export const FILTERED_HEADER = 'X-Consul-Results-Filtered-By-ACLs';

/** The same as a part of an answer to spread into it: `{ headers }` when the header is due, else nothing. */
export function filteredMeta(filtered: boolean, token: string | undefined, authz: Authorizer): { headers?: Record<string, string> } {
  const headers = filteredHeaders(filtered, token, authz);
  return headers ? { headers } : {};
}
