/** `/v1/txn` wire types. Only the KV, node, service and check verbs Consul defines are listed. */
import type { AgentService } from './agent.ts';
import type { CatalogService, Node } from './catalog.ts';
import type { HealthCheck } from './health.ts';
import type { KVPair } from './kv.ts';

export const KVTxnVerbs = [
  'set', 'cas', 'lock', 'unlock', 'get', 'get-tree', 'check-index', 'check-session', 'check-not-exists',
  'delete', 'delete-tree', 'delete-cas',
] as const;
export type KVTxnVerb = (typeof KVTxnVerbs)[number];

export interface KVTxnOp {
  Verb: KVTxnVerb;
  Key: string;
  /** base64. */
  Value?: string;
  Flags?: number;
  Index?: number;
  Session?: string;
  Namespace?: string;
  Partition?: string;
}

export type CatalogTxnVerb = 'get' | 'set' | 'cas' | 'delete' | 'delete-cas';

export interface NodeTxnOp {
  Verb: CatalogTxnVerb;
  Node: Partial<Node> & { Node: string };
}

export interface ServiceTxnOp {
  Verb: CatalogTxnVerb;
  Node: string;
  Service: Partial<AgentService> & { ID: string };
}

export interface CheckTxnOp {
  Verb: CatalogTxnVerb;
  Check: Partial<HealthCheck> & { Node: string; CheckID: string };
}

/** One element of the `PUT /v1/txn` body: exactly one of the fields is set. */
export type TxnOp = { KV: KVTxnOp } | { Node: NodeTxnOp } | { Service: ServiceTxnOp } | { Check: CheckTxnOp };

export interface TxnResultEntry {
  KV?: KVPair;
  Node?: Node;
  Service?: CatalogService;
  Check?: HealthCheck;
}

export interface TxnError {
  OpIndex: number;
  What: string;
}

/** Body of a 200 (committed) or 409 (rolled back) answer. */
export interface TxnResult {
  Results: TxnResultEntry[] | null;
  Errors: TxnError[] | null;
}
