/**
 * Anti-entropy (Consul's agent/ae and local.State.SyncFull/SyncChanges): the catalog's view of this node is made
 * to match the local state.
 *   - On every local change, `syncChanges` sends only what is out of sync (a check's new status, a new service) or
 *     deletes what was removed.
 *   - Every `intervalMs` (and once at start), `syncFull` first reads the node's services and checks from the catalog,
 *     marks whatever differs or is missing out of sync and whatever the catalog holds that the agent does not own
 *     for deletion, then syncs the changes. A server that restarted with an empty catalog is thereby repaired.
 * Consul scales the full-sync interval with the cluster size (1 min up to 128 nodes); Meshgate uses a fixed default
 * of 60 s (`-anti-entropy-interval`), with ±10 % jitter so agents do not sync in step. A failed sync is retried
 * after min(interval, 15 s).
 */
import type { Logger } from '../lib/logger.ts';
import type { CatalogRegistration, HealthCheck, Node } from '../api/types.ts';
import { isApiStatusError } from '../api/errors.ts';
import type { AgentService } from '../api/types.ts';
import { sameJson, type CheckState, type LocalState, type NodeCheck, type NodeService, type ServiceState } from './local-state.ts';
import type { ServerPool } from './server-pool.ts';

export const DEFAULT_ANTI_ENTROPY_INTERVAL_MS = 60_000;
const RETRY_FAIL_MAX_MS = 15_000;
/** Catalog entries under this node that belong to no agent: never deleted (Consul skips them too). */
const CONSUL_SERVICE_ID = 'consul';
const SERF_CHECK_ID = 'serfHealth';

export interface NodeIdentity {
  node: string;
  nodeId: string;
  address: string;
  datacenter: string;
  meta: Record<string, string>;
  taggedAddresses: Record<string, string>;
}

export interface AntiEntropyOptions {
  state: LocalState;
  servers: ServerPool;
  identity: NodeIdentity;
  /** acl.tokens.agent: the node's own registration; also the fallback for entries without a token. */
  agentToken: () => string;
  intervalMs: number;
  logger: Logger;
}

export class AntiEntropy {
  readonly #o: AntiEntropyOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again: 'none' | 'changes' | 'full' = 'none';
  #stopped = false;
  #nodeInSync = false;
  /** Completed full syncs (tests and /v1/agent/self read it). */
  fullSyncs = 0;
  lastError: string | undefined;

  constructor(options: AntiEntropyOptions) {
    this.#o = options;
  }

  start(): void {
    // A registration changes state several times in one tick (service, then its checks): sync once it is whole.
    let queued = false;
    this.#o.state.onChange(() => {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        this.trigger('changes');
      });
    });
    this.trigger('full');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** Asks for a sync; several requests while one runs collapse into one more run. */
  trigger(kind: 'changes' | 'full'): void {
    if (this.#stopped) return;
    if (this.#running) {
      if (kind === 'full' || this.#again === 'none') this.#again = kind;
      return;
    }
    this.#running = this.#run(kind).finally(() => {
      this.#running = undefined;
      const again = this.#again;
      this.#again = 'none';
      if (again !== 'none') this.trigger(again);
    });
  }

  /** Resolves when no sync is running or queued (tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #run(kind: 'changes' | 'full'): Promise<void> {
    try {
      if (kind === 'full') await this.#updateSyncState();
      await this.#syncChanges();
      if (kind === 'full') {
        this.fullSyncs++;
        this.#schedule(jitter(this.#o.intervalMs));
      }
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      this.#o.logger.warn({ err: this.lastError }, 'anti-entropy sync failed; will retry');
      this.#nodeInSync = false;
      this.#schedule(Math.min(this.#o.intervalMs, RETRY_FAIL_MAX_MS));
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.trigger('full'), ms);
    this.#timer.unref();
  }

  /** Reads the catalog's view of this node and marks every difference (local.State.updateSyncState). */
  async #updateSyncState(): Promise<void> {
    const { identity, state, servers } = this.#o;
    const token = this.#o.agentToken() || undefined;
    const [nodeServices, checks] = await servers.run(async (c) => Promise.all([
      c.catalog.nodeServices(identity.node, { token }),
      c.health.node(identity.node, { token }),
    ]));
    const remoteNode = nodeServices.value?.Node;
    this.#nodeInSync = remoteNode !== undefined && remoteNode !== null && nodeMatches(remoteNode, identity);
    const remoteServices = new Map<string, AgentService>((nodeServices.value?.Services ?? []).map((s) => [s.ID, s]));
    for (const [id, remote] of remoteServices) {
      if (id === CONSUL_SERVICE_ID) continue;
      const local = state.allServices().find((s) => s.service.ID === id);
      if (!local) state.markRemoteOnly('service', id);
      else if (!local.deleted && !serviceMatches(local.service, remote)) state.markOutOfSync('service', id);
    }
    for (const local of state.allServices()) {
      if (!local.deleted && !remoteServices.has(local.service.ID)) state.markOutOfSync('service', local.service.ID);
    }
    const remoteChecks = new Map<string, HealthCheck>(checks.value.map((c) => [c.CheckID, c]));
    for (const [id, remote] of remoteChecks) {
      if (id === SERF_CHECK_ID) continue;
      const local = state.allChecks().find((c) => c.check.CheckID === id);
      if (!local) {
        // A check of a service we are deleting goes with it.
        if (!(remote.ServiceID && state.allServices().some((s) => s.deleted && s.service.ID === remote.ServiceID))) state.markRemoteOnly('check', id, remote.ServiceID);
      } else if (!local.deleted && !checkMatches(local.check, remote)) state.markOutOfSync('check', id);
    }
    for (const local of state.allChecks()) {
      if (!local.deleted && !remoteChecks.has(local.check.CheckID)) state.markOutOfSync('check', local.check.CheckID);
    }
  }

  /** Sends what is out of sync (local.State.SyncChanges): deletions first, then services with their checks, then checks. */
  async #syncChanges(): Promise<void> {
    const { state } = this.#o;
    for (const s of state.allServices()) if (s.deleted) await this.#deregisterService(s);
    for (const c of state.allChecks()) if (c.deleted) await this.#deregisterCheck(c);
    if (!this.#nodeInSync) {
      await this.#register({}, this.#o.agentToken());
      this.#nodeInSync = true;
    }
    for (const s of state.allServices()) if (!s.deleted && !s.inSync) await this.#syncService(s);
    for (const c of state.allChecks()) if (!c.deleted && !c.inSync) await this.#syncCheck(c);
  }

  async #syncService(s: ServiceState): Promise<void> {
    // A service goes with all its checks (one register request, as Consul's syncService does).
    const checks = this.#o.state.checks().filter((c) => c.check.ServiceID === s.service.ID);
    await this.#register({ Service: toCatalogService(s.service), Checks: checks.map((c) => toCatalogCheck(c.check)) }, s.token);
    this.#o.state.synced('service', s.service.ID, s);
    for (const c of checks) this.#o.state.synced('check', c.check.CheckID, c);
  }

  async #syncCheck(c: CheckState): Promise<void> {
    const owner = c.check.ServiceID ? this.#o.state.service(c.check.ServiceID) : undefined;
    if (c.check.ServiceID && !owner) return; // its service is gone; the catalog drops the check with it
    if (owner && !owner.inSync) {
      await this.#syncService(owner);
      return;
    }
    await this.#register({ Check: toCatalogCheck(c.check) }, c.token || owner?.token || '');
    this.#o.state.synced('check', c.check.CheckID, c);
  }

  async #deregisterService(s: ServiceState): Promise<void> {
    await this.#deregister({ ServiceID: s.service.ID }, s.token);
    this.#o.state.synced('service', s.service.ID, s);
  }

  async #deregisterCheck(c: CheckState): Promise<void> {
    await this.#deregister({ CheckID: c.check.CheckID }, c.token);
    this.#o.state.synced('check', c.check.CheckID, c);
  }

  async #register(extra: Partial<CatalogRegistration>, token: string): Promise<void> {
    const { identity } = this.#o;
    const body: CatalogRegistration = {
      ID: identity.nodeId, Node: identity.node, Address: identity.address, Datacenter: identity.datacenter,
      TaggedAddresses: identity.taggedAddresses, NodeMeta: identity.meta, ...extra,
    };
    await this.#o.servers.run((c) => c.catalog.register(body, { token: token || this.#o.agentToken() || undefined }));
  }

  async #deregister(what: { ServiceID?: string; CheckID?: string }, token: string): Promise<void> {
    const { identity } = this.#o;
    try {
      const body = { Node: identity.node, Datacenter: identity.datacenter, ...what };
      await this.#o.servers.run((c) => c.catalog.deregister(body, { token: token || this.#o.agentToken() || undefined }));
    } catch (err) {
      // Already gone (the server lost it, or a service's deregistration took the check along): that is the goal.
      if (!isApiStatusError(err, 404)) throw err;
    }
  }
}

function jitter(ms: number): number {
  return ms * (0.9 + Math.random() * 0.2);
}

function nodeMatches(remote: Node, id: NodeIdentity): boolean {
  return remote.Address === id.address && sameJson(sorted(remote.Meta ?? {}), sorted(id.meta)) && (remote.ID === '' || remote.ID === id.nodeId);
}

/** The fields the agent owns, compared exactly; Proxy and TaggedAddresses only in what the agent set (the server may add defaults). */
export function serviceMatches(local: NodeService, remote: AgentService): boolean {
  return local.Service === remote.Service && (local.Kind || '') === (remote.Kind || '') && local.Port === remote.Port && local.Address === remote.Address
    && sameJson(local.Tags, remote.Tags ?? []) && sameJson(sorted(local.Meta), sorted(remote.Meta ?? {}))
    && local.EnableTagOverride === remote.EnableTagOverride && sameJson(local.Weights, remote.Weights)
    && contains(remote.TaggedAddresses ?? {}, local.TaggedAddresses) && contains(remote.Proxy ?? {}, local.Proxy ?? {});
}

export function checkMatches(local: NodeCheck, remote: HealthCheck): boolean {
  return local.Name === remote.Name && local.Status === remote.Status && local.Output === remote.Output && local.Notes === remote.Notes
    && local.ServiceID === remote.ServiceID;
}

/** Every value `inner` sets is in `outer` (arrays element by element, same length). */
function contains(outer: unknown, inner: unknown): boolean {
  if (inner === undefined) return true;
  if (Array.isArray(inner)) {
    if (!Array.isArray(outer)) return inner.length === 0 && (outer === null || outer === undefined);
    return outer.length === inner.length && inner.every((v, i) => contains(outer[i], v));
  }
  if (inner !== null && typeof inner === 'object') {
    if (outer === null || outer === undefined) return Object.keys(inner).length === 0;
    if (typeof outer !== 'object') return false;
    return Object.entries(inner).every(([k, v]) => contains((outer as Record<string, unknown>)[k], v));
  }
  return outer === inner;
}

function sorted(m: Record<string, string>): Array<[string, string]> {
  return Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function toCatalogService(s: NodeService): CatalogRegistration['Service'] {
  return { ...s };
}

/**
 * The check as the catalog gets it. The probe's Definition stays on the agent: the server runs every catalog check
 * that carries a runnable Definition on a node other than its own (its consul-esm role for external services), so
 * sending it would make the server probe the agent's services a second time and fight the agent over the status.
 */
function toCatalogCheck(c: NodeCheck): NonNullable<CatalogRegistration['Check']> {
  const { Interval: _i, Timeout: _t, Definition: _d, ...rest } = c;
  return { ...rest, Definition: {} };
}
