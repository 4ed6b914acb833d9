/**
 * Catalog registration requests (PUT /v1/catalog/register) turned into a validated `Registration`, with the
 * checks Consul's Catalog.Register RPC and its state store make, in their words and order.
 */
import { formatDuration, parseDuration } from '../../lib/duration.ts';
import { isCheckStatus, type CheckDefinition } from '../../lib/checks/index.ts';
import type { HealthCheckDefinition } from '../../api/types.ts';
import type { z } from 'zod';
import { connectProxyProblem } from '../connect/proxy-registration.ts';
import { CatalogErrors } from './errors.ts';
import {
  isAnyAddress, metadataProblem, nameProblem, validateCheckNames, validateServiceNames, validServiceKind, weightsProblem,
  type CatalogCheckInput, type CatalogRegisterSchema,
} from './decode.ts';
import type { Registration } from './state.ts';
import type { StoredCheck, StoredService } from './tables.ts';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function catalogRegistration(req: z.output<typeof CatalogRegisterSchema>, datacenter: string): Registration {
  const node = req.Node ?? '';
  if (node === '') throw CatalogErrors.invalid('Must provide node');
  const nodeProblem = nameProblem(node, 'node name');
  if (nodeProblem) throw CatalogErrors.invalid(nodeProblem);
  if (!req.Address && !req.SkipNodeUpdate) throw CatalogErrors.invalid('Must provide address if SkipNodeUpdate is not set');
  if (req.ID && !UUID.test(req.ID)) throw CatalogErrors.invalid(`Bad node ID: uuid string is wrong length or has invalid characters: ${req.ID}`);
  if (req.Datacenter && req.Datacenter !== datacenter) {
    throw CatalogErrors.invalid(`No path to datacenter: ${req.Datacenter}`);
  }
  const nodeMeta = req.NodeMeta ?? {};
  const metaProblem = metadataProblem(nodeMeta, 'Node');
  if (metaProblem) throw CatalogErrors.invalid(`Invalid node metadata: ${metaProblem}`);

  let service: Registration['service'];
  if (req.Service) {
    const s = req.Service;
    const name = s.Service ?? '';
    const id = s.ID || name;
    if (id !== '' && name === '') throw CatalogErrors.invalid('Must provide service name (Service.Service) with ID (Service.ID)');
    if (name === '') throw CatalogErrors.invalid('Must provide service name (Service.Service) with ID (Service.ID)');
    if (isAnyAddress(s.Address)) throw CatalogErrors.invalid('Invalid service address');
    validateServiceNames({ name, id, port: s.Port, taggedAddresses: s.TaggedAddresses });
    const meta = s.Meta ?? {};
    const mp = metadataProblem(meta, 'Service');
    if (mp) throw CatalogErrors.invalid(`Invalid Service Meta: ${mp}`);
    const proxyProblem = connectProxyProblem(s);
    if (proxyProblem) throw CatalogErrors.invalid(proxyProblem);
    const weights = { Passing: s.Weights?.Passing ?? 1, Warning: s.Weights?.Warning ?? 1 };
    if (s.Weights) {
      const wp = weightsProblem(s.Weights);
      if (wp) throw CatalogErrors.invalid(`Invalid Weights: ${wp}`);
    }
    service = {
      Kind: validServiceKind(s.Kind) as StoredService['Kind'],
      ID: id,
      Service: name,
      Tags: s.Tags ?? [],
      Address: s.Address ?? '',
      TaggedAddresses: taggedServiceAddresses(s.TaggedAddresses),
      Meta: meta,
      Port: s.Port ?? 0,
      SocketPath: s.SocketPath ?? '',
      Weights: weights,
      EnableTagOverride: s.EnableTagOverride ?? false,
      ...(s.Proxy && Object.keys(s.Proxy).length > 0 ? { Proxy: s.Proxy as StoredService['Proxy'] } : {}),
      ...(s.Connect && Object.keys(s.Connect).length > 0 ? { Connect: s.Connect as StoredService['Connect'] } : {}),
    };
  }

  const inputs = [...(req.Checks ?? [])];
  if (req.Check) inputs.push(req.Check);
  const checks = inputs.map((c) => catalogCheck(c, node));
  return {
    node: {
      ID: req.ID ?? '',
      Node: node,
      Address: req.Address ?? '',
      Datacenter: datacenter,
      TaggedAddresses: req.TaggedAddresses ?? {},
      Meta: nodeMeta,
    },
    skipNodeUpdate: req.SkipNodeUpdate ?? false,
    ...(service ? { service } : {}),
    checks,
  };
}

function catalogCheck(c: CatalogCheckInput, node: string): Registration['checks'][number] {
  if (c.Node && c.Node !== node) throw CatalogErrors.invalid(`Check node ${JSON.stringify(c.Node)} does not match node ${JSON.stringify(node)}`);
  const checkId = c.CheckID || c.Name || '';
  if (checkId === '') throw CatalogErrors.invalid('Missing check ID');
  validateCheckNames({ id: checkId, name: c.Name, serviceId: c.ServiceID });
  const status = c.Status || 'critical';
  if (!isCheckStatus(status)) throw CatalogErrors.invalid(`Invalid check status: ${JSON.stringify(status)}`);
  const def = c.Definition ?? {};
  const definition = wireDefinition({
    ...(def.HTTP ? { HTTP: def.HTTP } : {}),
    ...(def.Header ? { Header: def.Header } : {}),
    ...(def.Method ? { Method: def.Method } : {}),
    ...(def.Body ? { Body: def.Body } : {}),
    ...(def.DisableRedirects ? { DisableRedirects: def.DisableRedirects } : {}),
    ...(def.TLSServerName ? { TLSServerName: def.TLSServerName } : {}),
    ...(def.TLSSkipVerify ? { TLSSkipVerify: def.TLSSkipVerify } : {}),
    ...(def.TCP ? { TCP: def.TCP } : {}),
    ...(def.GRPC ? { GRPC: def.GRPC } : {}),
    ...(def.GRPCUseTLS ? { GRPCUseTLS: def.GRPCUseTLS } : {}),
    ...(def.Interval !== undefined ? { Interval: def.Interval } : {}),
    ...(def.Timeout !== undefined ? { Timeout: def.Timeout } : {}),
    ...(def.DeregisterCriticalServiceAfter !== undefined ? { DeregisterCriticalServiceAfter: def.DeregisterCriticalServiceAfter } : {}),
  });
  return {
    CheckID: checkId,
    Name: c.Name ?? '',
    Status: status,
    Notes: c.Notes ?? '',
    Output: c.Output ?? '',
    ServiceID: c.ServiceID ?? '',
    Type: c.Type ?? '',
    Interval: definition.Interval as string,
    Timeout: definition.Timeout as string,
    ExposedPort: 0,
    Definition: definition,
  };
}

function taggedServiceAddresses(input: Record<string, { Address?: string | undefined; Port?: number | undefined }> | null | undefined): StoredService['TaggedAddresses'] {
  const out = Object.create(null) as StoredService['TaggedAddresses']; // keyed by the client
  for (const [k, v] of Object.entries(input ?? {})) out[k] = { Address: v.Address ?? '', Port: v.Port ?? 0 };
  return out;
}

/**
 * A check definition (durations in ms) in the catalog's form: durations as Go strings, as Consul's
 * HealthCheckDefinition marshals them.
 */
export function wireDefinition(def: Partial<Pick<CheckDefinition, 'HTTP' | 'Header' | 'Method' | 'Body' | 'DisableRedirects' | 'TLSServerName' | 'TLSSkipVerify' | 'TCP' | 'GRPC' | 'GRPCUseTLS' | 'Interval' | 'Timeout' | 'DeregisterCriticalServiceAfter'>>): HealthCheckDefinition {
  const { Interval, Timeout, DeregisterCriticalServiceAfter, ...rest } = def;
  return {
    ...rest,
    Interval: formatDuration(Interval ?? 0),
    Timeout: formatDuration(Timeout ?? 0),
    DeregisterCriticalServiceAfter: formatDuration(DeregisterCriticalServiceAfter ?? 0),
  };
}

/**
 * The runnable definition behind a catalog check, for checks the server runs itself (external nodes); undefined
 * when the check has no HTTP/TCP/gRPC probe with an interval (TTL-less catalog checks are set by their writer).
 */
export function runnableDefinition(check: StoredCheck, checkId: string, serviceId: string): CheckDefinition | undefined {
  const d = check.Definition;
  const interval = durationOf(d.Interval);
  if (!interval || interval <= 0) return undefined;
  if (!d.HTTP && !d.TCP && !d.GRPC) return undefined;
  const out: CheckDefinition = { CheckID: checkId, Name: check.Name, Status: check.Status, Interval: interval };
  if (serviceId) out.ServiceID = serviceId;
  if (d.HTTP) out.HTTP = d.HTTP;
  else if (d.TCP) out.TCP = d.TCP;
  else if (d.GRPC) out.GRPC = d.GRPC;
  if (d.Header) out.Header = d.Header;
  if (d.Method) out.Method = d.Method;
  if (d.Body) out.Body = d.Body;
  if (d.TLSServerName) out.TLSServerName = d.TLSServerName;
  if (d.TLSSkipVerify) out.TLSSkipVerify = d.TLSSkipVerify;
  if (d.GRPCUseTLS) out.GRPCUseTLS = d.GRPCUseTLS;
  const timeout = durationOf(d.Timeout);
  if (timeout) out.Timeout = timeout;
  const dcsa = durationOf(d.DeregisterCriticalServiceAfter);
  if (dcsa) out.DeregisterCriticalServiceAfter = dcsa;
  return out;
}

function durationOf(v: unknown): number | undefined {
  // Stored durations were written by formatDuration, so they always parse.
  if (typeof v !== 'string' || v === '') return undefined;
  return parseDuration(v);
}
