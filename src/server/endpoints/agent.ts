/**
 * /v1/agent/*: the server's own local agent (agent/agent_endpoint.go): self and members, the services and checks
 * registered with it (which live in the catalog under this server's node, their checks run by its CheckRunner),
 * TTL updates, maintenance modes, the aggregated local health of a service, and the metrics.
 *
 * ACLs as agent/agent_endpoint.go applies them: self and metrics need `agent:read` on this node; the service and
 * check lists keep what the token may read (a service check by its service's `service:read`, a node check by
 * `node:read`); one service or its health needs `service:read` on it; registering a service needs `service:write`
 * on it (and on the destination of a connect proxy); a check, its TTL updates and deregistration need
 * `service:write` on its service or `node:write` on this node for a node check; node maintenance needs
 * `node:write`; members keep the members the token has `node:read` on.
 */
import { SIDECAR_SUFFIX } from '../../api/sidecar-service.ts';
import type { AgentCheck, AgentMember, AgentSelf, AgentService, AgentServiceChecksInfo } from '../../api/types.ts';
import { isCheckStatus, type CheckStatus } from '../../lib/checks/index.ts';
import { Errors } from '../../lib/errors.ts';
import {
  CatalogErrors, Tables, getNode, listNodeServices, nodeChecks, nodePrefix, startLocalAgent,
} from '../catalog/index.ts';
import { AgentCheckSchema, AgentServiceSchema, CheckUpdateSchema } from '../catalog/decode.ts';
import { CONSUL_SERVICE_ID } from '../catalog/local-agent.ts';
import { boolParam, filterOf, parseGoBool } from '../catalog/params.ts';
import { NODE_MAINT_CHECK_ID, SERF_CHECK_ID, SERVICE_MAINT_PREFIX, serviceKey } from '../catalog/tables.ts';
import { agentCheckToWire, localServiceToWire } from '../catalog/wire.ts';
import type { ServerDeps } from '../deps.ts';
import { HealthCheckFields, NodeServiceFields } from '../filter/schemas.ts';
import { blockingQuery, parseQueryOptions, watchRevocationWhileWaiting } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiResponse, ApiRouter, RequestContext } from '../http/router.ts';
import type { StateStore } from '../store/state-store.ts';
import type { WatchSpec } from '../store/types.ts';
import { metricsResponse } from './agent-metrics.ts';
import { formatDuration } from '../../lib/duration.ts';
import { availableParallelism } from 'node:os';
import { SESSION_TTL_MIN_MS } from '../session/manager.ts';
import { VERSION_METADATA } from '../version.ts';
import { jsonBody } from './catalog.ts';
import { filterByAcl, filteredMeta, requirePermission } from '../acl/enforce.ts';
import type { Authorizer } from '../acl/authorizer.ts';
import type { StoredCheck } from '../catalog/tables.ts';
import { checkKey } from '../catalog/tables.ts';

/** Consul's CheckBufSize: TTL output beyond it is cut with a note. */
const CHECK_BUF_SIZE = 4 * 1024;

export async function registerAgentEndpoints(api: ApiRouter, deps: ServerDeps): Promise<void> {
  const agent = await startLocalAgent(deps);
  const { store } = deps;
  const id = deps.identity;
  const node = id.nodeName;
  const nodeWatches = [
    { table: Tables.services, prefix: nodePrefix(node) },
    { table: Tables.checks, prefix: nodePrefix(node) },
  ];

  // AgentSelf (agent/agent_endpoint.go): Config is the short summary; DebugConfig is the sanitized runtime config,
  // where clients read the ports (Nomad's fingerprint reads GRPCPort and ConnectEnabled), SessionTTLMin and the
  // version parts; Stats.build and Stats.runtime are the agent's Stats(). See version.ts for what Version says.
  api.get('/v1/agent/self', (ctx) => {
    requirePermission(ctx.authorizer(), 'agent', 'read', node);
    const meta = getNode(store, node)?.value.Meta ?? {};
    const ports = deps.ports();
    const body: AgentSelf = {
      Config: {
        Datacenter: id.datacenter,
        PrimaryDatacenter: id.datacenter,
        NodeName: node,
        NodeID: id.nodeId,
        Revision: '',
        Server: true,
        Version: id.version,
        BuildDate: BUILD_DATE,
      },
      DebugConfig: {
        Datacenter: id.datacenter,
        PrimaryDatacenter: id.datacenter,
        NodeName: node,
        NodeID: id.nodeId,
        ServerMode: true,
        Bootstrap: true,
        BootstrapExpect: 0,
        Version: id.version,
        VersionPrerelease: '',
        VersionMetadata: VERSION_METADATA,
        Revision: '',
        BuildDate: BUILD_DATE,
        DNSDomain: 'consul.',
        // Ports as Consul's RuntimeConfig names them; -1 is Consul's "disabled". No gRPC/xDS server and no Connect CA
        // yet, so GRPCPort is -1 and ConnectEnabled false: a client must not plan on Connect here.
        HTTPPort: ports.http,
        HTTPSPort: -1,
        DNSPort: ports.dns,
        GRPCPort: -1,
        GRPCTLSPort: -1,
        ServerPort: 8300,
        SerfPortLAN: 8301,
        SerfPortWAN: 8302,
        ConnectEnabled: false,
        ACLsEnabled: false,
        SessionTTLMin: formatDuration(SESSION_TTL_MIN_MS),
        UIConfig: { Enabled: false },
      },
      Coord: null,
      Member: member(deps),
      Meta: meta,
      Stats: {
        agent: { check_monitors: '0', check_ttls: '0', checks: String(agentChecks(store, node).length), services: String(agentServices(store, node).length) },
        build: { prerelease: '', revision: '', version: id.version, version_metadata: VERSION_METADATA },
        consul: { server: 'true', leader: String(store.isLeader), known_datacenters: '1', bootstrap: 'true' },
        raft: { applied_index: String(store.index), commit_index: String(store.index), state: store.isLeader ? 'Leader' : 'Follower' },
        runtime: {
          arch: goArch(process.arch), os: process.platform, version: `node${process.versions.node}`,
          cpu_count: String(availableParallelism()), max_procs: String(availableParallelism()), goroutines: '0',
        },
      },
      xDS: null,
    };
    return { body };
  });

  // AgentMembers: `?wan` lists the WAN pool, whose members are named `<node>.<dc>` on port 8302; a segment does not
  // apply to the WAN ("Cannot provide a segment with wan=true").
  api.get('/v1/agent/members', (ctx) => {
    const wan = (ctx.query.get('wan') ?? '') !== '';
    const segment = ctx.query.get('segment') ?? '';
    if (wan && segment !== '' && segment !== '_all') throw Errors.badRequest('Cannot provide a segment with wan=true');
    // Consul's filterMembers: a member is listed with `node:read` on its node name.
    const authz = ctx.authorizer();
    const readable = filterByAcl(authz, [wan ? wanMember(deps) : member(deps)], () => authz.nodeRead(node));
    return { body: readable.items, ...filteredMeta(readable.filtered, ctx.token, authz) };
  });

  api.get('/v1/agent/services', (ctx) => {
    const filter = filterOf(ctx.query, NodeServiceFields);
    return blockingQuery(ctx, store, {
      watches: nodeWatches,
      run: () => {
        const authz = ctx.authorizer();
        const out = Object.create(null) as Record<string, AgentService>; // keyed by client-chosen IDs
        let filtered = false;
        for (const s of agentServices(store, node)) {
          const wire = localServiceToWire(s, id.datacenter);
          if (filter && !filter(wire)) continue;
          if (!authz.serviceRead(s.value.Service)) filtered = true;
          else out[s.value.ID] = wire;
        }
        return { index: store.tableIndex(Tables.services), body: out, ...filteredMeta(filtered, ctx.token, authz) };
      },
    });
  });

  // Consul blocks this one on the service's content hash, not an index (agentLocalBlockingQuery in
  // agent/agent_endpoint.go): `?hash=<X-Consul-ContentHash>&wait=` holds until the definition hashes differently.
  api.get('/v1/agent/service/:id', async (ctx) => {
    const sid = ctx.params.id!;
    const read = () => {
      const row = sid === CONSUL_SERVICE_ID ? undefined : store.get<Parameters<typeof localServiceToWire>[0]['value']>(Tables.services, serviceKey(node, sid));
      if (!row) return { index: store.tableIndex(Tables.services), body: undefined, hash: '' };
      requirePermission(ctx.authorizer(), 'service', 'read', row.value.Service);
      const wire = localServiceToWire(row, id.datacenter);
      return { index: row.modifyIndex, body: wire, hash: wire.ContentHash ?? '' };
    };
    const watches = [{ table: Tables.services, key: serviceKey(node, sid) }];
    const hash = ctx.query.get('hash') ?? '';
    const res: ApiResponse & { hash?: string } = hash !== ''
      ? await hashBlocking(ctx, store, watches, hash, read)
      : await blockingQuery(ctx, store, { watches, run: read });
    if (res.body === undefined) throw CatalogErrors.serviceNotFound(sid);
    const { hash: contentHash = '', ...rest } = res;
    return { ...rest, headers: { ...rest.headers, 'X-Consul-ContentHash': contentHash } };
  });

  api.put('/v1/agent/service/register', async (ctx) => {
    const input = decodeBody(AgentServiceSchema, await jsonBody(ctx));
    vetServiceRegister(ctx.authorizer(), input);
    const sidecar = input.Connect?.SidecarService;
    if (sidecar) {
      // Consul vets the sidecar with the token it will be registered with: its own when it carries one.
      const authz = sidecar.Token ? deps.acl.resolve(sidecar.Token) : ctx.authorizer();
      vetServiceRegister(authz, { Name: sidecar.Name || `${input.Name ?? ''}${SIDECAR_SUFFIX}`, Kind: sidecar.Kind || 'connect-proxy', Proxy: { DestinationServiceName: input.Name } });
    }
    const replace = boolParam(ctx.query, 'replace-existing-checks', 'Invalid value for ?replace-existing-checks');
    await agent.registerService(input, replace);
    return { body: undefined };
  });

  // The service's own name decides; an unknown ID is left to the agent's own 404.
  const requireServiceWrite = (ctx: RequestContext, sid: string): void => {
    const row = store.get<{ Service: string }>(Tables.services, serviceKey(node, sid));
    if (row && sid !== CONSUL_SERVICE_ID) requirePermission(ctx.authorizer(), 'service', 'write', row.value.Service);
  };
  // Consul's vetCheckUpdateWithAuthorizer: a service check by its service, a node check by this node.
  const requireCheckWrite = (ctx: RequestContext, checkId: string): void => {
    const row = store.get<StoredCheck>(Tables.checks, checkKey(node, checkId));
    if (!row) return;
    if (row.value.ServiceID !== '') requirePermission(ctx.authorizer(), 'service', 'write', row.value.ServiceName);
    else requirePermission(ctx.authorizer(), 'node', 'write', node);
  };

  api.put('/v1/agent/service/deregister/:id', async (ctx) => {
    requireServiceWrite(ctx, ctx.params.id!);
    await agent.deregisterService(ctx.params.id!);
    return { body: undefined };
  });

  api.put('/v1/agent/service/maintenance/:id', async (ctx) => {
    const { enable, reason } = maintenanceParams(ctx);
    requireServiceWrite(ctx, ctx.params.id!);
    await agent.serviceMaintenance(ctx.params.id!, enable, reason);
    return { body: undefined };
  });

  api.put('/v1/agent/maintenance', async (ctx) => {
    const { enable, reason } = maintenanceParams(ctx);
    requirePermission(ctx.authorizer(), 'node', 'write', node);
    await agent.nodeMaintenance(enable, reason);
    return { body: undefined };
  });

  api.get('/v1/agent/checks', (ctx) => {
    const filter = filterOf(ctx.query, HealthCheckFields);
    return blockingQuery(ctx, store, {
      watches: [{ table: Tables.checks, prefix: nodePrefix(node) }],
      run: () => {
        const authz = ctx.authorizer();
        const out = Object.create(null) as Record<string, AgentCheck>; // keyed by client-chosen IDs
        let filtered = false;
        for (const c of agentChecks(store, node)) {
          const wire = agentCheckToWire(c);
          if (filter && !filter(wire)) continue;
          const readable = c.value.ServiceID !== '' ? authz.serviceRead(c.value.ServiceName) : authz.nodeRead(node);
          if (!readable) filtered = true;
          else out[c.value.CheckID] = wire;
        }
        return { index: store.tableIndex(Tables.checks), body: out, ...filteredMeta(filtered, ctx.token, authz) };
      },
    });
  });

  api.put('/v1/agent/check/register', async (ctx) => {
    const input = decodeBody(AgentCheckSchema, await jsonBody(ctx));
    // Consul's vetCheckRegisterWithAuthorizer: a service check needs write on its service, a node check on the node.
    const owner = input.ServiceID ? store.get<{ Service: string }>(Tables.services, serviceKey(node, input.ServiceID))?.value.Service : undefined;
    if (owner !== undefined) requirePermission(ctx.authorizer(), 'service', 'write', owner);
    else if (!input.ServiceID) requirePermission(ctx.authorizer(), 'node', 'write', node);
    await agent.registerCheck(input);
    return { body: undefined };
  });

  api.put('/v1/agent/check/deregister/:id', async (ctx) => {
    requireCheckWrite(ctx, ctx.params.id!);
    await agent.deregisterCheck(ctx.params.id!);
    return { body: undefined };
  });

  const ttl = (status: CheckStatus) => async (ctx: RequestContext): Promise<ApiResponse> => {
    requireCheckWrite(ctx, ctx.params.id!);
    await agent.updateTTL(ctx.params.id!, status, truncateOutput(ctx.query.get('note') ?? ''));
    return { body: undefined };
  };
  api.put('/v1/agent/check/pass/:id', ttl('passing'));
  api.put('/v1/agent/check/warn/:id', ttl('warning'));
  api.put('/v1/agent/check/fail/:id', ttl('critical'));

  api.put('/v1/agent/check/update/:id', async (ctx) => {
    const update = decodeBody(CheckUpdateSchema, await jsonBody(ctx));
    const status = update.Status ?? '';
    if (!isCheckStatus(status)) throw CatalogErrors.invalid(`Invalid check status: '${status}'`);
    requireCheckWrite(ctx, ctx.params.id!);
    await agent.updateTTL(ctx.params.id!, status, truncateOutput(update.Output ?? ''));
    return { body: undefined };
  });

  api.get('/v1/agent/health/service/id/:id', (ctx) => {
    const sid = ctx.params.id!;
    const text = wantsText(ctx);
    const row = sid === CONSUL_SERVICE_ID ? undefined : agentServices(store, node).find((s) => s.value.ID === sid);
    if (!row) {
      const reason = `ServiceId ${sid} not found`;
      if (text) return { status: 404, body: reason, text: true };
      return { status: 404, body: { AggregatedStatus: 'critical', Service: null, Checks: null } };
    }
    requirePermission(ctx.authorizer(), 'service', 'read', row.value.Service);
    const info = serviceHealth(store, node, id.datacenter, row);
    if (text) return { status: statusCode(info.AggregatedStatus), body: info.AggregatedStatus, text: true };
    return { status: statusCode(info.AggregatedStatus), body: info };
  });

  api.get('/v1/agent/health/service/name/:name', (ctx) => {
    const name = ctx.params.name!;
    const text = wantsText(ctx);
    requirePermission(ctx.authorizer(), 'service', 'read', name);
    const rows = agentServices(store, node).filter((s) => s.value.Service === name);
    if (rows.length === 0) {
      const reason = `ServiceName ${name} Not Found`;
      if (text) return { status: 404, body: reason, text: true };
      return { status: 404, body: [] };
    }
    const infos = rows.map((r) => serviceHealth(store, node, id.datacenter, r));
    let worst = infos[0]!;
    for (const i of infos) if (statusCode(i.AggregatedStatus) > statusCode(worst.AggregatedStatus)) worst = i;
    const code = statusCode(worst.AggregatedStatus);
    if (text) return { status: code, body: worst.AggregatedStatus, text: true };
    return { status: code, body: infos };
  });

  api.get('/v1/agent/metrics', (ctx) => {
    requirePermission(ctx.authorizer(), 'agent', 'read', node);
    return metricsResponse(deps.metrics.registry, ctx.query.get('format'));
  });
}

/**
 * Consul's vetServiceRegisterWithAuthorizer: `service:write` on the service, and for a connect proxy on the service
 * it fronts (a proxy registration speaks for its destination); a sidecar registered inline is such a proxy too.
 */
function vetServiceRegister(authz: Authorizer, input: { Name?: string | undefined; Kind?: string | undefined; Proxy?: unknown; Connect?: unknown }): void {
  requirePermission(authz, 'service', 'write', input.Name ?? '');
  const destination = (input.Proxy as { DestinationServiceName?: string } | undefined)?.DestinationServiceName;
  if (input.Kind === 'connect-proxy' && destination) requirePermission(authz, 'service', 'write', destination);
}

/**
 * Hash-based blocking (agentLocalBlockingQuery): answers at once when the current content hash differs from the
 * client's, else waits for a change to what `watches` covers until the hash differs or the wait (default 5 min, at
 * most 10, plus up to 1/16 jitter) runs out.
 */
async function hashBlocking<R extends { hash: string }>(
  ctx: RequestContext, store: StateStore, watches: readonly WatchSpec[], hash: string, read: () => R,
): Promise<R> {
  const { waitMs } = parseQueryOptions(ctx.query);
  let result = read();
  if (result.hash !== hash) return result;
  const deadline = AbortSignal.any([ctx.signal, AbortSignal.timeout(Math.round(waitMs + Math.random() * (waitMs / 16)))]);
  const revocation = watchRevocationWhileWaiting(ctx, deadline);
  try {
    while (!deadline.aborted) {
      await store.waitForChange(watches, store.index, revocation.signal);
      if (revocation.revoked()) return read();
      result = read();
      if (result.hash !== hash) break;
    }
  } finally {
    revocation.close();
  }
  return result;
}

/** Consul's build tag is `<version>:<revision>`; the revision slot carries Meshgate's version (see version.ts). */
function buildTag(id: ServerDeps['identity']): string {
  return `${id.version}:meshgate-${id.meshgateVersion}`;
}

function wanMember(deps: ServerDeps): AgentMember {
  const id = deps.identity;
  const lan = member(deps);
  // A server's WAN serf member: name `<node>.<dc>`, the WAN serf port, no segment tag.
  const { segment: _lanOnly, ...tags } = lan.Tags;
  return { ...lan, Name: `${id.nodeName}.${id.datacenter}`, Port: 8302, Tags: tags };
}

function member(deps: ServerDeps): AgentMember {
  const id = deps.identity;
  return {
    Name: id.nodeName,
    Addr: id.address,
    Port: 8301,
    Tags: {
      role: 'consul', dc: id.datacenter, id: id.nodeId, port: '8300', build: buildTag(id), vsn: '2', vsn_min: '2',
      vsn_max: '3', raft_vsn: '3', expect: '1', segment: '',
    },
    Status: 1,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}

/** Go's GOARCH names for Node's process.arch. */
function goArch(arch: string): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}

/** When this process started: Consul's BuildDate is RFC 3339; Meshgate runs from source, so it reports its start. */
const BUILD_DATE = new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** The agent's own services: this node's, without the `consul` service the server registers for itself. */
function agentServices(store: StateStore, node: string) {
  return listNodeServices(store, node).filter((s) => s.value.ID !== CONSUL_SERVICE_ID);
}

/** The agent's own checks: this node's, without `serfHealth`, which belongs to the cluster membership. */
function agentChecks(store: StateStore, node: string) {
  return nodeChecks(store, node).filter((c) => c.value.CheckID !== SERF_CHECK_ID);
}

function serviceHealth(store: StateStore, node: string, datacenter: string, row: ReturnType<typeof agentServices>[number]): AgentServiceChecksInfo {
  const checks = agentChecks(store, node).filter((c) => c.value.ServiceID === '' || c.value.ServiceID === row.value.ID);
  return {
    AggregatedStatus: aggregatedStatus(checks.map((c) => ({ id: c.value.CheckID, status: c.value.Status }))),
    Service: localServiceToWire(row, datacenter),
    Checks: checks.map((c) => {
      const wire = agentCheckToWire(c);
      return { ...wire, ServiceTags: wire.ServiceTags ?? [], CreateIndex: c.createIndex, ModifyIndex: c.modifyIndex };
    }),
  };
}

/** api.HealthChecks.AggregatedStatus: maintenance beats critical beats warning beats passing. */
export function aggregatedStatus(checks: ReadonlyArray<{ id: string; status: string }>): string {
  let warning = false;
  let critical = false;
  let maintenance = false;
  for (const c of checks) {
    if (c.id === NODE_MAINT_CHECK_ID || c.id.startsWith(SERVICE_MAINT_PREFIX)) {
      maintenance = true;
      continue;
    }
    if (c.status === 'passing') continue;
    if (c.status === 'warning') warning = true;
    else if (c.status === 'critical') critical = true;
    else return '';
  }
  if (maintenance) return 'maintenance';
  if (critical) return 'critical';
  if (warning) return 'warning';
  return 'passing';
}

function statusCode(status: string): number {
  switch (status) {
    case 'passing': return 200;
    case 'warning': return 429;
    default: return 503;
  }
}

/** Consul's returnTextPlain: `Accept: text/plain`, or `?format=text`. */
function wantsText(ctx: RequestContext): boolean {
  const accept = ctx.headers.accept;
  if (typeof accept === 'string' && accept.startsWith('text/plain')) return true;
  const format = ctx.query.get('format');
  return format !== null && format !== '' ? format === 'text' : false;
}

function maintenanceParams(ctx: RequestContext): { enable: boolean; reason: string } {
  if (!ctx.query.has('enable')) throw Errors.badRequest('Missing value for enable');
  const raw = ctx.query.get('enable') ?? '';
  const enable = parseGoBool(raw);
  if (enable === undefined) throw Errors.badRequest(`Invalid value for enable: ${JSON.stringify(raw)}`);
  return { enable, reason: ctx.query.get('reason') ?? '' };
}

function truncateOutput(output: string): string {
  const bytes = Buffer.from(output, 'utf8');
  if (bytes.length <= CHECK_BUF_SIZE) return output;
  return `${bytes.subarray(0, CHECK_BUF_SIZE).toString('utf8')} ... (captured ${CHECK_BUF_SIZE} of ${bytes.length} bytes)`;
}
