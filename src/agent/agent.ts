/**
 * The client agent (Consul's agent.Agent in client mode): owns the local state, runs its checks, keeps the catalog
 * in sync (anti-entropy), supervises the sidecars its definitions ask for and renders templates. Definitions come
 * from config files (replaced as a whole on `reload`) and from the local API (persisted in the data dir).
 */
import { hostname } from 'node:os';
import { aliasServiceStatus, CheckRunner, type CheckRunnerOptions, type CheckStatus } from '../lib/checks/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { AgentCheckRegistration, AgentServiceRegistration } from '../api/types.ts';
import { buildAgentConfig, emptyConfig, type AgentFileConfig } from './agent-config.ts';
import { AntiEntropy, DEFAULT_ANTI_ENTROPY_INTERVAL_MS, type NodeIdentity } from './anti-entropy.ts';
import { readConfigSources, type ConfigLocations } from './config-files.ts';
import { AgentErrors } from './errors.ts';
import { LocalState, type Source } from './local-state.ts';
import { loadLocalRegistrations, loadNodeId, saveLocalRegistrations, type PersistedState } from './persist.ts';
import { expandSidecar, prepareCheck, prepareService, type PreparedCheck } from './registration.ts';
import { ServerPool } from './server-pool.ts';
import { SidecarSupervisor, type ProxyCommand } from './sidecar-supervisor.ts';
import { TemplateManager } from './template/manager.ts';

export const NODE_MAINT_CHECK_ID = '_node_maintenance';
export const SERVICE_MAINT_PREFIX = '_service_maintenance:';
const SERVICE_MAINT_DEFAULT_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';
const NODE_MAINT_DEFAULT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';

export interface AgentOptions {
  /** Flags win over config files; unset ones fall back to the files, then to these defaults. */
  nodeName?: string;
  datacenter?: string;
  dataDir?: string;
  retryJoin?: readonly string[];
  advertiseAddr?: string;
  config: ConfigLocations;
  /** ms between full anti-entropy syncs; default 60 s. */
  antiEntropyIntervalMs?: number;
  /** How to start `meshgate proxy` for sidecars; default this node binary and the CLI. */
  proxyCommand?: ProxyCommand;
  /** The local HTTP API address sidecars are told to use (set by the command once it listens). */
  logger: Logger;
  /** Check runner overrides (tests lower the minimum interval). */
  runner?: Partial<Omit<CheckRunnerOptions, 'onUpdate' | 'onCriticalTooLong' | 'logger'>>;
}

export class Agent {
  readonly state = new LocalState();
  readonly identity: NodeIdentity;
  readonly servers: ServerPool;
  readonly antiEntropy: AntiEntropy;
  readonly sidecars: SidecarSupervisor;
  readonly templates: TemplateManager;
  config: AgentFileConfig;
  readonly #opts: AgentOptions;
  readonly #log: Logger;
  readonly #runner: CheckRunner;
  readonly #dataDir: string | undefined;
  #localHttpAddr = '';
  #reloading: Promise<void> | undefined;

  private constructor(opts: AgentOptions, config: AgentFileConfig, identity: NodeIdentity, servers: ServerPool) {
    this.#opts = opts;
    this.config = config;
    this.identity = identity;
    this.servers = servers;
    this.#dataDir = opts.dataDir ?? config.dataDir;
    this.#log = opts.logger.child({ component: 'agent' });
    this.#runner = new CheckRunner({
      ...opts.runner,
      logger: this.#log,
      enableScriptChecks: config.enableScriptChecks,
      onUpdate: (id, status, output) => this.state.updateCheck(id, status, output),
      onCriticalTooLong: (serviceId) => {
        this.#log.info({ service: serviceId }, 'deregistering service whose check was critical for too long');
        void this.deregisterService(serviceId).catch((err: unknown) => this.#log.warn({ err, service: serviceId }, 'reaping service failed'));
      },
    });
    this.antiEntropy = new AntiEntropy({
      state: this.state, servers, identity, agentToken: () => this.config.aclTokens.agent ?? '',
      intervalMs: opts.antiEntropyIntervalMs ?? DEFAULT_ANTI_ENTROPY_INTERVAL_MS, logger: opts.logger.child({ component: 'anti-entropy' }),
    });
    this.sidecars = new SidecarSupervisor({ logger: opts.logger, ...(opts.proxyCommand ? { command: opts.proxyCommand } : {}) });
    this.templates = new TemplateManager({ servers, token: () => this.config.aclTokens.agent ?? '', logger: opts.logger });
    this.state.onChange(() => this.#refreshAliases());
  }

  /** Reads the config, registers the node and every definition, and starts syncing. */
  static async create(opts: AgentOptions): Promise<Agent> {
    const config = buildAgentConfig(await readConfigSources(opts.config));
    for (const key of config.ignoredKeys) opts.logger.warn({ key }, 'config key not used by meshgate agent');
    const dataDir = opts.dataDir ?? config.dataDir;
    const nodeName = opts.nodeName ?? config.nodeName ?? hostname();
    const datacenter = opts.datacenter ?? config.datacenter ?? 'dc1';
    const address = opts.advertiseAddr ?? config.advertiseAddr ?? '127.0.0.1';
    const retryJoin = opts.retryJoin && opts.retryJoin.length > 0 ? opts.retryJoin : config.retryJoin;
    const identity: NodeIdentity = {
      node: nodeName,
      nodeId: dataDir ? await loadNodeId(dataDir) : crypto.randomUUID(),
      address,
      datacenter,
      meta: { ...config.nodeMeta },
      taggedAddresses: { lan: address, lan_ipv4: address, wan: address, wan_ipv4: address },
    };
    return new Agent(opts, config, identity, new ServerPool(retryJoin, datacenter));
  }

  /** Starts syncing; `localHttpAddr` is where the agent's API listens (sidecars are pointed at it). */
  async start(localHttpAddr: string): Promise<void> {
    this.#localHttpAddr = localHttpAddr;
    if (this.#dataDir) {
      const persisted = await loadLocalRegistrations(this.#dataDir);
      for (const s of persisted.services) this.#tryApply(() => this.#applyService(s.registration, s.token, 'api', false), `service ${s.registration.ID ?? s.registration.Name}`);
      for (const c of persisted.checks) this.#tryApply(() => this.#applyCheck(c.registration, c.token, 'api'), `check ${c.registration.ID ?? c.registration.Name}`);
    }
    this.#applyFileConfig(emptyConfig(), this.config);
    this.antiEntropy.start();
    this.#log.info({ node: this.identity.node, servers: this.servers.address(), services: this.state.services().length }, 'agent started');
  }

  async close(): Promise<void> {
    await this.sidecars.stop();
    await this.templates.stop();
    await this.antiEntropy.stop();
    await this.#runner.stop();
  }

  /** Re-reads every config source and applies the difference (Consul's `consul reload` / SIGHUP). */
  reload(): Promise<void> {
    // Two reloads at once would race on the same diff: the second waits for the first.
    const next = (this.#reloading ?? Promise.resolve()).then(async () => {
      const config = buildAgentConfig(await readConfigSources(this.#opts.config));
      for (const key of config.ignoredKeys) this.#log.warn({ key }, 'config key not used by meshgate agent');
      const previous = this.config;
      this.config = config;
      this.#applyFileConfig(previous, config);
      this.#log.info({ services: config.services.length, checks: config.checks.length, templates: config.templates.length }, 'configuration reloaded');
    });
    this.#reloading = next.catch(() => undefined);
    return next;
  }

  // -------------------------------------------------------------------------------------------------------------
  // The local API's operations.

  async registerService(reg: AgentServiceRegistration, token: string, replaceExistingChecks = false): Promise<void> {
    this.#applyService(reg, token, 'api', replaceExistingChecks);
    await this.#persist();
  }

  async deregisterService(id: string): Promise<void> {
    const s = this.state.service(id);
    if (!s) throw AgentErrors.unknownService(id);
    this.#removeService(id);
    await this.#persist();
  }

  async registerCheck(reg: AgentCheckRegistration, token: string): Promise<void> {
    this.#applyCheck(reg, token, 'api');
    await this.#persist();
  }

  async deregisterCheck(id: string): Promise<void> {
    if (!this.state.check(id)) throw AgentErrors.unknownCheck(id);
    this.#runner.remove(id);
    this.state.removeCheck(id);
    await this.#persist();
  }

  /** /v1/agent/check/pass|warn|fail|update. */
  updateTTL(id: string, status: CheckStatus, output: string): void {
    if (!this.state.check(id)) throw AgentErrors.unknownCheck(id);
    this.#runner.updateTTL(id, status, output);
  }

  serviceMaintenance(id: string, enable: boolean, reason: string): void {
    const s = this.state.service(id);
    if (!s) throw AgentErrors.invalid(`No service registered with ID ${JSON.stringify(id)}`);
    const checkId = `${SERVICE_MAINT_PREFIX}${id}`;
    if (!enable) {
      this.state.removeCheck(checkId);
      return;
    }
    if (this.state.check(checkId)) return;
    this.state.addCheck({ check: maintenanceCheck(this.identity.node, checkId, 'Service Maintenance Mode', reason || SERVICE_MAINT_DEFAULT_REASON, id), token: s.token, source: 'api' });
  }

  nodeMaintenance(enable: boolean, reason: string): void {
    if (!enable) {
      this.state.removeCheck(NODE_MAINT_CHECK_ID);
      return;
    }
    if (this.state.check(NODE_MAINT_CHECK_ID)) return;
    this.state.addCheck({ check: maintenanceCheck(this.identity.node, NODE_MAINT_CHECK_ID, 'Node Maintenance Mode', reason || NODE_MAINT_DEFAULT_REASON, ''), token: '', source: 'api' });
  }

  // -------------------------------------------------------------------------------------------------------------

  /** Applies the difference between two file configurations: removed definitions go, new and changed ones are (re)registered. */
  #applyFileConfig(previous: AgentFileConfig, next: AgentFileConfig): void {
    const nextServiceIds = new Set<string>();
    for (const def of next.services) {
      const id = def.registration.ID || def.registration.Name;
      nextServiceIds.add(id);
      if (def.registration.Connect?.SidecarService) nextServiceIds.add(`${id}-sidecar-proxy`);
      this.#tryApply(() => this.#applyService(def.registration, def.token, 'file', true), `service ${id} (${def.file})`);
    }
    for (const s of this.state.services()) {
      if (s.source === 'file' && !nextServiceIds.has(s.service.ID)) this.#removeService(s.service.ID);
    }
    const nextCheckIds = new Set<string>();
    for (const def of next.checks) {
      const id = def.registration.CheckID || def.registration.ID || def.registration.Name;
      nextCheckIds.add(id);
      this.#tryApply(() => this.#applyCheck(def.registration, def.token, 'file'), `check ${id} (${def.file})`);
    }
    for (const c of this.state.checks()) {
      if (c.source === 'file' && !c.check.ServiceID && !nextCheckIds.has(c.check.CheckID)) {
        this.#runner.remove(c.check.CheckID);
        this.state.removeCheck(c.check.CheckID);
      }
    }
    void previous;
    this.#reconcileSidecars();
    this.templates.apply(next.templates);
  }

  /** A definition that fails is logged and skipped: one bad file must not take the others down (Consul fails the reload; we keep serving). */
  #tryApply(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err: (err as Error).message, definition: what }, 'cannot register definition');
    }
  }

  /** Validates everything first (service, checks, sidecar), then changes state: a bad definition changes nothing. */
  #applyService(reg: AgentServiceRegistration, token: string, source: Source, replaceExistingChecks: boolean): void {
    const node = this.identity.node;
    const prepared = prepareService(reg, node, this.config.enableScriptChecks);
    const sidecarReg = prepared.sidecar
      ? expandSidecar(prepared.service, prepared.sidecar, {
        min: this.config.sidecarMinPort,
        max: this.config.sidecarMaxPort,
        used: (sidecarId) => {
          const taken = new Set<number>();
          let own: number | undefined;
          for (const s of this.state.services()) {
            if (s.service.ID === sidecarId) own = s.service.Port;
            else taken.add(s.service.Port);
          }
          return { ...(own !== undefined ? { own } : {}), taken };
        },
      })
      : undefined;
    const sidecar = sidecarReg ? prepareService(sidecarReg, node, this.config.enableScriptChecks) : undefined;
    const sidecarToken = (prepared.sidecar as { Token?: string } | undefined)?.Token || token;
    this.#installService(prepared.service, prepared.checks, token, source, replaceExistingChecks);
    if (sidecar) {
      this.#installService(sidecar.service, sidecar.checks, sidecarToken, source, true, prepared.service.ID);
    } else {
      // The parent no longer asks for a sidecar: the one it had goes (Consul removes sidecars with their parent).
      const old = this.state.services().find((s) => s.sidecarFor === prepared.service.ID);
      if (old) this.#removeService(old.service.ID);
    }
    if (source === 'file') this.#reconcileSidecars();
  }

  #installService(service: ReturnType<typeof prepareService>['service'], checks: PreparedCheck[], token: string, source: Source, replace: boolean, sidecarFor?: string): void {
    this.state.addService({ service, token, source, ...(sidecarFor ? { sidecarFor } : {}) });
    const keep = new Set(checks.map((c) => c.check.CheckID));
    if (replace) {
      for (const c of this.state.checks()) {
        if (c.check.ServiceID === service.ID && !keep.has(c.check.CheckID) && !c.check.CheckID.startsWith(SERVICE_MAINT_PREFIX)) {
          this.#runner.remove(c.check.CheckID);
          this.state.removeCheck(c.check.CheckID);
        }
      }
    }
    for (const c of checks) this.#installCheck(c, token, source);
  }

  #applyCheck(reg: AgentCheckRegistration, token: string, source: Source): void {
    const prepared = prepareCheck(reg, this.identity.node, this.config.enableScriptChecks);
    const sid = prepared.check.ServiceID;
    if (sid && !this.state.service(sid)) throw AgentErrors.invalid(`ServiceID ${JSON.stringify(sid)} does not exist`);
    this.#installCheck(prepared, token, source);
  }

  #installCheck(c: PreparedCheck, token: string, source: Source): void {
    this.state.addCheck({ check: c.check, token, source, ...(c.def ? { def: c.def } : {}), ...(c.aliasService ? { aliasService: c.aliasService } : {}) });
    if (c.def) {
      // The runner keeps a re-added check's status; a new one starts at the definition's initial status.
      this.#runner.add(c.def);
    } else {
      this.#runner.remove(c.check.CheckID);
      this.#refreshAliases();
    }
  }

  #removeService(id: string): void {
    const sidecar = this.state.services().find((s) => s.sidecarFor === id);
    for (const checkId of this.state.removeService(id)) this.#runner.remove(checkId);
    if (sidecar) this.#removeService(sidecar.service.ID);
    this.#reconcileSidecars();
  }

  /** Alias checks (AliasService) take their status from the aliased local service's checks (lib/checks/alias.ts). */
  #refreshAliases(): void {
    const all = this.state.checks();
    for (const c of all) {
      if (!c.aliasService) continue;
      const others = all.filter((x) => x.check.CheckID !== c.check.CheckID).map((x) => x.check);
      const { status, output } = aliasServiceStatus(others, c.aliasService, this.identity.node, this.state.service(c.aliasService) !== undefined);
      this.state.updateCheck(c.check.CheckID, status, output);
    }
  }

  /** Sidecars defined in files are supervised: started once registered, stopped once gone. */
  #reconcileSidecars(): void {
    if (!this.#localHttpAddr) return;
    const wanted = this.state.services().filter((s) => s.sidecarFor && s.source === 'file');
    this.sidecars.reconcile(wanted.map((s) => ({ sidecarId: s.service.ID, serviceId: s.sidecarFor!, token: s.token || this.config.aclTokens.agent || '' })), this.#localHttpAddr);
  }

  async #persist(): Promise<void> {
    if (!this.#dataDir) return;
    const out: PersistedState = { services: [], checks: [] };
    for (const s of this.state.services()) {
      if (s.source !== 'api' || s.sidecarFor) continue;
      out.services.push({ registration: persistedService(s.service, this.state.checks().filter((c) => c.check.ServiceID === s.service.ID && c.def)), token: s.token });
    }
    for (const c of this.state.checks()) {
      if (c.source !== 'api' || c.check.ServiceID || !c.def || c.check.CheckID === NODE_MAINT_CHECK_ID) continue;
      out.checks.push({ registration: { ...registrationOfCheck(c.check, c.def) }, token: c.token });
    }
    await saveLocalRegistrations(this.#dataDir, out);
  }
}

function maintenanceCheck(node: string, checkId: string, name: string, notes: string, serviceId: string) {
  return {
    Node: node, CheckID: checkId, Name: name, Status: 'critical' as const, Notes: notes, Output: '', ServiceID: serviceId,
    ServiceName: '', ServiceTags: [], Type: 'maintenance', Interval: '', Timeout: '', Definition: {},
  };
}

function persistedService(s: ReturnType<typeof prepareService>['service'], checks: Array<{ check: { CheckID: string; Name: string; Notes: string }; def?: import('../lib/checks/index.ts').CheckDefinition }>): AgentServiceRegistration {
  return {
    ...s,
    Name: s.Service,
    Checks: checks.map((c) => registrationOfCheck(c.check, c.def!)),
  } as unknown as AgentServiceRegistration;
}

/** A runnable definition back in the API's shape (durations in nanoseconds, which the API accepts as Go does). */
function registrationOfCheck(check: { CheckID: string; Name: string; Notes: string }, def: import('../lib/checks/index.ts').CheckDefinition): AgentCheckRegistration {
  const out: Record<string, unknown> = { ...def, ID: check.CheckID, Name: check.Name, Notes: check.Notes };
  for (const f of ['Interval', 'Timeout', 'TTL', 'DeregisterCriticalServiceAfter'] as const) if (def[f] !== undefined) out[f] = Math.round(def[f]! * 1e6);
  delete out.CheckID;
  return out as unknown as AgentCheckRegistration;
}
