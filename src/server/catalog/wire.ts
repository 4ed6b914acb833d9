/**
 * Stored catalog rows to Consul's wire types (src/api/types): Node, CatalogService (a ServiceNode), AgentService,
 * HealthCheck, ServiceEntry. Empty lists and maps are sent as Consul sends them ([] / {} where Consul's HTTP layer
 * replaces nil, null where it does not), and the Raft indexes come from the store's row.
 */
import type { AgentCheck, AgentService, CatalogService, HealthCheck, Node, ServiceEntry } from '../../api/types.ts';
import type { StoredRow } from '../store/types.ts';
import type { StoredCheck, StoredNode, StoredService } from './tables.ts';

export function nodeToWire(row: StoredRow<StoredNode>): Node {
  const n = row.value;
  return {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: n.TaggedAddresses,
    Meta: n.Meta,
    CreateIndex: row.createIndex,
    ModifyIndex: row.modifyIndex,
  };
}

export function agentServiceToWire(row: StoredRow<StoredService>, datacenter?: string): AgentService {
  const s = row.value;
  const out: AgentService = {
    ID: s.ID,
    Service: s.Service,
    Tags: [...s.Tags],
    Meta: s.Meta,
    Port: s.Port,
    Address: s.Address,
    TaggedAddresses: s.TaggedAddresses,
    Weights: s.Weights,
    EnableTagOverride: s.EnableTagOverride,
  };
  if (s.Kind) out.Kind = s.Kind;
  if (s.SocketPath) out.SocketPath = s.SocketPath;
  if (s.Proxy) out.Proxy = s.Proxy;
  if (s.Connect) out.Connect = s.Connect;
  if (datacenter) out.Datacenter = datacenter;
  out.CreateIndex = row.createIndex;
  out.ModifyIndex = row.modifyIndex;
  return out;
}

/** The agent's view of a service carries a ContentHash (used by hash-based blocking) instead of Raft indexes. */
export function localServiceToWire(row: StoredRow<StoredService>, datacenter: string): AgentService {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = agentServiceToWire(row, datacenter);
  return { ...rest, ContentHash: contentHash(row.value) };
}

export function catalogServiceToWire(svc: StoredRow<StoredService>, node: StoredRow<StoredNode>): CatalogService {
  const s = svc.value;
  const n = node.value;
  const out: CatalogService = {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: n.TaggedAddresses,
    NodeMeta: n.Meta,
    ServiceKind: s.Kind,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: [...s.Tags],
    ServiceAddress: s.Address,
    ServiceTaggedAddresses: s.TaggedAddresses,
    ServiceWeights: s.Weights,
    ServiceMeta: s.Meta,
    ServicePort: s.Port,
    ServiceSocketPath: s.SocketPath,
    ServiceEnableTagOverride: s.EnableTagOverride,
    ServiceProxy: s.Proxy ?? {},
    ServiceConnect: s.Connect ?? {},
    CreateIndex: svc.createIndex,
    ModifyIndex: svc.modifyIndex,
  };
  return out;
}

export function checkToWire(row: StoredRow<StoredCheck>): HealthCheck {
  const c = row.value;
  return {
    Node: c.Node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: [...c.ServiceTags],
    Type: c.Type,
    Interval: c.Interval,
    Timeout: c.Timeout,
    ExposedPort: c.ExposedPort,
    Definition: c.Definition,
    CreateIndex: row.createIndex,
    ModifyIndex: row.modifyIndex,
  };
}

/** The agent's view of a check (no Raft indexes). */
export function agentCheckToWire(row: StoredRow<StoredCheck>): AgentCheck {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = checkToWire(row);
  return rest as AgentCheck;
}

export function serviceEntryToWire(node: StoredRow<StoredNode>, svc: StoredRow<StoredService>, checks: StoredRow<StoredCheck>[]): ServiceEntry {
  return { Node: nodeToWire(node), Service: agentServiceToWire(svc), Checks: checks.map(checkToWire) };
}

/** A short stable hash of a service's definition, like Consul's hashstructure-based ContentHash. */
function contentHash(value: unknown): string {
  // FNV-1a 64-bit over the JSON form; only equality matters to clients.
  let h = 0xcbf29ce484222325n;
  const text = JSON.stringify(value);
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}
