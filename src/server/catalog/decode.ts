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
const ConnectSchema = z.looseObject({
  Native: bool,
  // A ServiceDefinition inside the service's own: the agent endpoint expands it into the sidecar (local-agent.ts).
  get SidecarService() {
    return AgentServiceSchema.nullable().optional();
  },
});

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
  /** ServiceDefinition.Token: a nested SidecarService registers with its own token when it carries one. */
  Token: str,
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
/**
 * Longest node, service or check name or ID accepted, in UTF-8 bytes. Consul sets no hard limit: names longer than
 * a DNS label (63 bytes) only draw agent.validateService's "will not be discoverable via DNS due to it being too
 * long" warning. 512 keeps every such name (Kubernetes-generated ones included) and refuses 70 KB blobs that
 * would be copied into every catalog answer.
 */
export const MAX_NAME_BYTES = 512;

/**
 * Why `value` cannot be a node, service or check name or ID, or undefined. Characters Consul only warns about
 * (underscores, dots, non-ASCII) stay accepted; a control character (NUL, newline, ...) cannot be carried by DNS,
 * log lines or most clients and is refused, as is a name over MAX_NAME_BYTES.
 */
export function nameProblem(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  const bytes = Buffer.byteLength(value, 'utf8');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this looks for
  if (/[\u0000-\u001f\u007f]/.test(value)) return `Invalid ${what} ${quoteShort(value)}: contains a control character`;
  if (bytes > MAX_NAME_BYTES) return `Invalid ${what} ${quoteShort(value)}: longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

/** Why `port` is not a TCP/UDP port, or undefined (0 means "none", as in Consul). */
export function portProblem(port: number | undefined, what: string): string | undefined {
  if (port === undefined || (port >= 0 && port <= 65535)) return undefined;
  return `Invalid ${what} port: ${port} (must be 0-65535)`;
}

/** Throws MG_CATALOG_INVALID for the first bad name or port of a service definition (catalog or agent form). */
export function validateServiceNames(s: {
  name?: string | undefined;
  id?: string | undefined;
  port?: number | undefined;
  taggedAddresses?: Record<string, { Port?: number | undefined }> | null | undefined;
}): void {
  const problem = nameProblem(s.name, 'service name') ?? nameProblem(s.id, 'service ID') ?? portProblem(s.port, 'service');
  if (problem) throw CatalogErrors.invalid(problem);
  for (const [key, address] of Object.entries(s.taggedAddresses ?? {})) {
    const p = portProblem(address.Port, 'service');
    if (p) throw CatalogErrors.invalid(`${p} in TaggedAddresses[${JSON.stringify(key)}]`);
  }
}

/** Throws MG_CATALOG_INVALID for a bad check name or ID. */
export function validateCheckNames(c: { name?: string | undefined; id?: string | undefined; serviceId?: string | undefined }): void {
  const problem = nameProblem(c.name, 'check name') ?? nameProblem(c.id, 'check ID') ?? nameProblem(c.serviceId, 'service ID');
  if (problem) throw CatalogErrors.invalid(problem);
}

/** JSON-quoted, cut to 32 characters so a 70 KB name does not come back in full in the error. */
function quoteShort(value: string): string {
  const chars = [...value];
  return chars.length > 32 ? `${JSON.stringify(chars.slice(0, 32).join(''))}…` : JSON.stringify(value);
}

export function isAnyAddress(address: string | undefined): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]';
}

const SERVICE_KINDS = new Set(['', 'typical', 'connect-proxy', 'mesh-gateway', 'terminating-gateway', 'ingress-gateway', 'api-gateway']);

export function validServiceKind(kind: string | undefined): string {
  const k = kind ?? '';
  if (!SERVICE_KINDS.has(k)) throw CatalogErrors.invalid(`Invalid service kind: ${JSON.stringify(k)}`);
  return k === 'typical' ? '' : k;
}
