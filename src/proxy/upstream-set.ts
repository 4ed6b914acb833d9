/**
 * The proxy's explicit upstreams as a set that can change while it runs: `apply` takes the registration's current
 * upstream list and opens a listener for each new one, closes the listener (and its connections) of each removed one,
 * and restarts one whose definition changed; an upstream whose definition is unchanged keeps its listener, its open
 * connections and its pools. Upstreams are told apart by destination and datacenter, as Consul's upstream
 * identifier does (structs.Upstream Identifier: name, namespace, partition, datacenter).
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../lib/logger.ts';
import { UpstreamListener } from './listener.ts';
import { Upstream, type UpstreamDeps, type UpstreamSpec } from './upstream.ts';

/** How long a new upstream listener keeps trying a port that is in use before the apply reports it. */
const BIND_RETRY_MS = 30_000;
/** After an apply that left an upstream unopened: first pause before trying it again, and the cap of the doubling. */
const REOPEN_INITIAL_MS = 1_000;
const REOPEN_MAX_MS = 30_000;

export interface UpstreamSetOptions {
  /** See BIND_RETRY_MS (tests shorten it). */
  readonly bindRetryMs?: number;
  /** See REOPEN_INITIAL_MS (tests shorten it). */
  readonly reopenInitialMs?: number;
  /** How long a new upstream waits for its first discovery chain before its listener opens (Upstream.start). */
  readonly firstChainWaitMs?: number;
}

interface Running {
  readonly spec: UpstreamSpec;
  readonly fingerprint: string;
  readonly upstream: Upstream;
  readonly listener: UpstreamListener;
  readonly address: AddressInfo;
}

export class UpstreamSet {
  /** By destination name: what a transparent listener maps an original destination to. */
  readonly byName = new Map<string, Upstream>();
  /** Listener addresses by destination name. */
  readonly addresses = new Map<string, AddressInfo>();
  private readonly running = new Map<string, Running>();
  private readonly deps: Omit<UpstreamDeps, 'logger'>;
  private readonly logger: Logger;
  private readonly options: UpstreamSetOptions;
  /** apply() calls run one at a time: a port freed by a removal must be free before a new listener binds it. */
  private queue: Promise<void> = Promise.resolve();
  /**
   * The upstreams the registration asks for now. The registration watch treats a registration as applied once it
   * was handed over, failed or not (it must not re-apply an edit that does not parse), so an upstream that could
   * not open is this set's to retry until it opens or leaves the registration; otherwise it would stay down until
   * some unrelated edit of the registration.
   */
  private wanted: readonly UpstreamSpec[] = [];
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenAttempts = 0;
  private stopped = false;

  constructor(deps: Omit<UpstreamDeps, 'logger'>, logger: Logger, options: UpstreamSetOptions = {}) {
    this.deps = deps;
    this.logger = logger;
    this.options = options;
  }

  /**
   * Brings the running upstreams in line with `specs`. Rejects when a new listener cannot bind (others still apply);
   * the ones that failed are tried again in the background, with a doubling pause, until they open or a later
   * apply no longer names them.
   */
  apply(specs: readonly UpstreamSpec[]): Promise<void> {
    this.wanted = specs;
    this.cancelReopen();
    this.reopenAttempts = 0;
    return this.enqueue(specs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelReopen();
    await this.queue;
    for (const key of [...this.running.keys()]) await this.remove(key);
  }

  private enqueue(specs: readonly UpstreamSpec[]): Promise<void> {
    const next = this.queue.then(() => this.reconcile(specs));
    this.queue = next.catch(() => {});
    // Only the newest wanted list is retried: an older apply that failed after a newer one was queued must not
    // reopen what the newer one removed.
    next.catch(() => {
      if (this.wanted === specs) this.scheduleReopen();
    });
    return next;
  }

  private scheduleReopen(): void {
    if (this.stopped || this.reopenTimer) return;
    const delay = Math.min(REOPEN_MAX_MS, (this.options.reopenInitialMs ?? REOPEN_INITIAL_MS) * 2 ** Math.min(this.reopenAttempts++, 10));
    const specs = this.wanted;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.wanted !== specs || this.stopped) return;
      this.logger.info({ upstreams: specs.filter((s) => !this.running.has(identity(s))).map((s) => s.destinationName) }, 'opening upstream listeners that failed; retrying');
      void this.enqueue(specs).catch(() => {}); // each failure was logged by reconcile
    }, delay);
    // The retry is no reason for the process to stay up.
    this.reopenTimer.unref();
  }

  private cancelReopen(): void {
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
  }

  private async reconcile(specs: readonly UpstreamSpec[]): Promise<void> {
    const wanted = new Map(specs.map((s) => [identity(s), s]));
    for (const [key, r] of [...this.running]) {
      const spec = wanted.get(key);
      if (spec && fingerprint(spec) === r.fingerprint) continue;
      await this.remove(key);
      this.logger.info({ upstream: r.spec.destinationName, change: spec ? 'changed' : 'removed' }, 'upstream listener closed');
    }
    const failures: unknown[] = [];
    for (const [key, spec] of wanted) {
      if (this.running.has(key)) continue;
      try {
        await this.add(key, spec);
      } catch (err) {
        failures.push(err);
        this.logger.error({ err, upstream: spec.destinationName, port: spec.localBindPort }, 'opening the upstream listener failed');
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  private async add(key: string, spec: UpstreamSpec): Promise<void> {
    const upstream = new Upstream(spec, { ...this.deps, logger: this.logger.child({ upstream: spec.destinationName }) });
    await upstream.start(this.options.firstChainWaitMs);
    let listener: UpstreamListener;
    let address: AddressInfo;
    try {
      ({ listener, address } = await this.listenRetrying(upstream));
    } catch (err) {
      upstream.stop();
      throw err;
    }
    this.running.set(key, { spec, fingerprint: fingerprint(spec), upstream, listener, address });
    this.byName.set(spec.destinationName, upstream);
    this.addresses.set(spec.destinationName, address);
    this.logger.info({ upstream: spec.destinationName, address: `${address.address}:${address.port}` }, 'upstream listener opened');
  }

  /** Binds the upstream's port (retrying while it is in use, see bindWhileInUse). */
  private listenRetrying(upstream: Upstream): Promise<{ listener: UpstreamListener; address: AddressInfo }> {
    const retryMs = this.options.bindRetryMs ?? BIND_RETRY_MS;
    return bindWhileInUse(async () => {
      const listener = new UpstreamListener(upstream, (err) => this.logger.warn({ err, upstream: upstream.spec.destinationName }, 'upstream listener error; still listening'));
      try {
        return { listener, address: await listener.listen() };
      } catch (err) {
        await listener.close();
        throw err;
      }
    }, (attempt) => this.logger.warn({ upstream: upstream.spec.destinationName, port: upstream.spec.localBindPort, attempt }, 'upstream port in use; retrying'), retryMs);
  }

  private async remove(key: string): Promise<void> {
    const r = this.running.get(key);
    if (!r) return;
    this.running.delete(key);
    if (this.byName.get(r.spec.destinationName) === r.upstream) {
      this.byName.delete(r.spec.destinationName);
      this.addresses.delete(r.spec.destinationName);
    }
    await r.listener.close();
    r.upstream.stop();
  }
}

function identity(spec: UpstreamSpec): string {
  return `${spec.destinationName}|${spec.datacenter ?? ''}`;
}

function fingerprint(spec: UpstreamSpec): string {
  return JSON.stringify([spec.destinationName, spec.datacenter ?? '', spec.protocol ?? '', spec.connectTimeoutMs ?? 0, spec.localBindAddress, spec.localBindPort]);
}

/**
 * Runs `bind` again while it fails with EADDRINUSE, for up to `retryMs`: the port a registration names can be held for a
 * moment by something short-lived (an outgoing connection's ephemeral port, the previous sidecar still closing). Where
 * Kubernetes would restart the container, the sidecar waits instead of failing its start. Other errors fail at once.
 */
export async function bindWhileInUse<T>(bind: () => Promise<T>, onRetry: (attempt: number) => void, retryMs = BIND_RETRY_MS): Promise<T> {
  const deadline = Date.now() + retryMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await bind();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() >= deadline) throw err;
      onRetry(attempt);
      await sleep(Math.min(1000, 100 * 2 ** attempt));
    }
  }
}
