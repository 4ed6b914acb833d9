/**
 * /v1/operator/raft/configuration, /v1/operator/autopilot/{configuration,health,state} and /v1/operator/usage in
 * Consul's shapes (api/operator_raft.go, api/operator_autopilot.go, api/operator_usage.go; agent/operator_endpoint.go),
 * reporting the live replicas of ../operator/replicas.ts. Autopilot health answers 429 when a server is unhealthy,
 * as OperatorServerHealth does; here every listed replica is live, so it is 200.
 *
 * ACLs as agent/consul/operator_*_endpoint.go apply them: every read needs `operator:read`, the autopilot
 * configuration write `operator:write` (403 otherwise).
 */
import { z } from 'zod';
import { Tables, listNodes, listServices } from '../catalog/index.ts';
import { CONSUL_SERVICE_ID } from '../catalog/local-agent.ts';
import type { ServerDeps } from '../deps.ts';
import { blockingQuery, parseQueryOptions } from '../http/blocking.ts';
import { decodeBody } from '../http/decode.ts';
import type { ApiRouter } from '../http/router.ts';
import { liveReplicas, type Replica } from '../operator/replicas.ts';
import { Errors } from '../../lib/errors.ts';
import { jsonBody } from './catalog.ts';
import { requirePermission } from '../acl/enforce.ts';

export const AUTOPILOT_TABLE = 'autopilot-config';
const AUTOPILOT_KEY = 'config';

/** api.AutopilotConfiguration without the indexes; Consul's defaults (agent/config/default.go). */
interface AutopilotConfig {
  CleanupDeadServers: boolean;
  LastContactThreshold: string;
  MaxTrailingLogs: number;
  MinQuorum: number;
  ServerStabilizationTime: string;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
}
const DEFAULT_AUTOPILOT: AutopilotConfig = {
  CleanupDeadServers: true, LastContactThreshold: '200ms', MaxTrailingLogs: 250, MinQuorum: 0, ServerStabilizationTime: '10s',
  RedundancyZoneTag: '', DisableUpgradeMigration: false, UpgradeVersionTag: '',
};
const AutopilotSchema = z.object({
  CleanupDeadServers: z.boolean().optional(),
  LastContactThreshold: z.string().optional(),
  MaxTrailingLogs: z.number().int().nonnegative().optional(),
  MinQuorum: z.number().int().nonnegative().optional(),
  ServerStabilizationTime: z.string().optional(),
  RedundancyZoneTag: z.string().optional(),
  DisableUpgradeMigration: z.boolean().optional(),
  UpgradeVersionTag: z.string().optional(),
});

export function registerOperatorEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store } = deps;
  const dc = deps.identity.datacenter;
  /** When this server first saw each replica (autopilot's StableSince). */
  const firstSeen = new Map<string, string>();
  const stableSince = (r: Replica): string => {
    let at = firstSeen.get(r.ID);
    if (!at) firstSeen.set(r.ID, (at = new Date().toISOString()));
    return at;
  };

  api.get('/v1/operator/raft/configuration', async (ctx) => {
    requirePermission(ctx.authorizer(), 'operator', 'read');
    const replicas = await liveReplicas(deps);
    const Servers = replicas.map((r) => ({
      ID: r.ID, Node: r.Node, Address: r.Address, Leader: r.Leader, ProtocolVersion: '3', Voter: true, LastIndex: store.index,
    }));
    return { body: { Servers, Index: store.index }, index: store.index };
  });

  api.get('/v1/operator/autopilot/health', async (ctx) => {
    requirePermission(ctx.authorizer(), 'operator', 'read');
    const replicas = await liveReplicas(deps);
    const Servers = replicas.map((r) => ({
      ID: r.ID, Name: r.Node, Address: r.Address, SerfStatus: 'alive', Version: r.Version, Leader: r.Leader, LastContact: '0s',
      LastTerm: 1, LastIndex: store.index, Healthy: true, Voter: true, StableSince: stableSince(r),
    }));
    return { body: { Healthy: true, FailureTolerance: failureTolerance(replicas.length), Servers } };
  });

  api.get('/v1/operator/autopilot/state', async (ctx) => {
    requirePermission(ctx.authorizer(), 'operator', 'read');
    const replicas = await liveReplicas(deps);
    const Servers: Record<string, unknown> = {};
    for (const r of replicas) {
      Servers[r.ID] = {
        ID: r.ID, Name: r.Node, Address: r.Address, NodeStatus: 'alive', Version: r.Version, LastContact: '0s', LastTerm: 1,
        LastIndex: store.index, Healthy: true, StableSince: stableSince(r), ReadReplica: false, Status: r.Leader ? 'leader' : 'voter',
        Meta: { 'consul-network-segment': '' }, NodeType: 'voter',
      };
    }
    const tolerance = failureTolerance(replicas.length);
    return {
      body: {
        Healthy: true, FailureTolerance: tolerance, OptimisticFailureTolerance: tolerance, Servers,
        Leader: replicas.find((r) => r.Leader)?.ID ?? '', Voters: replicas.map((r) => r.ID),
      },
    };
  });

  api.get('/v1/operator/autopilot/configuration', (ctx) => {
    parseQueryOptions(ctx.query);
    requirePermission(ctx.authorizer(), 'operator', 'read');
    const row = store.get<AutopilotConfig>(AUTOPILOT_TABLE, AUTOPILOT_KEY);
    const body = row ? { ...row.value, CreateIndex: row.createIndex, ModifyIndex: row.modifyIndex } : { ...DEFAULT_AUTOPILOT, CreateIndex: 0, ModifyIndex: 0 };
    return { body, index: store.tableIndex(AUTOPILOT_TABLE) };
  });

  api.put('/v1/operator/autopilot/configuration', async (ctx) => {
    requirePermission(ctx.authorizer(), 'operator', 'write');
    const input = decodeBody(AutopilotSchema, await jsonBody(ctx));
    const casRaw = ctx.query.get('cas');
    let cas: number | undefined;
    if (casRaw !== null) {
      if (!/^\d+$/.test(casRaw)) throw Errors.badRequest(`Error parsing cas value: ${JSON.stringify(casRaw)}`);
      cas = Number(casRaw);
    }
    const { result } = await store.write((tx) => {
      const existing = tx.get<AutopilotConfig>(AUTOPILOT_TABLE, AUTOPILOT_KEY);
      if (cas !== undefined && (existing?.modifyIndex ?? 0) !== cas) return false;
      tx.put(AUTOPILOT_TABLE, AUTOPILOT_KEY, { ...DEFAULT_AUTOPILOT, ...input });
      return true;
    });
    // OperatorAutopilotConfiguration answers the CAS outcome only for a CAS request, else true.
    return { body: cas === undefined ? true : result };
  });

  api.get('/v1/operator/usage', (ctx) =>
    blockingQuery(ctx, store, {
      watches: [{ table: Tables.services }, { table: Tables.nodes }],
      run: () => {
        requirePermission(ctx.authorizer(), 'operator', 'read');
        const names = new Set<string>();
        const connect: Record<string, number> = {
          'api-gateway': 0, 'connect-native': 0, 'connect-proxy': 0, 'ingress-gateway': 0, 'mesh-gateway': 0, 'terminating-gateway': 0,
        };
        let instances = 0;
        let billable = 0;
        for (const row of listServices(store)) {
          const s = row.value;
          names.add(s.Service);
          instances++;
          if (s.Kind && s.Kind in connect) connect[s.Kind]!++;
          if (s.Connect?.Native) connect['connect-native']!++;
          // structs.ServiceUsage: billable leaves out connect proxies and the consul service itself.
          if (s.Kind !== 'connect-proxy' && s.ID !== CONSUL_SERVICE_ID) billable++;
        }
        const usage = {
          Services: names.size, ServiceInstances: instances, ConnectServiceInstances: connect, BillableServiceInstances: billable,
          Nodes: listNodes(store).length,
        };
        const index = store.tableIndex(Tables.services, Tables.nodes);
        return { index, body: { Usage: { [dc]: usage }, Index: index, LastContact: 0, KnownLeader: true, ConsistencyLevel: 'leader' } };
      },
    }),
  );
}

/** Raft's quorum arithmetic: how many voters may fail with the cluster still having a majority. */
function failureTolerance(voters: number): number {
  return Math.max(0, Math.floor((voters - 1) / 2));
}
