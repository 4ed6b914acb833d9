/**
 * The catalog's request bodies as zod schemas for `decodeBody` (Consul's PascalCase names; case-insensitive keys
 * and snake_case aliases are handled there), and the validations Consul applies after decoding, in its words:
 * structs.ValidateServiceMetadata / ValidateNodeMetadata, ValidateWeights, ipaddr.IsAny, CheckType.Validate (through
 * lib/checks' validateCheckDefinition).
 */
import { z } from 'zod';
import { goDuration, goMap } from '../http/decode.ts';
import { CatalogErrors } from './errors.ts';

const str = z.string().optional();
const bool = z.boolean().optional();
const int = z.number().int().optional();
const stringMap = goMap(z.string()).nullable().optional();
const stringList = z.array(z.string()).nullable().optional();

const ServiceAddressSchema = z.object({ Address: z.string().optional(), Port: z.number().int().optional() });
const WeightsSchema = z.object({ Passing: z.number().int().optional(), Warning: z.number().int().optional() });

const ProxySchema = z.looseObject({
  DestinationServiceName: str,
  DestinationServiceID: str,
  LocalServiceAddress: str,
  LocalServicePort: int,
  LocalServiceSocketPath: str,
  Mode: str,
  Config: goMap(z.unknown()).nullable().optional(),
  Upstreams: z.array(z.looseObject({
    DestinationType: str, DestinationNamespace: str, DestinationPartition: str, DestinationPeer: str,
    DestinationName: str, Datacenter: str, LocalBindAddress: str, LocalBindPort: int, LocalBindSocketPath: str,
  })).nullable().optional(),
  TransparentProxy: z.looseObject({ OutboundListenerPort: int, DialedDirectly: bool }).nullable().optional(),
  MeshGateway: z.looseObject({ Mode: str }).nullable().optional(),
  Expose: z.looseObject({ Checks: bool }).nullable().optional(),
});
const ConnectSchema = z.looseObject({ Native: bool });

/** structs.CheckType as the agent decodes it (a service's Check / Checks, and /v1/agent/check/register). */
export const AgentCheckSchema = z.object({
  ID: str,
  CheckID: str,
  Name: str,
  Notes: str,
  Status: str,
  ServiceID: str,
  ScriptArgs: stringList,
  Shell: str,
  DockerContainerID: str,
  HTTP: str,
  Header: goMap(z.array(z.string())).nullable().optional(),
  Method: str,
  Body: str,
  DisableRedirects: bool,
  TCP: str,
  UDP: str,
  GRPC: str,
  GRPCUseTLS: bool,
  H2PING: str,
  OSService: str,
  AliasNode: str,
  AliasService: str,
  TLSServerName: str,
  TLSSkipVerify: bool,
  Interval: goDuration().optional(),
  Timeout: goDuration().optional(),
  TTL: goDuration().optional(),
  DeregisterCriticalServiceAfter: goDuration().optional(),
  SuccessBeforePassing: int,
  FailuresBeforeWarning: int,
  FailuresBeforeCritical: int,
  OutputMaxSize: int,
});
export type AgentCheckInput = z.output<typeof AgentCheckSchema>;

/** The fields an agent service definition and a catalog NodeService share (they differ in Name/Service and checks). */
const serviceFields = {
  Kind: str,
  Tags: stringList,
  Address: str,
  TaggedAddresses: goMap(ServiceAddressSchema).nullable().optional(),
  Meta: stringMap,
  Port: int,
  SocketPath: str,
  Weights: WeightsSchema.nullable().optional(),
  EnableTagOverride: bool,
  Proxy: ProxySchema.nullable().optional(),
  Connect: ConnectSchema.nullable().optional(),
};

/** structs.ServiceDefinition: PUT /v1/agent/service/register. */
export const AgentServiceSchema = z.object({
  ...serviceFields,
  ID: str,
  Name: str,
  Check: AgentCheckSchema.nullable().optional(),
  Checks: z.array(AgentCheckSchema).nullable().optional(),
  Namespace: str,
  Partition: str,
});
export type AgentServiceInput = z.output<typeof AgentServiceSchema>;

/** structs.HealthCheckDefinition as sent in a catalog registration's check. */
const HealthCheckDefinitionSchema = z.object({
  HTTP: str,
  Header: goMap(z.array(z.string())).nullable().optional(),
  Method: str,
  Body: str,
  DisableRedirects: bool,
  TLSServerName: str,
  TLSSkipVerify: bool,
  TCP: str,
  GRPC: str,
  GRPCUseTLS: bool,
  Interval: goDuration().optional(),
  Timeout: goDuration().optional(),
  DeregisterCriticalServiceAfter: goDuration().optional(),
});

/** structs.HealthCheck in a catalog registration. */
export const CatalogCheckSchema = z.object({
  Node: str,
  CheckID: str,
  Name: str,
  Status: str,
  Notes: str,
  Output: str,
  ServiceID: str,
  ServiceName: str,
  Type: str,
  Definition: HealthCheckDefinitionSchema.nullable().optional(),
});
export type CatalogCheckInput = z.output<typeof CatalogCheckSchema>;

/** structs.NodeService in a catalog registration. */
export const CatalogServiceSchema = z.object({
  ...serviceFields,
  ID: str,
  Service: str,
});
export type CatalogServiceInput = z.output<typeof CatalogServiceSchema>;

/** structs.RegisterRequest: PUT /v1/catalog/register. */
export const CatalogRegisterSchema = z.object({
  ID: str,
  Node: str,
  Address: str,
  Datacenter: str,
  TaggedAddresses: stringMap,
  NodeMeta: stringMap,
  Service: CatalogServiceSchema.nullable().optional(),
  Check: CatalogCheckSchema.nullable().optional(),
  Checks: z.array(CatalogCheckSchema).nullable().optional(),
  SkipNodeUpdate: bool,
});

/** structs.DeregisterRequest: PUT /v1/catalog/deregister. */
export const CatalogDeregisterSchema = z.object({
  Node: str,
  Datacenter: str,
  ServiceID: str,
  CheckID: str,
});

/** PUT /v1/agent/check/update/:id. */
export const CheckUpdateSchema = z.object({ Status: str, Output: str });

// ---------------------------------------------------------------------------------------------------------------
// Consul's post-decode validation.

const META_KEY = /^[a-zA-Z0-9_-]+$/;
const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;

/** structs.validateMetadata: returns Consul's message or undefined. */
export function metadataProblem(meta: Record<string, string>, kind: 'Node' | 'Service'): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > META_MAX_PAIRS) return `${kind} metadata cannot contain more than ${META_MAX_PAIRS} key/value pairs`;
  for (const [key, value] of entries) {
    let problem: string | undefined;
    if (key === '') problem = 'Key cannot be blank';
    else if (!META_KEY.test(key)) problem = 'Key contains invalid characters';
    else if (key.length > META_KEY_MAX) problem = `Key is too long (limit: ${META_KEY_MAX} characters)`;
    else if (key.startsWith('consul-')) problem = "Key prefix 'consul-' is reserved for internal use";
    else if (value.length > META_VALUE_MAX) problem = `Value is too long (limit: ${META_VALUE_MAX} characters)`;
    if (problem) return `Couldn't load metadata pair ('${key}', '${value}'): ${problem}`;
  }
  return undefined;
}

/** structs.ValidateWeights. */
export function weightsProblem(w: { Passing?: number | undefined; Warning?: number | undefined }): string | undefined {
  if ((w.Passing ?? 0) < 1) return 'Passing must be greater than 0';
  if ((w.Warning ?? 0) < 0) return 'Warning must be greater or equal than 0';
  return undefined;
}

/** ipaddr.IsAny: the unspecified address cannot be a service's address. */
export function isAnyAddress(address: string | undefined): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]';
}

const SERVICE_KINDS = new Set(['', 'typical', 'connect-proxy', 'mesh-gateway', 'terminating-gateway', 'ingress-gateway', 'api-gateway']);

export function validServiceKind(kind: string | undefined): string {
  const k = kind ?? '';
  if (!SERVICE_KINDS.has(k)) throw CatalogErrors.invalid(`Invalid service kind: ${JSON.stringify(k)}`);
  return k === 'typical' ? '' : k;
}
