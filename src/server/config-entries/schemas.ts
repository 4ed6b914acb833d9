/**
 * The shapes of Consul's configuration entry kinds, field for field with Consul's names (agent/structs
 * config_entry.go, config_entry_discoverychain.go, config_entry_intentions.go, config_entry_mesh.go,
 * config_entry_gateways.go; Community Edition: Namespace and Partition are accepted but only "default" exists).
 * These schemas check types only; the per-kind rules Consul's `Validate` applies live in `validate.ts`.
 * Durations (Go time.Duration) are accepted as "10s" or as nanoseconds and kept in Go's text form ("1m0s").
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../../lib/duration.ts';

/** A Go time.Duration: text ("15s") or nanoseconds; stored as Go's Duration.String() text. */
const duration = z.union([z.string(), z.number()]).transform((v, ctx): string => {
  if (typeof v === 'number') return formatDuration(v / 1e6);
  try {
    return formatDuration(parseDuration(v));
  } catch {
    ctx.addIssue({ code: 'custom', message: `time: invalid duration ${JSON.stringify(v)}` });
    return z.NEVER;
  }
});

const str = z.string().optional();
const bool = z.boolean().optional();
const int = z.number().int().optional();
const strings = z.array(z.string()).optional();
const meta = z.record(z.string(), z.string()).optional();
const ent = { Namespace: str, Partition: str };

const MeshGateway = z.object({ Mode: str }).optional();
const TransparentProxy = z.object({ OutboundListenerPort: int, DialedDirectly: bool }).optional();
const Expose = z.object({
  Checks: bool,
  Paths: z.array(z.object({ ListenerPort: int, Path: str, LocalPathPort: int, Protocol: str })).optional(),
}).optional();
const EnvoyExtensions = z.array(z.object({
  Name: str, Required: bool, Arguments: z.record(z.string(), z.unknown()).optional(), ConsulVersion: str, EnvoyVersion: str,
})).optional();
const PassiveHealthCheck = z.object({
  Interval: duration.optional(), MaxFailures: int, EnforcingConsecutive5xx: int, MaxEjectionPercent: int, BaseEjectionTime: duration.optional(),
}).optional();
const HeaderModifiers = z.object({
  Add: meta, Set: meta, Remove: strings,
}).optional();

export const UpstreamConfigSchema = z.object({
  Name: str, ...ent, Peer: str,
  EnvoyListenerJSON: str, EnvoyClusterJSON: str, Protocol: str, ConnectTimeoutMs: int,
  Limits: z.object({ MaxConnections: int, MaxPendingRequests: int, MaxConcurrentRequests: int }).optional(),
  PassiveHealthCheck, MeshGateway, BalanceOutboundConnections: str,
});

export const ServiceDefaultsSchema = z.object({
  Kind: str, Name: str, ...ent,
  Protocol: str, Mode: str, TransparentProxy, MutualTLSMode: str, MeshGateway, Expose, ExternalSNI: str,
  UpstreamConfig: z.object({ Overrides: z.array(UpstreamConfigSchema).optional(), Defaults: UpstreamConfigSchema.optional() }).optional(),
  Destination: z.object({ Addresses: strings, Port: int }).optional(),
  MaxInboundConnections: int, LocalConnectTimeoutMs: int, LocalRequestTimeoutMs: int, BalanceInboundConnections: str,
  RateLimits: z.record(z.string(), z.unknown()).optional(),
  EnvoyExtensions, Meta: meta,
});

export const ProxyDefaultsSchema = z.object({
  Kind: str, Name: str, ...ent,
  Config: z.record(z.string(), z.unknown()).optional(),
  Mode: str, TransparentProxy, MutualTLSMode: str, MeshGateway, Expose,
  AccessLogs: z.object({
    Enabled: bool, DisableListenerLogs: bool, Type: str, Path: str, JSONFormat: str, TextFormat: str,
  }).optional(),
  FailoverPolicy: z.object({ Mode: str, Regions: strings }).optional(),
  PrioritizeByLocality: z.object({ Mode: str }).optional(),
  EnvoyExtensions, Meta: meta,
});

const TLSDirection = z.object({ TLSMinVersion: str, TLSMaxVersion: str, CipherSuites: strings }).optional();

export const MeshSchema = z.object({
  Kind: str, Name: str, ...ent,
  TransparentProxy: z.object({ MeshDestinationsOnly: bool }).optional(),
  AllowEnablingPermissiveMutualTLS: bool,
  ValidateClusters: bool,
  TLS: z.object({ Incoming: TLSDirection, Outgoing: TLSDirection }).optional(),
  HTTP: z.object({ SanitizeXForwardedClientCert: bool, Incoming: z.record(z.string(), z.unknown()).optional() }).optional(),
  Peering: z.object({ PeerThroughMeshGateways: bool }).optional(),
  Meta: meta,
});

const HeaderMatch = z.object({ Name: str, Present: bool, Exact: str, Prefix: str, Suffix: str, Regex: str, Invert: bool });
const HTTPMatch = z.object({
  PathExact: str, PathPrefix: str, PathRegex: str,
  Header: z.array(HeaderMatch).optional(),
  QueryParam: z.array(z.object({ Name: str, Present: bool, Exact: str, Regex: str })).optional(),
  Methods: strings,
});

export const ServiceRouterSchema = z.object({
  Kind: str, Name: str, ...ent,
  Routes: z.array(z.object({
    Match: z.object({ HTTP: HTTPMatch.optional() }).optional(),
    Destination: z.object({
      Service: str, ServiceSubset: str, ...ent, PrefixRewrite: str,
      RequestTimeout: duration.optional(), IdleTimeout: duration.optional(),
      NumRetries: int, RetryOnConnectFailure: bool, RetryOn: strings, RetryOnStatusCodes: z.array(z.number().int()).optional(),
      RequestHeaders: HeaderModifiers, ResponseHeaders: HeaderModifiers,
    }).optional(),
  })).optional(),
  Meta: meta,
});

export const ServiceSplitterSchema = z.object({
  Kind: str, Name: str, ...ent,
  Splits: z.array(z.object({
    Weight: z.number().optional(), Service: str, ServiceSubset: str, ...ent,
    RequestHeaders: HeaderModifiers, ResponseHeaders: HeaderModifiers,
  })).optional(),
  Meta: meta,
});

const FailoverTarget = z.object({ Service: str, ServiceSubset: str, ...ent, Datacenter: str, Peer: str });

export const ServiceResolverSchema = z.object({
  Kind: str, Name: str, ...ent,
  DefaultSubset: str,
  Subsets: z.record(z.string(), z.object({ Filter: str, OnlyPassing: bool })).optional(),
  Redirect: z.object({ Service: str, ServiceSubset: str, ...ent, Datacenter: str, Peer: str, SamenessGroup: str }).optional(),
  Failover: z.record(z.string(), z.object({
    Service: str, ServiceSubset: str, Namespace: str, Datacenters: strings, Targets: z.array(FailoverTarget).optional(),
    Policy: z.object({ Mode: str, Regions: strings }).optional(), SamenessGroup: str,
  })).optional(),
  ConnectTimeout: duration.optional(),
  RequestTimeout: duration.optional(),
  PrioritizeByLocality: z.object({ Mode: str }).optional(),
  LoadBalancer: z.object({
    Policy: str,
    RingHashConfig: z.object({ MinimumRingSize: int, MaximumRingSize: int }).optional(),
    LeastRequestConfig: z.object({ ChoiceCount: int }).optional(),
    HashPolicies: z.array(z.object({
      Field: str, FieldValue: str, SourceIP: bool, Terminal: bool,
      CookieConfig: z.object({ Session: bool, TTL: duration.optional(), Path: str }).optional(),
    })).optional(),
  }).optional(),
  Meta: meta,
});

const IntentionHTTPPermission = z.object({
  PathExact: str, PathPrefix: str, PathRegex: str,
  Header: z.array(HeaderMatch).optional(),
  Methods: strings,
});

export const IntentionPermissionSchema = z.object({
  Action: str,
  HTTP: IntentionHTTPPermission.optional(),
});

export const SourceIntentionSchema = z.object({
  Name: str, ...ent, Peer: str, SamenessGroup: str,
  Action: str,
  Permissions: z.array(IntentionPermissionSchema).optional(),
  Precedence: int,
  LegacyID: str,
  Type: str,
  Description: str,
  LegacyMeta: meta,
  LegacyCreateTime: str,
  LegacyUpdateTime: str,
});

export const ServiceIntentionsSchema = z.object({
  Kind: str, Name: str, ...ent,
  Sources: z.array(SourceIntentionSchema).optional(),
  JWT: z.record(z.string(), z.unknown()).optional(),
  Meta: meta,
});

const GatewayTLS = z.object({
  Enabled: bool, TLSMinVersion: str, TLSMaxVersion: str, CipherSuites: strings,
  SDS: z.object({ ClusterName: str, CertResource: str }).optional(),
});

export const IngressGatewaySchema = z.object({
  Kind: str, Name: str, ...ent,
  TLS: GatewayTLS.optional(),
  Listeners: z.array(z.object({
    Port: int, Protocol: str,
    Services: z.array(z.object({
      Name: str, ...ent, Hosts: strings,
      TLS: z.object({ SDS: z.object({ ClusterName: str, CertResource: str }).optional() }).optional(),
      RequestHeaders: HeaderModifiers, ResponseHeaders: HeaderModifiers,
      MaxConnections: int, MaxPendingRequests: int, MaxConcurrentRequests: int, PassiveHealthCheck,
      Meta: meta,
    })).optional(),
    TLS: GatewayTLS.optional(),
  })).optional(),
  Defaults: z.object({ MaxConnections: int, MaxPendingRequests: int, MaxConcurrentRequests: int, PassiveHealthCheck }).optional(),
  Meta: meta,
});

export const TerminatingGatewaySchema = z.object({
  Kind: str, Name: str, ...ent,
  Services: z.array(z.object({ Name: str, ...ent, CAFile: str, CertFile: str, KeyFile: str, SNI: str, DisableAutoHostRewrite: bool })).optional(),
  Meta: meta,
});

export type ServiceDefaultsEntry = z.output<typeof ServiceDefaultsSchema>;
export type ProxyDefaultsEntry = z.output<typeof ProxyDefaultsSchema>;
export type MeshEntry = z.output<typeof MeshSchema>;
export type ServiceRouterEntry = z.output<typeof ServiceRouterSchema>;
export type ServiceSplitterEntry = z.output<typeof ServiceSplitterSchema>;
export type ServiceResolverEntry = z.output<typeof ServiceResolverSchema>;
export type ServiceIntentionsEntry = z.output<typeof ServiceIntentionsSchema>;
export type SourceIntentionEntry = z.output<typeof SourceIntentionSchema>;
export type IngressGatewayEntry = z.output<typeof IngressGatewaySchema>;
export type TerminatingGatewayEntry = z.output<typeof TerminatingGatewaySchema>;
