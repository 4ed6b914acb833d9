/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it: a candidate takes
 * the Lease when it does not exist or its holder has not renewed it within `leaseDurationSeconds`, renews it while
 * it leads, and every write carries the Lease's resourceVersion, so of two candidates racing for an expired Lease
 * the API server lets exactly one win (the other gets 409 Conflict). Two replicas therefore never both act.
 */
import { hostname } from 'node:os';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../lib/logger.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  /** How often the leader renews and a follower retries; default a third of the lease duration. */
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  logger: Logger;
}

export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #options: LeaderElectionOptions;
  #leading = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  start(): void {
    void this.#tick();
  }

  /** Stops campaigning; a leader gives the Lease up (holder cleared) so another replica can take over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#setLeading(false);
    try {
      const lease = await this.#api.readNamespacedLease({ name: this.#options.name, namespace: this.#options.namespace });
      if (lease.spec?.holderIdentity === this.#options.identity) {
        lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 };
        await this.#api.replaceNamespacedLease({ name: this.#options.name, namespace: this.#options.namespace, body: lease });
      }
    } catch (err) {
      this.#options.logger.debug({ err }, 'could not release the lease');
    }
  }

  get #duration(): number {
    return this.#options.leaseDurationSeconds ?? 15;
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      this.#setLeading(await this.#tryAcquireOrRenew());
    } catch (err) {
      this.#options.logger.warn({ err }, 'leader election failed; retrying');
      this.#setLeading(false);
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#options.retryPeriodMs ?? (this.#duration * 1000) / 3);
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.#options;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      try {
        await this.#api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds: this.#duration, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        return true;
      } catch (createErr) {
        if ((createErr as { code?: number }).code === 409) return false;
        throw createErr;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? this.#duration) * 1000 < now.getTime();
    if (holder !== identity && holder !== '' && !expired) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: this.#duration,
      renewTime: now,
      ...(holder === identity ? {} : { acquireTime: now }),
      leaseTransitions: transitions,
    };
    try {
      await this.#api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 409) return false;
      throw err;
    }
  }

  #setLeading(leading: boolean): void {
    if (leading === this.#leading) return;
    this.#leading = leading;
    this.#options.logger.info({ lease: this.#options.name, identity: this.#options.identity, leading }, leading ? 'became leader' : 'lost leadership');
    if (leading) this.#options.onStartedLeading();
    else this.#options.onStoppedLeading();
  }
}

/** Where a command's Lease lives; every field but the namespace has a default. */
export interface LeaseSettings {
  kubeConfig: KubeConfig;
  logger: Logger;
  leaseNamespace: string;
  leaseName?: string;
  leaseDurationSeconds?: number;
  /** This replica's name in the Lease (default `<hostname>-<pid>`). */
  identity?: string;
}

/**
 * Starts campaigning for the Lease `settings.leaseName ?? defaultName` and hands leadership to every follower (a
 * controller's `setLeading`), so each `meshgate k8s` command wires its controllers to one Lease the same way.
 */
export function electLeader(settings: LeaseSettings, defaultName: string, followers: ReadonlyArray<{ setLeading(leading: boolean): void } | undefined>): LeaderElector {
  const elector = new LeaderElector({
    kubeConfig: settings.kubeConfig,
    logger: settings.logger,
    namespace: settings.leaseNamespace,
    name: settings.leaseName ?? defaultName,
    identity: settings.identity ?? `${hostname()}-${process.pid}`,
    ...(settings.leaseDurationSeconds ? { leaseDurationSeconds: settings.leaseDurationSeconds } : {}),
    onStartedLeading: () => followers.forEach((f) => f?.setLeading(true)),
    onStoppedLeading: () => followers.forEach((f) => f?.setLeading(false)),
  });
  elector.start();
  return elector;
}
