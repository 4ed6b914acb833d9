/**
 * The server's own local agent (Consul runs a client agent inside every server): its node in the catalog with the
 * `serfHealth` check and the `consul` service, the services and checks registered through /v1/agent, and a
 * CheckRunner that runs those checks. The catalog rows are the agent's state: registrations write them (and the
 * definitions the runner needs, in `agent-checks`) in one transaction, the runner follows the `agent-checks` rows
 * of this node, and only status changes (output changes at most every check_update_interval) are written back. A
 * restarted server reads the rows again and resumes its checks.
 */
import {
  DEFAULT_SIDECAR_MAX_PORT, DEFAULT_SIDECAR_MIN_PORT, pickSidecarPort, sidecarDefinitionProblem, sidecarId, sidecarRegistration,
} from '../../api/sidecar-service.ts';
import type { AgentServiceRegistration } from '../../api/types.ts';
import { formatDuration } from '../../lib/duration.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import {
  CheckErrors, CheckRunner, aliasServiceStatus, checkKind, isCheckStatus, validateCheckDefinition,
  type CheckDefinition, type CheckRunnerOptions, type CheckStatus,
} from '../../lib/checks/index.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ServerDeps } from '../deps.ts';
import type { Change } from '../store/types.ts';
import type { StateStore } from '../store/state-store.ts';
import { connectProxyProblem } from '../connect/proxy-registration.ts';
import { CatalogErrors } from './errors.ts';
import {
  isAnyAddress, metadataProblem, validateCheckNames, validateServiceNames, validServiceKind, weightsProblem,
  type AgentCheckInput, type AgentServiceInput,
} from './decode.ts';
import { wireDefinition } from './register.ts';
import { catalogWrite, type CatalogTxn } from './state.ts';
import {
  NODE_MAINT_CHECK_ID, SERF_CHECK_ALIVE_OUTPUT, SERF_CHECK_ID, SERF_CHECK_NAME, SERVICE_MAINT_PREFIX, Tables, checkKey, nodePrefix,
  serviceKey, type StoredAgentCheck, type StoredCheck, type StoredService,
} from './tables.ts';

export const CONSUL_SERVICE_ID = 'consul';
const SERVICE_MAINT_DEFAULT_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';
const NODE_MAINT_DEFAULT_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.';

export interface LocalAgentOptions {
  /** Overrides for the check runner (tests lower the minimum interval and the reap delay). */
  runner?: Partial<Omit<CheckRunnerOptions, 'onUpdate' | 'onCriticalTooLong'>>;
}

/** A validated check: its catalog row and what the agent keeps to run it (an alias check is computed, not run). */
interface PreparedAgentCheck {
  check: Omit<StoredCheck, 'ServiceName' | 'ServiceTags'>;
  def: StoredAgentCheck['Definition'];
}

export class LocalAgent {
  readonly node: string;
  private readonly store: StateStore;
  private readonly deps: ServerDeps;
  private readonly log: Logger;
  private readonly runner: CheckRunner;
  /** checkId → JSON of the definition the runner holds. */
  private readonly running = new Map<string, string>();
  /** checkId → the service an alias check of this node aliases (kept by reconcile, from the same rows). */
  private readonly aliases = new Map<string, string>();
  private readonly pending = new Set<Promise<unknown>>();
  private unsubscribe: (() => void) | undefined;

  constructor(deps: ServerDeps, options: LocalAgentOptions = {}) {
    this.deps = deps;
    this.store = deps.store;
    this.node = deps.identity.nodeName;
    this.log = deps.logger.child({ component: 'local-agent' });
    this.runner = new CheckRunner({
      ...options.runner,
      logger: this.log,
      onUpdate: (checkId, status, output) => this.onCheckUpdate(checkId, status, output),
      onCriticalTooLong: (serviceId) => this.track(this.reap(serviceId)),
      onRun: (_checkId, kind, status) => this.deps.metrics.checkRuns.inc({ type: kind, status }),
    });
  }

  /** Registers this server's node, `serfHealth` and the `consul` service, and resumes the node's checks. */
  async start(): Promise<void> {
    const id = this.deps.identity;
    await catalogWrite(this.store, (c) => {
      const existing = c.node(this.node);
      c.putNode({
        ID: id.nodeId,
        Node: this.node,
        Address: id.address,
        Datacenter: id.datacenter,
        TaggedAddresses: { lan: id.address, lan_ipv4: id.address, wan: id.address, wan_ipv4: id.address },
        // Keep metadata set by a catalog registration of this node; Consul's agent adds its own keys.
        Meta: { ...existing?.Meta, 'consul-network-segment': '', 'consul-version': id.version },
      });
      c.putCheck({
        Node: this.node, CheckID: SERF_CHECK_ID, Name: SERF_CHECK_NAME, Status: 'passing', Notes: '',
        Output: SERF_CHECK_ALIVE_OUTPUT, ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', Interval: '',
        Timeout: '', ExposedPort: 0, Definition: wireDefinition({}),
      });
      c.putService({
        Node: this.node, Kind: '', ID: CONSUL_SERVICE_ID, Service: 'consul', Tags: [], Address: '', TaggedAddresses: {},
        Meta: { raft_version: '3', serf_protocol_current: '2', serf_protocol_min: '1', serf_protocol_max: '5', version: id.version, non_voter: 'false', read_replica: 'false' },
        Port: 8300, SocketPath: '', Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
      });
    });
    this.unsubscribe = this.store.onChange((change) => this.onStoreChange(change));
    this.reconcile();
    this.refreshAliases();
    this.deps.onClose(() => this.close());
    this.log.info({ node: this.node, checks: this.running.size }, 'local agent started');
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.runner.stop();
    await this.settled();
  }

  /** Resolves once every status write started so far is durable (or has failed and been logged). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** The runner's live view of a check, for tests and the metrics. */
  runnerState(checkId: string): { status: CheckStatus; output: string } | undefined {
    return this.runner.state(checkId);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Registration (PUT /v1/agent/service/register, /v1/agent/check/register and friends).

  /**
   * AgentRegisterService: the service and its checks, and — when it carries `Connect.SidecarService` — its sidecar
   * expanded as Consul's agent does (api/sidecar-service.ts), all validated before one transaction writes them. The
   * sugar itself is not stored: Consul clears `Connect.SidecarService` once the sidecar is registered.
   */
  async registerService(input: AgentServiceInput, replaceExistingChecks: boolean): Promise<void> {
    const parent = this.prepareService(input);
    const sidecarDefinition = input.Connect?.SidecarService ?? undefined;
    if (sidecarDefinition) {
      const problem = sidecarDefinitionProblem(sidecarDefinition as AgentServiceRegistration);
      if (problem) throw CatalogErrors.invalid(`Validation failed: ${problem}`);
      const { SidecarService: _sugar, ...connect } = input.Connect!;
      if (Object.keys(connect).length > 0) parent.service.Connect = connect as StoredService['Connect'];
      else delete parent.service.Connect;
    }
    await catalogWrite(this.store, (c) => {
      // The port is picked inside the transaction, against the services this node holds at that moment.
      const sidecar = sidecarDefinition ? this.prepareService(this.sidecarInput(c, parent.service, sidecarDefinition as AgentServiceRegistration)) : undefined;
      for (const { service, checks } of sidecar ? [parent, sidecar] : [parent]) {
        c.putService(service);
        const keep = new Set(checks.map((p) => p.check.CheckID));
        if (replaceExistingChecks) {
          for (const existing of c.nodeChecks(this.node)) {
            if (existing.ServiceID === service.ID && !keep.has(existing.CheckID) && !existing.CheckID.startsWith(SERVICE_MAINT_PREFIX)) {
              c.deleteCheck(this.node, existing.CheckID);
            }
          }
        }
        for (const p of checks) this.writeCheck(c, p);
      }
    });
  }

  /** Validates an agent service registration (AgentRegisterService's rules, in its words) into its catalog rows. */
  private prepareService(input: AgentServiceInput): { service: StoredService; checks: PreparedAgentCheck[] } {
    const name = input.Name ?? '';
    if (name === '') throw CatalogErrors.invalid('Missing service name');
    if (isAnyAddress(input.Address)) throw CatalogErrors.invalid('Invalid service address');
    const id = input.ID || name;
    validateServiceNames({ name, id, port: input.Port, taggedAddresses: input.TaggedAddresses });
    const meta = input.Meta ?? {};
    const mp = metadataProblem(meta, 'Service');
    if (mp) throw CatalogErrors.invalid(`Invalid Service Meta: ${mp}`);
    if (input.Weights) {
      const wp = weightsProblem(input.Weights);
      if (wp) throw CatalogErrors.invalid(`Invalid Weights: ${wp}`);
    }
    // AgentRegisterService answers NodeService.Validate's complaint as "Validation failed: ...".
    const proxyProblem = connectProxyProblem(input);
    if (proxyProblem) throw CatalogErrors.invalid(`Validation failed: ${proxyProblem}`);
    const service: StoredService = {
      Node: this.node,
      Kind: validServiceKind(input.Kind) as StoredService['Kind'],
      ID: id,
      Service: name,
      Tags: input.Tags ?? [],
      Address: input.Address ?? '',
      TaggedAddresses: Object.fromEntries(Object.entries(input.TaggedAddresses ?? {}).map(([k, v]) => [k, { Address: v.Address ?? '', Port: v.Port ?? 0 }])),
      Meta: meta,
      Port: input.Port ?? 0,
      SocketPath: input.SocketPath ?? '',
      Weights: { Passing: input.Weights?.Passing ?? 1, Warning: input.Weights?.Warning ?? 1 },
      EnableTagOverride: input.EnableTagOverride ?? false,
      ...(input.Proxy && Object.keys(input.Proxy).length > 0 ? { Proxy: input.Proxy as StoredService['Proxy'] } : {}),
      ...(input.Connect && Object.keys(input.Connect).length > 0 ? { Connect: input.Connect as StoredService['Connect'] } : {}),
    };
    const inputs = [...(input.Check ? [input.Check] : []), ...(input.Checks ?? [])];
    const checks = inputs.map((c, i) => {
      if (c.Status && !isCheckStatus(c.Status)) throw CatalogErrors.invalid("Status for checks must 'passing', 'warning', 'critical'");
      let checkId = c.CheckID || c.ID || '';
      if (checkId === '') checkId = inputs.length > 1 ? `service:${id}:${i + 1}` : `service:${id}`;
      validateCheckNames({ id: checkId, name: c.Name });
      return this.prepareCheck({ ...c, CheckID: checkId, Name: c.Name || `Service '${name}' check`, ServiceID: id });
    });
    return { service, checks };
  }

  /** The sidecar's registration (sidecarServiceFromNodeService), its port from the range when it names none. */
  private sidecarInput(c: CatalogTxn, parent: StoredService, definition: AgentServiceRegistration): AgentServiceInput {
    let port = definition.Port ?? 0;
    if (port < 1) {
      const id = sidecarId(parent.ID);
      const taken = new Set<number>();
      let own: number | undefined;
      for (const s of c.nodeServices(this.node)) {
        if (s.ID === id) own = s.Port;
        else taken.add(s.Port);
      }
      const range = this.deps.sidecarPorts ?? { min: DEFAULT_SIDECAR_MIN_PORT, max: DEFAULT_SIDECAR_MAX_PORT };
      const picked = pickSidecarPort(range, { ...(own !== undefined ? { own } : {}), taken });
      if (picked === undefined) {
        // sidecarPortFromServiceIDLocked's two messages: assignment switched off, or the range used up.
        throw CatalogErrors.invalid(range.min < 1 || range.max < 1
          ? 'no port provided for sidecar_service and auto-assignment disabled in config'
          : `no port provided for sidecar_service and none left in the configured range [${range.min}, ${range.max}]`);
      }
      port = picked;
    }
    return sidecarRegistration(parent, definition, port, 'ms') as AgentServiceInput;
  }

  /**
   * Consul's removeServiceLocked: the service, its checks, and the sidecar registered with it (removeServiceSidecars:
   * the `<id>-sidecar-proxy` service that fronts it).
   */
  async deregisterService(id: string): Promise<void> {
    await catalogWrite(this.store, (c) => {
      if (id === CONSUL_SERVICE_ID || !c.service(this.node, id)) throw CatalogErrors.unknownService(id);
      c.deleteService(this.node, id);
      const sidecar = c.service(this.node, sidecarId(id));
      if (sidecar?.Kind === 'connect-proxy' && sidecar.Proxy?.DestinationServiceID === id) c.deleteService(this.node, sidecar.ID);
    });
  }

  async registerCheck(input: AgentCheckInput): Promise<void> {
    const name = input.Name ?? '';
    if (name === '') throw CatalogErrors.invalid('Missing check name');
    if (input.Status && !isCheckStatus(input.Status)) throw CheckErrors.badStatus();
    const checkId = input.ID || input.CheckID || name;
    validateCheckNames({ id: checkId, name, serviceId: input.ServiceID });
    const prepared = this.prepareCheck({ ...input, CheckID: checkId, Name: name, ServiceID: input.ServiceID ?? '' });
    await catalogWrite(this.store, (c) => {
      if (prepared.check.ServiceID && !c.service(this.node, prepared.check.ServiceID)) {
        throw CatalogErrors.invalid(`ServiceID ${JSON.stringify(prepared.check.ServiceID)} does not exist`);
      }
      this.writeCheck(c, prepared);
    });
  }

  async deregisterCheck(id: string): Promise<void> {
    await catalogWrite(this.store, (c) => {
      if (id === SERF_CHECK_ID || !c.check(this.node, id)) throw CatalogErrors.unknownCheck(id);
      c.deleteCheck(this.node, id);
    });
  }

  /** /v1/agent/check/pass|warn|fail|update: sets a TTL check's status; resolves once it is written. */
  async updateTTL(id: string, status: CheckStatus, output: string): Promise<void> {
    if (!this.store.get(Tables.checks, checkKey(this.node, id)) || id === SERF_CHECK_ID) throw CatalogErrors.unknownCheck(id);
    this.runner.updateTTL(id, status, output);
    await this.settled();
  }

  async serviceMaintenance(id: string, enable: boolean, reason: string): Promise<void> {
    await catalogWrite(this.store, (c) => {
      const service = c.service(this.node, id);
      if (!service || id === CONSUL_SERVICE_ID) throw CatalogErrors.noServiceForMaintenance(id);
      const checkId = `${SERVICE_MAINT_PREFIX}${id}`;
      if (!enable) {
        c.deleteCheck(this.node, checkId);
        return;
      }
      if (c.check(this.node, checkId)) return;
      c.putCheck(maintenanceCheck(this.node, checkId, 'Service Maintenance Mode', reason || SERVICE_MAINT_DEFAULT_REASON, id));
    });
  }

  async nodeMaintenance(enable: boolean, reason: string): Promise<void> {
    await catalogWrite(this.store, (c) => {
      if (!enable) {
        c.deleteCheck(this.node, NODE_MAINT_CHECK_ID);
        return;
      }
      if (c.check(this.node, NODE_MAINT_CHECK_ID)) return;
      c.putCheck(maintenanceCheck(this.node, NODE_MAINT_CHECK_ID, 'Node Maintenance Mode', reason || NODE_MAINT_DEFAULT_REASON, ''));
    });
  }

  // -------------------------------------------------------------------------------------------------------------

  /** Validates a check the way Consul's agent does and builds its catalog row and runnable definition. */
  private prepareCheck(c: AgentCheckInput & { CheckID: string; Name: string; ServiceID: string }): PreparedAgentCheck {
    if (c.AliasService && !c.AliasNode) return this.prepareAliasCheck({ ...c, AliasService: c.AliasService });
    const def: CheckDefinition = { CheckID: c.CheckID, Name: c.Name };
    if (c.ServiceID) def.ServiceID = c.ServiceID;
    if (c.Notes) def.Notes = c.Notes;
    if (c.Status) def.Status = c.Status as CheckStatus;
    if (c.ScriptArgs && c.ScriptArgs.length > 0) def.ScriptArgs = c.ScriptArgs;
    for (const f of ['HTTP', 'Method', 'Body', 'TCP', 'GRPC', 'TLSServerName', 'UDP', 'H2PING', 'OSService', 'AliasNode', 'AliasService', 'DockerContainerID'] as const) {
      const v = c[f];
      if (v) (def as unknown as Record<string, unknown>)[f] = v;
    }
    if (c.Header) def.Header = c.Header;
    for (const f of ['DisableRedirects', 'GRPCUseTLS', 'TLSSkipVerify'] as const) if (c[f]) def[f] = true;
    for (const f of ['Interval', 'Timeout', 'TTL', 'DeregisterCriticalServiceAfter', 'SuccessBeforePassing', 'FailuresBeforeWarning', 'FailuresBeforeCritical', 'OutputMaxSize'] as const) {
      const v = c[f];
      if (v !== undefined) def[f] = v;
    }
    try {
      validateCheckDefinition(def);
    } catch (err) {
      if (isMeshgateError(err) && err.statusCode === 400) throw CatalogErrors.invalid(`Invalid check: ${err.message}`);
      throw err;
    }
    const kind = checkKind(def);
    if (kind === 'script') throw CheckErrors.scriptChecksDisabled();
    return {
      def,
      check: {
        Node: this.node,
        CheckID: c.CheckID,
        Name: c.Name,
        Status: def.Status ?? 'critical',
        Notes: c.Notes ?? '',
        Output: '',
        ServiceID: c.ServiceID,
        Type: kind,
        Interval: def.Interval ? formatDuration(def.Interval) : '',
        Timeout: def.Timeout ? formatDuration(def.Timeout) : '',
        ExposedPort: 0,
        Definition: wireDefinition({
          ...(def.HTTP ? { HTTP: def.HTTP } : {}),
          ...(def.Header ? { Header: def.Header } : {}),
          ...(def.Method ? { Method: def.Method } : {}),
          ...(def.Body ? { Body: def.Body } : {}),
          ...(def.TLSServerName ? { TLSServerName: def.TLSServerName } : {}),
          ...(def.TLSSkipVerify ? { TLSSkipVerify: true } : {}),
          ...(def.TCP ? { TCP: def.TCP } : {}),
          ...(def.GRPC ? { GRPC: def.GRPC } : {}),
          ...(def.GRPCUseTLS ? { GRPCUseTLS: true } : {}),
          ...(def.Interval ? { Interval: def.Interval } : {}),
          ...(def.Timeout ? { Timeout: def.Timeout } : {}),
          ...(def.DeregisterCriticalServiceAfter ? { DeregisterCriticalServiceAfter: def.DeregisterCriticalServiceAfter } : {}),
        }),
      },
    };
  }

  /**
   * An alias of a service on this node (CheckType.IsAlias: no interval or TTL needed). It starts critical, as every
   * check does, and takes its status from the aliased service's checks at once (refreshAliases).
   */
  private prepareAliasCheck(c: AgentCheckInput & { CheckID: string; Name: string; ServiceID: string; AliasService: string }): PreparedAgentCheck {
    const def: StoredAgentCheck['Definition'] = { CheckID: c.CheckID, Name: c.Name, AliasService: c.AliasService };
    if (c.ServiceID) def.ServiceID = c.ServiceID;
    if (c.Notes) def.Notes = c.Notes;
    return {
      def,
      check: {
        Node: this.node, CheckID: c.CheckID, Name: c.Name, Status: 'critical', Notes: c.Notes ?? '', Output: '',
        ServiceID: c.ServiceID, Type: 'alias', Interval: '', Timeout: '', ExposedPort: 0, Definition: wireDefinition({}),
      },
    };
  }

  /** Writes a check row and its runnable definition; a re-registered check keeps its status (Consul snapshots it). */
  private writeCheck(c: CatalogTxn, p: PreparedAgentCheck): void {
    const existing = c.check(this.node, p.check.CheckID);
    const row = existing ? { ...p.check, Status: existing.Status, Output: existing.Output } : p.check;
    c.putCheck({ ...row, ServiceName: '', ServiceTags: [] });
    c.putAgentCheck(this.node, p.check.CheckID, { Definition: p.def });
  }

  private onStoreChange(change: Change): void {
    const prefix = nodePrefix(this.node);
    if (change.mutations.some((m) => m.table === Tables.agentChecks && m.key.startsWith(prefix))) this.reconcile();
    if (this.aliases.size === 0) return;
    const touchesNode = change.mutations.some((m) => (m.table === Tables.checks || m.table === Tables.services || m.table === Tables.agentChecks) && m.key.startsWith(prefix));
    if (touchesNode) this.refreshAliases();
  }

  /**
   * Gives every alias check of this node the status its aliased service's checks give it (lib/checks/alias.ts). Only
   * a change is written, so the write this causes finds nothing more to do.
   */
  private refreshAliases(): void {
    if (this.aliases.size === 0) return;
    const checks = this.store.list<StoredCheck>(Tables.checks, nodePrefix(this.node)).map((row) => row.value).filter((check) => check.Node === this.node);
    for (const [checkId, target] of this.aliases) {
      const current = checks.find((check) => check.CheckID === checkId);
      if (!current) continue;
      const exists = this.store.get(Tables.services, serviceKey(this.node, target)) !== undefined;
      const { status, output } = aliasServiceStatus(checks.filter((check) => check.CheckID !== checkId), target, this.node, exists);
      if (current.Status === status && current.Output === output) continue;
      this.track(catalogWrite(this.store, (c) => {
        if (c.check(this.node, checkId)) c.updateCheckStatus(this.node, checkId, status, output);
      }));
    }
  }

  /** Makes the runner hold exactly the `agent-checks` rows of this node (alias checks are computed, not run). */
  private reconcile(): void {
    const rows = this.store.list<StoredAgentCheck>(Tables.agentChecks, nodePrefix(this.node));
    const seen = new Set<string>();
    this.aliases.clear();
    for (const row of rows) {
      const def = row.value.Definition;
      const id = def.CheckID;
      if (row.key !== checkKey(this.node, id)) continue;
      if (def.AliasService) {
        this.aliases.set(id, def.AliasService);
        continue;
      }
      seen.add(id);
      const json = JSON.stringify(def);
      if (this.running.get(id) === json) continue;
      const stored = this.store.get<StoredCheck>(Tables.checks, checkKey(this.node, id))?.value;
      try {
        // A resumed check starts from its recorded status rather than from its registration's initial one.
        this.runner.add(stored && !this.running.has(id) ? { ...def, Status: stored.Status } : def);
        this.running.set(id, json);
      } catch (err) {
        this.log.error({ check: id, err }, 'cannot run check');
      }
    }
    for (const id of [...this.running.keys()]) {
      if (seen.has(id)) continue;
      this.runner.remove(id);
      this.running.delete(id);
    }
  }

  private onCheckUpdate(checkId: string, status: CheckStatus, output: string): void {
    this.track(catalogWrite(this.store, (c) => c.updateCheckStatus(this.node, checkId, status, output)));
  }

  private async reap(serviceId: string): Promise<void> {
    await catalogWrite(this.store, (c) => c.deleteService(this.node, serviceId));
    this.log.info({ service: serviceId }, 'deregistered service whose check was critical for too long');
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.then(
      () => undefined,
      (err: unknown) => this.log.error({ err }, 'writing check state to the catalog failed'),
    );
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}

function maintenanceCheck(node: string, checkId: string, name: string, notes: string, serviceId: string): StoredCheck {
  return {
    Node: node, CheckID: checkId, Name: name, Status: 'critical', Notes: notes, Output: '', ServiceID: serviceId,
    ServiceName: '', ServiceTags: [], Type: 'maintenance', Interval: '', Timeout: '', ExposedPort: 0, Definition: wireDefinition({}),
  };
}
