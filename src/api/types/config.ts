/**
 * Configuration entries (`/v1/config`), intentions (`/v1/connect/intentions`, `/v1/agent/connect/authorize`) and the
 * compiled discovery chain (`/v1/discovery-chain`), with Consul's field names (api/config_entry*.go,
 * api/connect_intention.go, api/discovery_chain.go). An entry's kind-specific fields stay open: each kind has many,
 * and the server validates them.
 */

/** Any config entry as Consul returns it: Kind, Name, the kind's fields, and the Raft indexes. */
export interface ConfigEntry {
  Kind: string;
  Name: string;
  Namespace?: string;
  Partition?: string;
  Meta?: Record<string, string>;
  CreateIndex?: number;
  ModifyIndex?: number;
  [field: string]: unknown;
}

export interface IntentionHTTPHeaderPermission {
  Name: string;
  Present?: boolean;
  Exact?: string;
  Prefix?: string;
  Suffix?: string;
  Regex?: string;
  Invert?: boolean;
}

export interface IntentionPermission {
  Action: 'allow' | 'deny';
  HTTP?: {
    PathExact?: string;
    PathPrefix?: string;
    PathRegex?: string;
    Header?: IntentionHTTPHeaderPermission[];
    Methods?: string[];
  };
}

/** structs.Intention, the flat form of one source of a service-intentions entry. */
export interface Intention {
  ID: string;
  Description: string;
  SourceNS: string;
  SourceName: string;
  DestinationNS: string;
  DestinationName: string;
  SourcePartition?: string;
  DestinationPartition?: string;
  SourcePeer?: string;
  SourceType: string;
  Action?: 'allow' | 'deny' | '';
  Permissions?: IntentionPermission[];
  Meta: Record<string, string>;
  Precedence: number;
  CreatedAt?: string;
  UpdatedAt?: string;
  Hash?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What a client sends to create or update an intention. */
export interface IntentionInput {
  SourceName: string;
  DestinationName: string;
  SourceNS?: string;
  DestinationNS?: string;
  SourceType?: string;
  Action?: 'allow' | 'deny';
  Permissions?: IntentionPermission[];
  Description?: string;
  Meta?: Record<string, string>;
}

/** `POST /v1/agent/connect/authorize`. */
export interface ConnectAuthorizeRequest {
  Target: string;
  ClientCertURI: string;
  ClientCertSerial?: string;
}

export interface ConnectAuthorizeResponse {
  Authorized: boolean;
  Reason: string;
}

export interface DiscoveryGraphNode {
  Type: 'router' | 'splitter' | 'resolver';
  Name: string;
  Routes?: { Definition: unknown; NextNode: string }[];
  Splits?: { Definition: Record<string, unknown>; Weight: number; NextNode: string }[];
  Resolver?: {
    Default?: boolean;
    ConnectTimeout: string;
    /** time.Duration without a custom marshaller in Consul: nanoseconds. */
    RequestTimeout?: number;
    Target: string;
    Failover?: { Targets: string[]; Policy?: unknown };
  };
  LoadBalancer?: unknown;
}

export interface DiscoveryTarget {
  ID: string;
  Service: string;
  ServiceSubset?: string;
  Namespace: string;
  Partition: string;
  Datacenter: string;
  MeshGateway: { Mode?: string };
  Subset: { Filter?: string; OnlyPassing?: boolean };
  TransparentProxy: Record<string, never>;
  ConnectTimeout?: string;
  External?: boolean;
  SNI: string;
  Name: string;
}

export interface CompiledDiscoveryChain {
  ServiceName: string;
  Namespace: string;
  Partition: string;
  Datacenter: string;
  CustomizationHash?: string;
  Default?: boolean;
  Protocol: string;
  ServiceMeta?: Record<string, string>;
  StartNode: string;
  Nodes: Record<string, DiscoveryGraphNode>;
  Targets: Record<string, DiscoveryTarget>;
}

/** `POST /v1/discovery-chain/:service` body. */
export interface DiscoveryChainOverrides {
  OverrideConnectTimeout?: string;
  OverrideProtocol?: string;
  OverrideMeshGateway?: { Mode?: string };
}
