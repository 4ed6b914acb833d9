/** Agent endpoints' wire types: /v1/agent/self, members, services, checks and their registration bodies. */
import type { CheckStatus } from './common.ts';
import type { HealthCheck } from './health.ts';

/** The kind of a service; absent or "" is a typical service. */
export type ServiceKind = '' | 'connect-proxy' | 'mesh-gateway' | 'terminating-gateway' | 'ingress-gateway' | 'api-gateway';

export interface ServiceAddress {
  Address: string;
  Port: number;
}

export interface AgentWeights {
  Passing: number;
  Warning: number;
}

/** Connect proxy configuration, kept loose: the proxy part owns its shape. */
export interface AgentServiceConnectProxyConfig {
  DestinationServiceName?: string;
  DestinationServiceID?: string;
  LocalServiceAddress?: string;
  LocalServicePort?: number;
  LocalServiceSocketPath?: string;
  Mode?: string;
  TransparentProxy?: Record<string, unknown>;
  Config?: Record<string, unknown>;
  Upstreams?: Array<Record<string, unknown>>;
  MeshGateway?: Record<string, unknown>;
  Expose?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface AgentServiceConnect {
  Native?: boolean;
  SidecarService?: AgentServiceRegistration;
  [field: string]: unknown;
}

/** A service as the agent (and the catalog's node views) report it. */
export interface AgentService {
  Kind?: ServiceKind;
  ID: string;
  Service: string;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
  Port: number;
  Address: string;
  SocketPath?: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  Weights: AgentWeights;
  EnableTagOverride: boolean;
  CreateIndex?: number;
  ModifyIndex?: number;
  ContentHash?: string;
  Proxy?: AgentServiceConnectProxyConfig;
  Connect?: AgentServiceConnect;
  PeerName?: string;
  Namespace?: string;
  Partition?: string;
  Datacenter?: string;
}

/** `GET /v1/agent/health/service/id/:id` body. */
export interface AgentServiceChecksInfo {
  AggregatedStatus: string;
  Service: AgentService;
  Checks: HealthCheck[];
}

/** A check definition inside a service registration (`Check` / `Checks`) or a check registration. */
export interface AgentServiceCheck {
  CheckID?: string;
  Name?: string;
  /** Go's `Args` field; its JSON name is ScriptArgs. */
  ScriptArgs?: string[];
  DockerContainerID?: string;
  Shell?: string;
  Interval?: string;
  Timeout?: string;
  TTL?: string;
  HTTP?: string;
  Header?: Record<string, string[]>;
  Method?: string;
  Body?: string;
  DisableRedirects?: boolean;
  TCP?: string;
  UDP?: string;
  Status?: CheckStatus;
  Notes?: string;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  H2PING?: string;
  H2PingUseTLS?: boolean;
  AliasNode?: string;
  AliasService?: string;
  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;
  /** A Go duration; a critical check older than this deregisters its service. */
  DeregisterCriticalServiceAfter?: string;
}

/** `PUT /v1/agent/service/register` body. */
export interface AgentServiceRegistration {
  Kind?: ServiceKind;
  ID?: string;
  Name: string;
  Tags?: string[];
  Port?: number;
  Address?: string;
  SocketPath?: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  EnableTagOverride?: boolean;
  Meta?: Record<string, string>;
  Weights?: AgentWeights;
  Check?: AgentServiceCheck;
  Checks?: AgentServiceCheck[];
  Proxy?: AgentServiceConnectProxyConfig;
  Connect?: AgentServiceConnect;
  Namespace?: string;
  Partition?: string;
}

/** `PUT /v1/agent/check/register` body. */
export interface AgentCheckRegistration extends AgentServiceCheck {
  ID?: string;
  Name: string;
  Notes?: string;
  ServiceID?: string;
  Namespace?: string;
  Partition?: string;
}

/** `PUT /v1/agent/check/update/:check_id` body (TTL checks). */
export interface AgentCheckUpdate {
  Status: CheckStatus;
  Output?: string;
}

/**
 * A check as the agent reports it (`GET /v1/agent/checks` values): the same structs.HealthCheck the catalog holds,
 * so one type — HealthCheck — describes both.
 */
export type AgentCheck = HealthCheck;

/** Serf member status numbers. */
export const AgentMemberStatus = { None: 0, Alive: 1, Leaving: 2, Left: 3, Failed: 4 } as const;
export type AgentMemberStatus = (typeof AgentMemberStatus)[keyof typeof AgentMemberStatus];

/** `GET /v1/agent/members` element. */
export interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

/**
 * `GET /v1/agent/self`. Consul's own shape is a map of sections (Config, DebugConfig, Coord, Member, Meta, Stats,
 * xDS); the sections Meshgate fills are typed, the rest stay loose.
 */
export interface AgentSelf {
  Config: {
    Datacenter: string;
    NodeName: string;
    NodeID: string;
    Revision?: string;
    Server: boolean;
    Version: string;
    PrimaryDatacenter?: string;
    [field: string]: unknown;
  };
  DebugConfig?: Record<string, unknown>;
  Coord?: Record<string, unknown> | null;
  Member: AgentMember;
  Meta?: Record<string, string>;
  Stats?: Record<string, Record<string, string>>;
  [section: string]: unknown;
}

/** `GET /v1/agent/members` query options. */
export interface MembersOptions {
  wan?: boolean;
  segment?: string;
}

/** `PUT /v1/agent/service/register` query options. */
export interface ServiceRegisterOptions {
  /** `?replace-existing-checks`: checks absent from the definition are removed. */
  replaceExistingChecks?: boolean;
}
