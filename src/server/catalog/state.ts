/**
 * The catalog's writes and reads over the state store: Consul's ensureRegistrationTxn / deleteNode / deleteService /
 * deleteCheck semantics (an unchanged registration writes nothing, a service takes its checks with it, a node
 * takes everything), each inside the caller's single `store.write`, plus the per-service index rows that let a
 * health or catalog view of one service block on exactly what it depends on.
 */
import type { StoreReader, WriteTxn } from '../store/types.ts';
import type { StateStore } from '../store/state-store.ts';
import { CatalogErrors } from './errors.ts';
import {
  SERVICE_NAME_INDEX, Tables, checkKey, nodePrefix, serviceKey,
  type StoredAgentCheck, type StoredCheck, type StoredNode, type StoredService,
} from './tables.ts';
import type { StoredRow } from '../store/types.ts';

/** A registration after decoding and validation (catalog/register, the local agent, later txn). */
export interface Registration {
  node: StoredNode;
  /** Leave an existing node row untouched (it must exist when a service or check is given). */
  skipNodeUpdate: boolean;
  service?: Omit<StoredService, 'Node'>;
  checks: Array<Omit<StoredCheck, 'Node' | 'ServiceName' | 'ServiceTags'>>;
}

/** Something a check write means to another part (sessions invalidate on a critical or deleted check). */
export type CheckWriteHook = (tx: WriteTxn, event: { node: string; checkId: string; before?: StoredCheck; after?: StoredCheck }) => void;

const hooks = new WeakMap<StateStore | StoreReader, Set<CheckWriteHook>>();

/**
 * Runs `hook` inside every catalog write that creates, changes or deletes a check of `store` (node deregistration
 * included), in the same transaction: throwing refuses the whole write. Returns an unsubscribe function.
 */
export function onCheckWrite(store: StateStore, hook: CheckWriteHook): () => void {
  let set = hooks.get(store);
  if (!set) hooks.set(store, (set = new Set()));
  set.add(hook);
  return () => set.delete(hook);
}

/**
 * A write transaction's view of the catalog: collects which services' index rows must move and runs the check
 * hooks. `finish()` must be called once at the end of the transaction.
 */
export class CatalogTxn {
  readonly tx: WriteTxn;
  private readonly touched = new Set<string>();
  private readonly hooks: Set<CheckWriteHook> | undefined;

  constructor(tx: WriteTxn, store?: StateStore) {
    this.tx = tx;
    this.hooks = store ? hooks.get(store) : undefined;
  }

  node(name: string): StoredNode | undefined {
    return this.tx.get<StoredNode>(Tables.nodes, name)?.value;
  }

  service(node: string, id: string): StoredService | undefined {
    return this.tx.get<StoredService>(Tables.services, serviceKey(node, id))?.value;
  }

  check(node: string, id: string): StoredCheck | undefined {
    return this.tx.get<StoredCheck>(Tables.checks, checkKey(node, id))?.value;
  }

  nodeServices(node: string): StoredService[] {
    return this.tx.list<StoredService>(Tables.services, nodePrefix(node)).map((r) => r.value).filter((s) => s.Node === node);
  }

  nodeChecks(node: string): StoredCheck[] {
    return this.tx.list<StoredCheck>(Tables.checks, nodePrefix(node)).map((r) => r.value).filter((c) => c.Node === node);
  }

  /** Consul's ensureRegistrationTxn. */
  register(reg: Registration): void {
    const name = reg.node.Node;
    if (!reg.skipNodeUpdate || !this.node(name)) this.putNode(reg.node);
    if (reg.service) this.putService({ ...reg.service, Node: name });
    for (const check of reg.checks) this.putCheck({ ...check, Node: name, ServiceName: '', ServiceTags: [] });
  }

  putNode(node: StoredNode): void {
    const existing = this.node(node.Node);
    const next: StoredNode = { ...node, ID: node.ID || existing?.ID || '' };
    if (existing && same(existing, next)) return;
    this.tx.put(Tables.nodes, node.Node, next);
    this.touchNode(node.Node);
  }

  putService(service: StoredService): void {
    if (!this.node(service.Node)) throw CatalogErrors.missingNode('service');
    const existing = this.service(service.Node, service.ID);
    if (existing && same(existing, service)) return;
    this.tx.put(Tables.services, serviceKey(service.Node, service.ID), service);
    this.touched.add(service.Service);
    if (existing && existing.Service !== service.Service) this.touched.add(existing.Service);
    // Checks carry their service's name and tags (Consul fills them when a check is written).
    for (const check of this.nodeChecks(service.Node)) {
      if (check.ServiceID !== service.ID) continue;
      if (check.ServiceName === service.Service && sameList(check.ServiceTags, service.Tags)) continue;
      this.writeCheck(check, { ...check, ServiceName: service.Service, ServiceTags: [...service.Tags] });
    }
  }

  /** Consul's ensureCheckTxn: the node (and the service, for a service check) must exist. */
  putCheck(check: StoredCheck): void {
    if (!this.node(check.Node)) throw CatalogErrors.missingNode('check');
    let next: StoredCheck;
    if (check.ServiceID) {
      const service = this.service(check.Node, check.ServiceID);
      if (!service) throw CatalogErrors.missingService();
      next = { ...check, ServiceName: service.Service, ServiceTags: [...service.Tags] };
    } else {
      next = { ...check, ServiceName: '', ServiceTags: [] };
    }
    const existing = this.check(check.Node, check.CheckID);
    if (existing && same(existing, next)) return;
    this.writeCheck(existing, next);
  }

  /** Sets a check's status and output; false when the check is gone (deregistered meanwhile). */
  updateCheckStatus(node: string, checkId: string, status: StoredCheck['Status'], output: string): boolean {
    const existing = this.check(node, checkId);
    if (!existing) return false;
    if (existing.Status === status && existing.Output === output) return true;
    this.writeCheck(existing, { ...existing, Status: status, Output: output });
    return true;
  }

  /** Removes a node with its services and checks; false when it did not exist. */
  deleteNode(name: string): boolean {
    if (!this.node(name)) return false;
    for (const check of this.nodeChecks(name)) this.deleteCheck(name, check.CheckID);
    for (const service of this.nodeServices(name)) this.deleteService(name, service.ID);
    this.touchNode(name);
    this.tx.delete(Tables.nodes, name);
    return true;
  }

  /** Removes a service and its checks; false when it did not exist. */
  deleteService(node: string, id: string): boolean {
    const existing = this.service(node, id);
    if (!existing) return false;
    for (const check of this.nodeChecks(node)) if (check.ServiceID === id) this.deleteCheck(node, check.CheckID);
    this.tx.delete(Tables.services, serviceKey(node, id));
    this.touched.add(existing.Service);
    return true;
  }

  /** Removes a check (and the local agent's definition of it); false when it did not exist. */
  deleteCheck(node: string, id: string): boolean {
    const existing = this.check(node, id);
    this.tx.delete(Tables.agentChecks, checkKey(node, id));
    if (!existing) return false;
    this.runHooks({ node, checkId: id, before: existing });
    this.tx.delete(Tables.checks, checkKey(node, id));
    this.touchCheck(existing);
    return true;
  }

  putAgentCheck(node: string, id: string, value: StoredAgentCheck): void {
    const existing = this.tx.get<StoredAgentCheck>(Tables.agentChecks, checkKey(node, id));
    if (existing && same(existing.value, value)) return;
    this.tx.put(Tables.agentChecks, checkKey(node, id), value);
  }

  /** Moves the index rows of every service whose views changed; call once, last. */
  finish(): void {
    for (const name of this.touched) {
      const live = this.tx.listBy(Tables.services, SERVICE_NAME_INDEX, name).length > 0;
      if (live) this.tx.put(Tables.serviceIndex, name, { Name: name });
      else this.tx.delete(Tables.serviceIndex, name);
    }
    this.touched.clear();
  }

  private writeCheck(before: StoredCheck | undefined, after: StoredCheck): void {
    this.runHooks({ node: after.Node, checkId: after.CheckID, ...(before ? { before } : {}), after });
    this.tx.put(Tables.checks, checkKey(after.Node, after.CheckID), after);
    this.touchCheck(after);
  }

  private runHooks(event: Parameters<CheckWriteHook>[1]): void {
    if (this.hooks) for (const hook of this.hooks) hook(this.tx, event);
  }

  /** A node-level change (node row, node check) changes the health of every service on the node. */
  private touchNode(node: string): void {
    for (const s of this.nodeServices(node)) this.touched.add(s.Service);
  }

  private touchCheck(check: StoredCheck): void {
    if (!check.ServiceID) {
      this.touchNode(check.Node);
      return;
    }
    const service = this.service(check.Node, check.ServiceID);
    if (service) this.touched.add(service.Service);
    else if (check.ServiceName) this.touched.add(check.ServiceName);
  }
}

/** Runs `fn` as one atomic catalog write. */
export async function catalogWrite<R>(store: StateStore, fn: (c: CatalogTxn) => R): Promise<{ index: number; result: R }> {
  return store.write((tx) => {
    const c = new CatalogTxn(tx, store);
    const result = fn(c);
    c.finish();
    return result;
  });
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---------------------------------------------------------------------------------------------------------------
// Reads (from the live store; each returns rows so callers can report Create/ModifyIndex).

export function getNode(store: StoreReader, name: string): StoredRow<StoredNode> | undefined {
  return store.get<StoredNode>(Tables.nodes, name);
}

export function listNodes(store: StoreReader): StoredRow<StoredNode>[] {
  return store.list<StoredNode>(Tables.nodes);
}

export function listNodeServices(store: StoreReader, node: string): StoredRow<StoredService>[] {
  return store.list<StoredService>(Tables.services, nodePrefix(node)).filter((r) => r.value.Node === node);
}

export function listServices(store: StoreReader): StoredRow<StoredService>[] {
  return store.list<StoredService>(Tables.services);
}

export function listServiceInstances(store: StoreReader, name: string): StoredRow<StoredService>[] {
  return store.listBy<StoredService>(Tables.services, SERVICE_NAME_INDEX, name);
}

/**
 * The instances that accept Connect traffic for `service` (Health.ServiceNodes with Connect=true): its `connect-proxy`
 * services whose `Proxy.DestinationServiceName` is the service, then its instances registered Connect-native.
 */
export function listConnectInstances(store: StoreReader, service: string): StoredRow<StoredService>[] {
  return listServices(store).filter((r) =>
    (r.value.Kind === 'connect-proxy' && r.value.Proxy?.DestinationServiceName === service)
    || (r.value.Service === service && r.value.Connect?.Native === true));
}

export function listChecks(store: StoreReader): StoredRow<StoredCheck>[] {
  return store.list<StoredCheck>(Tables.checks);
}

/**
 * Every check of `node` (node-level and service checks), in check ID order; [] for an unknown node. Sessions use
 * it to validate their `Checks` / `NodeChecks`; watch `{ table: 'checks', prefix: '<node>/' }` to follow them.
 */
export function nodeChecks(store: StoreReader, node: string): StoredRow<StoredCheck>[] {
  return store.list<StoredCheck>(Tables.checks, nodePrefix(node)).filter((r) => r.value.Node === node);
}

/** The status of one check of a node, or undefined when the node has no such check. */
export function checkStatus(store: StoreReader, node: string, checkId: string): StoredCheck['Status'] | undefined {
  return store.get<StoredCheck>(Tables.checks, checkKey(node, checkId))?.value.Status;
}

/** Whether `node` is registered in the catalog. */
export function nodeExists(store: StoreReader, node: string): boolean {
  return store.get(Tables.nodes, node) !== undefined;
}

/** The checks that decide an instance's health: the node's own checks and the service's. */
export function instanceChecks(store: StoreReader, node: string, serviceId: string): StoredRow<StoredCheck>[] {
  return nodeChecks(store, node).filter((r) => r.value.ServiceID === '' || r.value.ServiceID === serviceId);
}

/**
 * The index a view of one service reports: its index row's, or (for a service that no longer exists) the
 * index table's, as Consul's maxIndexForService falls back.
 */
export function serviceViewIndex(store: StateStore, name: string): number {
  return store.get(Tables.serviceIndex, name)?.modifyIndex ?? store.tableIndex(Tables.serviceIndex, Tables.nodes);
}
