/**
 * Turning an agent registration (`PUT /v1/agent/service/register` body, or a `service` block from a file) into
 * local state, with Consul's agent rules: ID defaults to the name, check IDs default to `service:<id>` (and
 * `service:<id>:<n>` when there are several), check names to `Service '<name>' check`, durations in Go's form,
 * `connect { sidecar_service {} }` expanded into its own `connect-proxy` service (agent/sidecar_service.go:
 * `<id>-sidecar-proxy`, port from the sidecar range, tags and meta inherited, a TCP "Connect Sidecar Listening"
 * check and an alias of the parent). Everything is validated before anything is applied: a bad body changes nothing.
 */
import { checkKind, validateCheckDefinition, isCheckStatus, type CheckDefinition, type CheckStatus } from '../lib/checks/index.ts';
import { decodeDuration, formatDuration } from '../lib/duration.ts';
import { isMeshgateError } from '../lib/errors.ts';
import type { AgentCheckRegistration, AgentServiceCheck, AgentServiceRegistration, HealthCheckDefinition, ServiceKind } from '../api/types.ts';
import { pickSidecarPort, sidecarDefinitionProblem, sidecarId, sidecarRegistration, type PortsInUse } from '../api/sidecar-service.ts';
import { AgentErrors } from './errors.ts';
import type { NodeCheck, NodeService } from './local-state.ts';

const SERVICE_KINDS = new Set(['', 'typical', 'connect-proxy', 'mesh-gateway', 'terminating-gateway', 'ingress-gateway', 'api-gateway']);
const META_KEY = /^[a-zA-Z0-9_-]+$/;

export interface PreparedCheck {
  check: NodeCheck;
  def?: CheckDefinition;
  aliasService?: string;
}

export interface PreparedService {
  service: NodeService;
  checks: PreparedCheck[];
  /** The sidecar's own registration, when the service asks for one (expanded by the caller, who knows the ports in use). */
  sidecar?: AgentServiceRegistration;
}

export interface SidecarPorts {
  min: number;
  max: number;
  /** The ports local services already use (a sidecar keeps its own when it is re-registered). */
  used: (sidecarId: string) => PortsInUse;
}

/** Validates and converts a service registration. `node` fills the checks' Node. */
export function prepareService(reg: AgentServiceRegistration, node: string, enableScriptChecks: boolean): PreparedService {
  const r = reg as unknown as Record<string, unknown>;
  const name = optString(r, 'Name') ?? '';
  if (name === '') throw AgentErrors.invalid('Missing service name');
  const id = optString(r, 'ID') || name;
  const kind = optString(r, 'Kind') ?? '';
  if (!SERVICE_KINDS.has(kind)) throw AgentErrors.invalid(`Invalid service kind: ${JSON.stringify(kind)}`);
  const address = optString(r, 'Address') ?? '';
  if (address === '0.0.0.0' || address === '::' || address === '[::]') throw AgentErrors.invalid('Invalid service address');
  const port = optPort(r, 'Port');
  const tags = optStringList(r, 'Tags');
  const meta = optStringMap(r, 'Meta', 'Service');
  const weights = r.Weights === undefined || r.Weights === null ? { Passing: 1, Warning: 1 } : weightsOf(r.Weights);
  const tagged = r.TaggedAddresses ?? {};
  if (typeof tagged !== 'object' || tagged === null) throw AgentErrors.invalid('TaggedAddresses must be an object');
  const service: NodeService = {
    Kind: (kind === 'typical' ? '' : kind) as ServiceKind,
    ID: id,
    Service: name,
    Tags: tags,
    Meta: meta,
    Port: port,
    Address: address,
    SocketPath: optString(r, 'SocketPath') ?? '',
    TaggedAddresses: Object.fromEntries(Object.entries(tagged as Record<string, { Address?: string; Port?: number }>).map(([k, v]) => [k, { Address: v?.Address ?? '', Port: v?.Port ?? 0 }])),
    Weights: weights,
    EnableTagOverride: r.EnableTagOverride === true,
  };
  const proxy = r.Proxy;
  if (proxy !== undefined && proxy !== null) {
    if (typeof proxy !== 'object' || Array.isArray(proxy)) throw AgentErrors.invalid('Proxy must be an object');
    if (Object.keys(proxy).length > 0) service.Proxy = proxy as NodeService['Proxy'];
  }
  if (service.Kind === 'connect-proxy' && !service.Proxy?.DestinationServiceName) {
    throw AgentErrors.invalid('Validation failed: Proxy.DestinationServiceName must be non-empty for Connect proxy services');
  }
  if (service.Kind === 'connect-proxy' && service.Port === 0 && !service.SocketPath) {
    throw AgentErrors.invalid('Validation failed: Port or SocketPath must be set for a Connect proxy');
  }
  const connect = r.Connect as Record<string, unknown> | null | undefined;
  if (connect !== undefined && connect !== null && (typeof connect !== 'object' || Array.isArray(connect))) throw AgentErrors.invalid('Connect must be an object');
  if (connect?.Native === true) service.Connect = { Native: true };

  const raw = [...(r.Check ? [r.Check] : []), ...((r.Checks as unknown[] | null | undefined) ?? [])] as AgentServiceCheck[];
  const checks = raw.map((c, i) => {
    if (c === null || typeof c !== 'object') throw AgentErrors.invalid(`Checks[${i}] must be an object`);
    const checkId = c.CheckID || (c as { ID?: string }).ID || (raw.length > 1 ? `service:${id}:${i + 1}` : `service:${id}`);
    return prepareCheck({ ...c, CheckID: checkId, Name: c.Name || `Service '${name}' check`, ServiceID: id } as AgentCheckRegistration, node, enableScriptChecks);
  });
  const sidecar = connect?.SidecarService as AgentServiceRegistration | undefined | null;
  return { service, checks, ...(sidecar ? { sidecar } : {}) };
}

/**
 * The sidecar registration of `parent` (src/api/sidecar-service.ts, shared with the server's own agent), ready for
 * prepareService; a definition without a port gets one from the sidecar range, or fails when none is left.
 */
export function expandSidecar(parent: NodeService, sidecar: AgentServiceRegistration, ports: SidecarPorts): AgentServiceRegistration {
  const problem = sidecarDefinitionProblem(sidecar);
  if (problem) throw AgentErrors.invalid(`Validation failed: ${problem}`);
  let port = sidecar.Port ?? 0;
  if (port < 1) {
    const picked = pickSidecarPort(ports, ports.used(sidecarId(parent.ID)));
    if (picked === undefined) throw AgentErrors.sidecarPorts(ports.min, ports.max);
    port = picked;
  }
  return sidecarRegistration(parent, sidecar, port);
}

/** Validates and converts one check (service check or `PUT /v1/agent/check/register`). */
export function prepareCheck(reg: AgentCheckRegistration, node: string, enableScriptChecks: boolean): PreparedCheck {
  const r = reg as unknown as Record<string, unknown>;
  const name = optString(r, 'Name') ?? '';
  if (name === '') throw AgentErrors.invalid('Missing check name');
  const checkId = optString(r, 'CheckID') || optString(r, 'ID') || name;
  const status = optString(r, 'Status');
  if (status && !isCheckStatus(status)) throw AgentErrors.invalid("Status for checks must 'passing', 'warning', 'critical'");
  const serviceId = optString(r, 'ServiceID') ?? '';
  const base: NodeCheck = {
    Node: node, CheckID: checkId, Name: name, Status: (status || 'critical') as CheckStatus, Notes: optString(r, 'Notes') ?? '', Output: '',
    ServiceID: serviceId, ServiceName: '', ServiceTags: [], Type: '', Interval: '', Timeout: '', Definition: {},
  };
  const alias = optString(r, 'AliasService');
  if (alias) return { check: { ...base, Type: 'alias' }, aliasService: alias };

  const def: CheckDefinition = { CheckID: checkId, Name: name };
  if (serviceId) def.ServiceID = serviceId;
  if (status) def.Status = status as CheckStatus;
  const args = r.ScriptArgs ?? r.Args;
  if (Array.isArray(args) && args.length > 0) def.ScriptArgs = args as string[];
  const copy = def as unknown as Record<string, unknown>;
  for (const f of ['HTTP', 'Method', 'Body', 'TCP', 'GRPC', 'TLSServerName', 'UDP', 'H2PING', 'OSService', 'AliasNode', 'DockerContainerID'] as const) {
    if (r[f] !== undefined && r[f] !== '') copy[f] = r[f];
  }
  if (r.Header !== undefined && r.Header !== null) copy.Header = r.Header;
  for (const f of ['DisableRedirects', 'GRPCUseTLS', 'TLSSkipVerify'] as const) if (r[f] !== undefined) copy[f] = r[f];
  for (const f of ['Interval', 'Timeout', 'TTL', 'DeregisterCriticalServiceAfter'] as const) {
    if (r[f] === undefined || r[f] === null || r[f] === '') continue;
    try {
      copy[f] = decodeDuration(r[f], f);
    } catch (err) {
      throw AgentErrors.invalid(`Invalid check: ${isMeshgateError(err) ? err.message : String(err)}`);
    }
  }
  for (const f of ['SuccessBeforePassing', 'FailuresBeforeWarning', 'FailuresBeforeCritical', 'OutputMaxSize'] as const) if (r[f] !== undefined) copy[f] = r[f];
  try {
    validateCheckDefinition(def);
  } catch (err) {
    if (isMeshgateError(err) && err.statusCode === 400) throw AgentErrors.invalid(`Invalid check: ${err.message}`);
    throw err;
  }
  const kind = checkKind(def);
  if (kind === 'script' && !enableScriptChecks) {
    throw AgentErrors.invalid("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true");
  }
  const definition: HealthCheckDefinition = {};
  for (const f of ['HTTP', 'Header', 'Method', 'Body', 'TLSServerName', 'TLSSkipVerify', 'TCP', 'GRPC', 'GRPCUseTLS'] as const) {
    if (def[f] !== undefined) (definition as Record<string, unknown>)[f] = def[f];
  }
  if (def.Interval) definition.Interval = formatDuration(def.Interval);
  if (def.Timeout) definition.Timeout = formatDuration(def.Timeout);
  if (def.DeregisterCriticalServiceAfter) definition.DeregisterCriticalServiceAfter = formatDuration(def.DeregisterCriticalServiceAfter);
  return {
    def,
    check: {
      ...base,
      Type: kind,
      Interval: def.Interval ? formatDuration(def.Interval) : '',
      Timeout: def.Timeout ? formatDuration(def.Timeout) : '',
      Definition: definition,
    },
  };
}

function optString(r: Record<string, unknown>, f: string): string | undefined {
  const v = r[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw AgentErrors.invalid(`${f} must be a string`);
  return v;
}

function optPort(r: Record<string, unknown>, f: string): number {
  const v = r[f];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw AgentErrors.invalid(`Invalid service port: ${JSON.stringify(v)} (must be 0-65535)`);
  return v;
}

function optStringList(r: Record<string, unknown>, f: string): string[] {
  const v = r[f];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw AgentErrors.invalid(`${f} must be a list of strings`);
  return [...(v as string[])];
}

/** structs.ValidateServiceMetadata's rules, in its words. */
function optStringMap(r: Record<string, unknown>, f: string, kind: string): Record<string, string> {
  const v = r[f];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw AgentErrors.invalid(`${f} must be an object`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw AgentErrors.invalid(`${f}[${JSON.stringify(k)}] must be a string`);
    if (!META_KEY.test(k) || k.length > 128 || k.startsWith('consul-') || x.length > 512) {
      throw AgentErrors.invalid(`Invalid ${kind} Meta: Couldn't load metadata pair ('${k}', '${x}')`);
    }
    out[k] = x;
  }
  return out;
}

function weightsOf(v: unknown): { Passing: number; Warning: number } {
  const w = v as { Passing?: unknown; Warning?: unknown };
  const passing = w.Passing ?? 1;
  const warning = w.Warning ?? 1;
  if (typeof passing !== 'number' || !Number.isInteger(passing) || passing < 1) throw AgentErrors.invalid('Invalid Weights: Passing must be greater than 0');
  if (typeof warning !== 'number' || !Number.isInteger(warning) || warning < 0) throw AgentErrors.invalid('Invalid Weights: Warning must be greater or equal than 0');
  return { Passing: passing, Warning: warning };
}
