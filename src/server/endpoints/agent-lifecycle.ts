/**
 * The agent's host, version and membership endpoints, answered as a single Consul server agent answers them
 * (agent/agent_endpoint.go: AgentHost, AgentVersion, AgentReload, AgentLeave, AgentJoin, AgentForceLeave):
 *
 * - `host` is debug.CollectHostInfo's shape (gopsutil's lower-camel fields) from node:os;
 * - `reload` answers 200: the server's configuration comes from its command line, which a reload cannot change;
 * - `leave` answers 200 and the server keeps serving: there is no gossip pool to leave (stop the process to
 *   leave a store shared with other replicas; its election lease lapses);
 * - `join/:addr` succeeds for this server's own address (a join to oneself), and otherwise fails as a failed serf
 *   join does, naming why: Meshgate servers join each other through the shared store (`--store etcd`);
 * - `force-leave/:node` is a no-op for a live member, as serf's RemoveFailedNode is for an alive node; for a
 *   server node whose replica is gone it removes that node from the catalog (Consul's reaping of a left server);
 *   an unknown node is Consul's "agent: No node found with name".
 */
import { cpus, freemem, hostname, platform, release, arch, totalmem, uptime, version as osVersion } from 'node:os';
import { statfsSync } from 'node:fs';
import { catalogWrite, getNode, Tables, serviceKey } from '../catalog/index.ts';
import { CONSUL_SERVICE_ID } from '../catalog/local-agent.ts';
import type { ServerDeps } from '../deps.ts';
import type { ApiRouter } from '../http/router.ts';
import { liveReplicas, RAFT_PORT } from '../operator/replicas.ts';
import { defineError } from '../../lib/errors.ts';
import { VERSION_METADATA } from '../version.ts';
import { requirePermission } from '../acl/enforce.ts';

export const ErrJoinFailed = defineError('MG_AGENT_JOIN_FAILED', 500, (addr: string) =>
  `1 error occurred:\n\t* Failed to join ${addr}: Meshgate servers do not gossip; server replicas join through their shared store (--store etcd)\n\n`);
export const ErrNoSuchMember = defineError('MG_AGENT_NO_SUCH_MEMBER', 404, (node: string) => `agent: No node found with name '${node}'`);

export function registerAgentLifecycleEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const { store, identity } = deps;
  const log = deps.logger.child({ part: 'agent' });

  // ACLs as agent/agent_endpoint.go: host needs operator:read; reload, leave and join agent:write on this node;
  // force-leave operator:write; version takes no token.
  api.get('/v1/agent/host', (ctx) => {
    requirePermission(ctx.authorizer(), 'operator', 'read');
    return { body: hostInfo() };
  });

  // Consul's GetHumanVersion: version, then `+metadata` (here Meshgate's own version; see ../version.ts).
  api.get('/v1/agent/version', () => ({
    body: { SHA: '', BuildDate: '', HumanVersion: `${identity.version}+${VERSION_METADATA}`, FIPS: '' },
  }));

  api.put('/v1/agent/reload', (ctx) => {
    requirePermission(ctx.authorizer(), 'agent', 'write', identity.nodeName);
    log.info('reload requested: the server is configured by its command line; nothing to reload');
    return { body: undefined };
  });

  api.put('/v1/agent/leave', (ctx) => {
    requirePermission(ctx.authorizer(), 'agent', 'write', identity.nodeName);
    log.info('leave requested: there is no gossip pool to leave; the server keeps serving until it is stopped');
    return { body: undefined };
  });

  api.put('/v1/agent/join/*address', (ctx) => {
    const address = ctx.params.address ?? '';
    requirePermission(ctx.authorizer(), 'agent', 'write', identity.nodeName);
    const own = new Set([identity.address, `${identity.address}:8301`, `${identity.address}:${RAFT_PORT}`, identity.nodeName]);
    try {
      const url = new URL(deps.url());
      own.add(url.host);
    } catch {
      // not listening yet; the other forms still count
    }
    if (!own.has(address)) throw ErrJoinFailed(address);
    return { body: undefined };
  });

  api.put('/v1/agent/force-leave/*node', async (ctx) => {
    const node = ctx.params.node ?? '';
    requirePermission(ctx.authorizer(), 'operator', 'write');
    const live = await liveReplicas(deps);
    if (live.some((r) => r.Node === node)) return { body: undefined };
    const isServer = store.get(Tables.services, serviceKey(node, CONSUL_SERVICE_ID)) !== undefined;
    if (!getNode(store, node) || !isServer) throw ErrNoSuchMember(node);
    log.info({ node }, 'force-leave: removing a server node whose replica is gone');
    await catalogWrite(store, (c) => c.deleteNode(node));
    return { body: undefined };
  });
}

/** debug.HostInfo: Memory, CPU, Host, Disk, CollectionTime (ns), Errors. */
function hostInfo(): Record<string, unknown> {
  const total = totalmem();
  const free = freemem();
  const errors: string[] = [];
  let disk: Record<string, unknown> | null = null;
  try {
    const fs = statfsSync('/');
    const diskTotal = fs.blocks * fs.bsize;
    const diskFree = fs.bavail * fs.bsize;
    const used = diskTotal - fs.bfree * fs.bsize;
    disk = {
      path: '/', fstype: '', total: diskTotal, free: diskFree, used, usedPercent: diskTotal > 0 ? (used / diskTotal) * 100 : 0,
      inodesTotal: fs.files, inodesUsed: fs.files - fs.ffree, inodesFree: fs.ffree,
      inodesUsedPercent: fs.files > 0 ? ((fs.files - fs.ffree) / fs.files) * 100 : 0,
    };
  } catch (err) {
    errors.push(`disk: ${(err as Error).message}`);
  }
  const bootTime = Math.floor(Date.now() / 1000 - uptime());
  return {
    Memory: { total, available: free, used: total - free, usedPercent: ((total - free) / total) * 100, free },
    CPU: cpus().map((c, i) => ({
      cpu: i, vendorId: '', family: '', model: '', stepping: 0, physicalId: '', coreId: String(i), cores: 1, modelName: c.model, mhz: c.speed,
      cacheSize: 0, flags: [], microcode: '',
    })),
    Host: {
      hostname: hostname(), uptime: Math.floor(uptime()), bootTime, procs: 0, os: platform(), platform: platform(), platformFamily: '',
      platformVersion: osVersion(), kernelVersion: release(), kernelArch: arch(), virtualizationSystem: '', virtualizationRole: '',
      hostid: '',
    },
    Disk: disk,
    CollectionTime: Date.now() * 1e6,
    Errors: errors,
  };
}
