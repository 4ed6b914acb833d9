/**
 * The ACL questions a configuration entry asks, per kind — Consul's ConfigEntry.CanRead / CanWrite
 * (agent/structs/config_entry*.go): service-defaults, service-router, service-splitter and service-resolver are the
 * service's (`service:read` / `service:write` on the entry's name); service-intentions are the destination's
 * intentions (`intentions:read` / `intentions:write`); proxy-defaults and mesh are readable by anyone and written
 * with `mesh:write`; ingress- and terminating-gateway entries are read with `service:read` on the gateway and written
 * with `mesh:write`. A denial is Consul's 403 naming the missing permission.
 */
import { permissionDenied, type AccessLevel, type AclResource, type Authorizer } from '../acl/authorizer.ts';
import { allowed } from '../acl/enforce.ts';

interface Permission {
  readonly resource: AclResource;
  readonly level: AccessLevel;
  /** Unset for unnamed resources (mesh). */
  readonly named: boolean;
}

const SERVICE_READ: Permission = { resource: 'service', level: 'read', named: true };
const SERVICE_WRITE: Permission = { resource: 'service', level: 'write', named: true };
const MESH_WRITE: Permission = { resource: 'mesh', level: 'write', named: false };

/** [read (undefined = anyone), write] per kind; an unknown kind is refused by kindSpec before it gets here. */
const PERMISSIONS: Readonly<Record<string, readonly [Permission | undefined, Permission]>> = {
  'service-defaults': [SERVICE_READ, SERVICE_WRITE],
  'service-router': [SERVICE_READ, SERVICE_WRITE],
  'service-splitter': [SERVICE_READ, SERVICE_WRITE],
  'service-resolver': [SERVICE_READ, SERVICE_WRITE],
  'service-intentions': [{ resource: 'intention', level: 'read', named: true }, { resource: 'intention', level: 'write', named: true }],
  'proxy-defaults': [undefined, MESH_WRITE],
  mesh: [undefined, MESH_WRITE],
  'ingress-gateway': [SERVICE_READ, MESH_WRITE],
  'terminating-gateway': [SERVICE_READ, MESH_WRITE],
};

function permissions(kind: string): readonly [Permission | undefined, Permission] {
  // A kind without a row is judged as strictly as a mesh-wide one rather than left open.
  return Object.hasOwn(PERMISSIONS, kind) ? PERMISSIONS[kind]! : [MESH_WRITE, MESH_WRITE];
}

function check(authz: Authorizer, p: Permission | undefined, name: string): boolean {
  return p === undefined || allowed(authz, p.resource, p.level, p.named ? name : '');
}

export function canReadEntry(authz: Authorizer, kind: string, name: string): boolean {
  return check(authz, permissions(kind)[0], name);
}

export function requireEntryRead(authz: Authorizer, kind: string, name: string): void {
  const p = permissions(kind)[0];
  if (!check(authz, p, name)) throw permissionDenied(authz, p!.resource, p!.level, p!.named ? name : undefined);
}

export function requireEntryWrite(authz: Authorizer, kind: string, name: string): void {
  const p = permissions(kind)[1];
  if (!check(authz, p, name)) throw permissionDenied(authz, p.resource, p.level, p.named ? name : undefined);
}
