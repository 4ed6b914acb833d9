/** Catalog endpoints' wire types: nodes, service instances, registration and deregistration bodies. */
import type { AgentService, AgentServiceConnectProxyConfig, AgentWeights, ServiceAddress } from './agent.ts';
import type { HealthCheck } from './health.ts';

export interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  PeerName?: string;
  Partition?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `GET /v1/catalog/service/:name` element: one instance, flattened with its node. */
export interface CatalogService {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  NodeMeta: Record<string, string> | null;
  ServiceKind?: string;
  ServiceID: string;
  ServiceName: string;
  ServiceAddress: string;
  ServiceTaggedAddresses?: Record<string, ServiceAddress>;
  ServiceTags: string[] | null;
  ServiceMeta: Record<string, string> | null;
  ServicePort: number;
  ServiceSocketPath?: string;
  ServiceWeights: AgentWeights;
  ServiceEnableTagOverride: boolean;
  ServiceProxy?: AgentServiceConnectProxyConfig;
  ServiceConnect?: Record<string, unknown>;
  Namespace?: string;
  Partition?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `GET /v1/catalog/node/:node`; null (404 in newer Consul) when the node is unknown. */
export interface CatalogNode {
  Node: Node;
  Services: Record<string, AgentService>;
}

/** `GET /v1/catalog/node-services/:node`. */
export interface CatalogNodeServiceList {
  Node: Node;
  Services: AgentService[];
}

/** `GET /v1/catalog/services`: service name → tags. */
export type CatalogServices = Record<string, string[]>;

/** `PUT /v1/catalog/register` body. */
export interface CatalogRegistration {
  ID?: string;
  Node: string;
  Address: string;
  TaggedAddresses?: Record<string, string>;
  NodeMeta?: Record<string, string>;
  Datacenter?: string;
  Service?: Partial<AgentService> & { Service: string };
  Check?: Partial<HealthCheck>;
  Checks?: Array<Partial<HealthCheck>>;
  SkipNodeUpdate?: boolean;
  Namespace?: string;
  Partition?: string;
}

/** `PUT /v1/catalog/deregister` body: the node alone, or one of its services or checks. */
export interface CatalogDeregistration {
  Node: string;
  Datacenter?: string;
  ServiceID?: string;
  CheckID?: string;
  Namespace?: string;
  Partition?: string;
}
