/**
 * The agent's local state (Consul's agent/local.State): the services and checks this node owns, each with the token
 * to write it with and two flags — `inSync` (the catalog holds exactly this) and `deleted` (the catalog still holds
 * it and must stop). Changes clear `inSync` and wake the anti-entropy syncer through `onChange`; the syncer sets the
 * flags back. Check statuses live here too: the runner reports into `updateCheck`, which counts as a change only
 * when status or output differ, so only changes reach the servers.
 */
import type { CheckDefinition, CheckStatus } from '../lib/checks/index.ts';
import type { AgentServiceConnectProxyConfig, AgentWeights, HealthCheck, ServiceAddress, ServiceKind } from '../api/types.ts';

/** A service as the catalog stores it under this node (structs.NodeService). */
export interface NodeService {
  Kind: ServiceKind;
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  Port: number;
  Address: string;
  SocketPath: string;
  TaggedAddresses: Record<string, ServiceAddress>;
  Weights: AgentWeights;
  EnableTagOverride: boolean;
  Proxy?: AgentServiceConnectProxyConfig;
  Connect?: { Native?: boolean };
}

/** A check as the catalog stores it (structs.HealthCheck without the indexes and Enterprise fields). */
export type NodeCheck = Omit<HealthCheck, 'CreateIndex' | 'ModifyIndex' | 'Namespace' | 'Partition' | 'PeerName' | 'ExposedPort' | 'ServiceTags'> & {
  ServiceTags: string[];
  Interval: string;
  Timeout: string;
};

/** Where a definition came from: config files are replaced wholesale on reload, API ones persist in the data dir. */
export type Source = 'file' | 'api';

export interface ServiceState {
  service: NodeService;
  token: string;
  source: Source;
  /** The parent's ID when this is a sidecar registered through `connect { sidecar_service {} }`. */
  sidecarFor?: string;
  inSync: boolean;
  deleted: boolean;
}

export interface CheckState {
  check: NodeCheck;
  /** What the runner runs; absent for maintenance and alias checks. */
  def?: CheckDefinition;
  /** AliasService: the check mirrors this local service's other checks. */
  aliasService?: string;
  token: string;
  source: Source;
  inSync: boolean;
  deleted: boolean;
}

export class LocalState {
  readonly #services = new Map<string, ServiceState>();
  readonly #checks = new Map<string, CheckState>();
  readonly #listeners = new Set<() => void>();

  /** Called (synchronously) after every change that the catalog must learn about. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  service(id: string): ServiceState | undefined {
    const s = this.#services.get(id);
    return s && !s.deleted ? s : undefined;
  }

  check(id: string): CheckState | undefined {
    const c = this.#checks.get(id);
    return c && !c.deleted ? c : undefined;
  }

  /** Live services (not pending deletion). */
  services(): ServiceState[] {
    return [...this.#services.values()].filter((s) => !s.deleted);
  }

  checks(): CheckState[] {
    return [...this.#checks.values()].filter((c) => !c.deleted);
  }

  /** Every entry, pending deletions included: what the syncer walks. */
  allServices(): ServiceState[] {
    return [...this.#services.values()];
  }

  allChecks(): CheckState[] {
    return [...this.#checks.values()];
  }

  /** Adds or replaces a service; its checks' ServiceName and ServiceTags follow it. */
  addService(entry: Omit<ServiceState, 'inSync' | 'deleted'>): void {
    const previous = this.#services.get(entry.service.ID);
    const unchanged = previous !== undefined && !previous.deleted && previous.inSync && sameJson(previous.service, entry.service);
    this.#services.set(entry.service.ID, { ...entry, inSync: unchanged, deleted: false });
    for (const c of this.#checks.values()) {
      if (c.check.ServiceID !== entry.service.ID || c.deleted) continue;
      if (c.check.ServiceName !== entry.service.Service || !sameJson(c.check.ServiceTags, entry.service.Tags)) {
        c.check = { ...c.check, ServiceName: entry.service.Service, ServiceTags: [...entry.service.Tags] };
        c.inSync = false;
      }
    }
    this.#changed();
  }

  /** Marks a service and its checks for deregistration; returns the check IDs removed. */
  removeService(id: string): string[] {
    const s = this.#services.get(id);
    if (!s || s.deleted) return [];
    s.deleted = true;
    s.inSync = false;
    const removed: string[] = [];
    for (const c of this.#checks.values()) {
      if (c.check.ServiceID === id && !c.deleted) {
        // The catalog drops a service's checks with it: nothing to send for them.
        this.#checks.delete(c.check.CheckID);
        removed.push(c.check.CheckID);
      }
    }
    this.#changed();
    return removed;
  }

  /** Adds or replaces a check. A replaced check keeps its status (Consul snapshots it so re-registration does not flap). */
  addCheck(entry: Omit<CheckState, 'inSync' | 'deleted'>): void {
    const id = entry.check.CheckID;
    const previous = this.#checks.get(id);
    const owner = entry.check.ServiceID ? this.service(entry.check.ServiceID) : undefined;
    const check: NodeCheck = {
      ...entry.check,
      ServiceName: owner?.service.Service ?? '',
      ServiceTags: owner ? [...owner.service.Tags] : [],
      ...(previous && !previous.deleted ? { Status: previous.check.Status, Output: previous.check.Output } : {}),
    };
    this.#checks.set(id, { ...entry, check, inSync: previous !== undefined && !previous.deleted && previous.inSync && sameJson(previous.check, check), deleted: false });
    this.#changed();
  }

  removeCheck(id: string): boolean {
    const c = this.#checks.get(id);
    if (!c || c.deleted) return false;
    c.deleted = true;
    c.inSync = false;
    this.#changed();
    return true;
  }

  /** A check's new status/output (runner, TTL update, alias). A no-op when nothing changed. */
  updateCheck(id: string, status: CheckStatus, output: string): void {
    const c = this.#checks.get(id);
    if (!c || c.deleted) return;
    if (c.check.Status === status && c.check.Output === output) return;
    c.check = { ...c.check, Status: status, Output: output };
    c.inSync = false;
    this.#changed();
  }

  /** The syncer found the catalog's copy differs (or is missing): send it again. */
  markOutOfSync(kind: 'service' | 'check', id: string): void {
    const e = kind === 'service' ? this.#services.get(id) : this.#checks.get(id);
    if (e) e.inSync = false;
  }

  /** The syncer found something in the catalog under this node that we do not own: delete it there. */
  markRemoteOnly(kind: 'service' | 'check', id: string, serviceId = ''): void {
    if (kind === 'service') {
      this.#services.set(id, { service: placeholderService(id), token: '', source: 'api', inSync: false, deleted: true });
    } else {
      this.#checks.set(id, { check: placeholderCheck(id, serviceId), token: '', source: 'api', inSync: false, deleted: true });
    }
  }

  /** The catalog now holds `entry` as it is (or, for a deleted one, no longer holds it). */
  synced(kind: 'service' | 'check', id: string, entry: ServiceState | CheckState): void {
    const map = (kind === 'service' ? this.#services : this.#checks) as Map<string, ServiceState | CheckState>;
    if (map.get(id) !== entry) return; // replaced while the write was in flight: the new one still needs sending
    if (entry.deleted) map.delete(id);
    else entry.inSync = true;
  }

  /** Whether anything waits to be sent. */
  dirty(): boolean {
    for (const s of this.#services.values()) if (!s.inSync) return true;
    for (const c of this.#checks.values()) if (!c.inSync) return true;
    return false;
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

function placeholderService(id: string): NodeService {
  return { Kind: '', ID: id, Service: '', Tags: [], Meta: {}, Port: 0, Address: '', SocketPath: '', TaggedAddresses: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false };
}

function placeholderCheck(id: string, serviceId: string): NodeCheck {
  return {
    Node: '', CheckID: id, Name: '', Status: 'critical', Notes: '', Output: '', ServiceID: serviceId, ServiceName: '', ServiceTags: [], Type: '',
    Interval: '', Timeout: '', Definition: {},
  };
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
