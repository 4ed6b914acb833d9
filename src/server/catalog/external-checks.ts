/**
 * Health checks for external services (consul-esm's job, done by the server itself as ARCHITECTURE.md asks): a
 * check registered through the catalog on an external node — node meta `external-node = "true"`, the marker
 * consul-esm watches for (its README: "external-node" node meta) — whose `Definition` has an HTTP, TCP or gRPC
 * target and an `Interval`, is run here. Checks of any other node belong to that node's agent and are never probed
 * from the server, Definition or not and its status changes are written back. The runner follows the
 * `checks` table: a new or changed definition is (re)started, a deleted check stopped. `DeregisterCriticalServiceAfter`
 * in the definition removes the service, as consul-esm does.
 */
import { CheckRunner, type CheckRunnerOptions, type CheckStatus } from '../../lib/checks/index.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ServerDeps } from '../deps.ts';
import type { Change } from '../store/types.ts';
import { runnableDefinition } from './register.ts';
import { catalogWrite } from './state.ts';
import { Tables, type StoredCheck, type StoredNode } from './tables.ts';

/** consul-esm's node meta marking a node that has no agent of its own. */
export const EXTERNAL_NODE_META = 'external-node';

export class ExternalChecks {
  private readonly deps: ServerDeps;
  private readonly log: Logger;
  private readonly runner: CheckRunner;
  /** runner id (`<node>/<checkID>`) → JSON of the definition being run. */
  private readonly running = new Map<string, string>();
  private unsubscribe: (() => void) | undefined;
  private unsubscribeLeadership: (() => void) | undefined;

  constructor(deps: ServerDeps, runner: Partial<Omit<CheckRunnerOptions, 'onUpdate' | 'onCriticalTooLong'>> = {}) {
    this.deps = deps;
    this.log = deps.logger.child({ component: 'external-checks' });
    this.runner = new CheckRunner({
      ...runner,
      logger: this.log,
      onUpdate: (id, status, output) => this.onUpdate(id, status, output),
      onCriticalTooLong: (serviceKey) => this.onCriticalTooLong(serviceKey),
      onRun: (_id, kind, status) => this.deps.metrics.checkRuns.inc({ type: kind, status }),
    });
  }

  start(): void {
    this.unsubscribe = this.deps.store.onChange((change) => this.onChange(change));
    this.unsubscribeLeadership = this.deps.store.onLeadership((leading) => {
      this.log.info({ leading }, leading ? 'leading: running external checks' : 'not leading: external checks stop here');
      this.reconcile();
    });
    this.reconcile();
    this.deps.onClose(() => this.close());
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unsubscribeLeadership?.();
    this.unsubscribeLeadership = undefined;
    await this.runner.stop();
  }

  private onChange(change: Change): void {
    // A node gaining or losing its external-node meta starts or stops its checks too.
    if (change.mutations.some((m) => m.table === Tables.checks || m.table === Tables.nodes)) this.reconcile();
  }

  private reconcile(): void {
    const own = this.deps.identity.nodeName;
    const seen = new Set<string>();
    // Not leading: nothing is seen, so everything running stops.
    const rows = this.deps.store.isLeader ? this.deps.store.list<StoredCheck>(Tables.checks) : [];
    for (const row of rows) {
      const check = row.value;
      if (check.Node === own || !this.isExternalNode(check.Node)) continue;
      const id = row.key;
      const def = runnableDefinition(check, id, check.ServiceID ? `${check.Node}/${check.ServiceID}` : '');
      if (!def) continue;
      seen.add(id);
      // Status is ours to change; only the probe's definition decides whether the check must restart.
      const json = JSON.stringify({ ...def, Status: undefined });
      if (this.running.get(id) === json) continue;
      try {
        this.runner.add(def);
        this.running.set(id, json);
      } catch (err) {
        this.log.warn({ check: id, err }, 'cannot run external check');
      }
    }
    for (const id of [...this.running.keys()]) {
      if (seen.has(id)) continue;
      this.runner.remove(id);
      this.running.delete(id);
    }
  }

  private isExternalNode(node: string): boolean {
    return this.deps.store.get<StoredNode>(Tables.nodes, node)?.value.Meta?.[EXTERNAL_NODE_META] === 'true';
  }

  private onUpdate(id: string, status: CheckStatus, output: string): void {
    if (!this.deps.store.isLeader) return; // a run that ended just after leadership moved
    const row = this.deps.store.get<StoredCheck>(Tables.checks, id);
    if (!row) return;
    const { Node, CheckID } = row.value;
    catalogWrite(this.deps.store, (c) => c.updateCheckStatus(Node, CheckID, status, output)).catch((err: unknown) => {
      this.log.error({ check: id, err }, 'writing external check status failed');
    });
  }

  private onCriticalTooLong(serviceKey: string): void {
    if (!this.deps.store.isLeader) return;
    const row = this.deps.store.get<{ Node: string; ID: string }>(Tables.services, serviceKey);
    if (!row) return;
    const { Node, ID } = row.value;
    this.log.info({ node: Node, service: ID }, 'external service critical for too long; deregistering');
    catalogWrite(this.deps.store, (c) => c.deleteService(Node, ID)).catch((err: unknown) => {
      this.log.error({ service: serviceKey, err }, 'deregistering external service failed');
    });
  }
}
