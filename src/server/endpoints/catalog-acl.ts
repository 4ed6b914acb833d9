/**
 * The ACL vetting of catalog writes, as agent/consul/catalog_endpoint.go does it (vetRegisterWithACL,
 * vetDeregisterWithACL). Registering needs `node:write` only when the request creates the node or changes it (so a
 * service may re-post its node's unchanged details with `service:write` alone), `service:write` on the service and
 * on any service it replaces by ID, and for each check `node:write` (a node check) or `service:write` on the
 * check's service. Deregistering is allowed outright with `node:write`; otherwise a service needs `service:write`
 * on it, a check `service:write` on its service (or `node:write` for a node check), and a whole node `node:write`.
 */
import type { Authorizer } from '../acl/authorizer.ts';
import { ALLOW_ALL_AUTHORIZER, permissionDenied } from '../acl/authorizer.ts';
import { CatalogErrors, getNode, Tables, type Registration } from '../catalog/index.ts';
import { checkKey, serviceKey, type StoredCheck, type StoredNode, type StoredService } from '../catalog/tables.ts';
import type { StoreReader } from '../store/types.ts';

export function vetRegister(authz: Authorizer, store: StoreReader, reg: Registration): void {
  if (authz === ALLOW_ALL_AUTHORIZER) return;
  const name = reg.node.Node;
  const existing = getNode(store, name)?.value;
  if ((!existing || changesNode(reg, existing)) && !authz.nodeWrite(name)) throw permissionDenied(authz, 'node', 'write', name);
  const svc = reg.service;
  if (svc) {
    requireServiceWrite(authz, svc.Service);
    const replaced = store.get<StoredService>(Tables.services, serviceKey(name, svc.ID))?.value;
    if (replaced) requireServiceWrite(authz, replaced.Service);
  }
  for (const check of reg.checks) {
    if (check.ServiceID === '') {
      if (!authz.nodeWrite(name)) throw permissionDenied(authz, 'node', 'write', name);
      continue;
    }
    if (svc && svc.ID === check.ServiceID) continue;
    const other = store.get<StoredService>(Tables.services, serviceKey(name, check.ServiceID))?.value;
    if (!other) throw CatalogErrors.invalid(`Unknown service ID '${check.ServiceID}' for check ID '${check.CheckID}'`);
    requireServiceWrite(authz, other.Service);
  }
}

export function vetDeregister(authz: Authorizer, store: StoreReader, node: string, serviceId: string, checkId: string): void {
  if (authz === ALLOW_ALL_AUTHORIZER || authz.nodeWrite(node)) return;
  if (serviceId !== '') {
    const svc = store.get<StoredService>(Tables.services, serviceKey(node, serviceId))?.value;
    if (!svc) throw CatalogErrors.invalid(`Unknown service ID '${serviceId}'`);
    requireServiceWrite(authz, svc.Service);
    return;
  }
  if (checkId !== '') {
    const check = store.get<StoredCheck>(Tables.checks, checkKey(node, checkId))?.value;
    if (!check) throw CatalogErrors.invalid(`Unknown check ID '${checkId}'`);
    if (check.ServiceID !== '') requireServiceWrite(authz, check.ServiceName);
    else throw permissionDenied(authz, 'node', 'write', node);
    return;
  }
  throw permissionDenied(authz, 'node', 'write', node);
}

function requireServiceWrite(authz: Authorizer, service: string): void {
  if (!authz.serviceWrite(service)) throw permissionDenied(authz, 'service', 'write', service);
}

/** Consul's RegisterRequest.ChangesNode: SkipNodeUpdate never changes the node; otherwise any node-level field does. */
function changesNode(reg: Registration, node: StoredNode): boolean {
  if (reg.skipNodeUpdate) return false;
  const want = reg.node;
  return (want.ID !== '' && want.ID !== node.ID)
    || want.Address !== node.Address
    || !sameRecord(want.TaggedAddresses, node.TaggedAddresses)
    || !sameRecord(want.Meta, node.Meta);
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
