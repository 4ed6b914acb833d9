/**
 * The catalog's tables in the state store and the shapes stored in them. Rows hold Consul's wire field names
 * (PascalCase) without the Raft indexes, which the store keeps per row (createIndex / modifyIndex) and the wire
 * conversion adds back as CreateIndex / ModifyIndex.
 *
 * | table           | key                 | value                                                              |
 * |-----------------|---------------------|--------------------------------------------------------------------|
 * | `nodes`         | node name           | StoredNode                                                         |
 * | `services`      | `<node>/<serviceID>`| StoredService (a NodeService plus its `Node`)                      |
 * | `checks`        | `<node>/<checkID>`  | StoredCheck (a HealthCheck; ServiceID "" for a node-level check)   |
 * | `service-index` | service name        | `{ Name }`; rewritten whenever anything a health view of that      |
 * |                 |                     | service depends on changes (Consul's `service.<name>` index row)   |
 * | `agent-checks`  | `<node>/<checkID>`  | the check definition a local agent runs (durations in ms), so a    |
 * |                 |                     | restarted server resumes its own checks                            |
 */
import { defineIndex } from '../store/secondary-index.ts';
import type { CheckDefinition } from '../../lib/checks/index.ts';
import type { AgentServiceConnect, AgentServiceConnectProxyConfig, AgentWeights, HealthCheck, ServiceAddress, ServiceKind } from '../../api/types.ts';

export const Tables = {
  nodes: 'nodes',
  services: 'services',
  checks: 'checks',
  serviceIndex: 'service-index',
  agentChecks: 'agent-checks',
} as const;

/**
 * Secondary index of `services` by service name (Consul's memdb `service` index): a service's instances are listed
 * in time proportional to their number, so a registration or a service view does not scan every instance of every
 * service.
 */
export const SERVICE_NAME_INDEX = 'service';
defineIndex<StoredService>(Tables.services, SERVICE_NAME_INDEX, (s) => s.Service);

export interface StoredNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
}

export interface StoredService {
  Node: string;
  Kind: ServiceKind;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses: Record<string, ServiceAddress>;
  Meta: Record<string, string>;
  Port: number;
  SocketPath: string;
  Weights: AgentWeights;
  EnableTagOverride: boolean;
  Proxy?: AgentServiceConnectProxyConfig;
  Connect?: AgentServiceConnect;
}

/**
 * A HealthCheck as stored: the wire type (api/types/health.ts, its one definition) with every field present,
 * without the Raft indexes the store keeps per row and the enterprise fields Meshgate does not serve.
 */
export type StoredCheck = Required<Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex' | 'Namespace' | 'Partition' | 'PeerName' | 'ServiceTags'>> & {
  ServiceTags: string[];
};

/** What a local agent keeps to run a check again after a restart. */
export interface StoredAgentCheck {
  /** `AliasService` set: an alias check, computed from the node's other checks instead of run (lib/checks/alias.ts). */
  Definition: CheckDefinition & { AliasService?: string };
}

export const serviceKey = (node: string, serviceId: string): string => `${node}/${serviceId}`;
export const checkKey = (node: string, checkId: string): string => `${node}/${checkId}`;
/** The prefix of every per-node row; rows are also matched on their `Node` field since names may contain '/'. */
export const nodePrefix = (node: string): string => `${node}/`;

/** Consul's reserved check IDs and names (agent/structs, api). */
export const SERF_CHECK_ID = 'serfHealth';
export const SERF_CHECK_NAME = 'Serf Health Status';
export const SERF_CHECK_ALIVE_OUTPUT = 'Agent alive and reachable';
export const NODE_MAINT_CHECK_ID = '_node_maintenance';
export const SERVICE_MAINT_PREFIX = '_service_maintenance:';
