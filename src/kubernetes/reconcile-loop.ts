/**
 * How every controller here runs: its caches (informers) started and stopped with it, changes coalesced (a trigger
 * waits `quietPeriodMs` and triggers during the wait join it), one reconcile at a time (a trigger during one queues
 * exactly one more), a failed reconcile logged and retried after `retryDelayMs`, an optional periodic resync that
 * repairs drift made behind the controller's back, and the leadership flag a LeaderElector sets (a new leader
 * reconciles at once). The controllers recompute their whole desired state each time, so a reconcile needs to know
 * only *that* something changed; each one checks `leading` itself, since only the Lease holder may write.
 */
import type { Logger } from '../lib/logger.ts';

/** A cache the loop starts before the first reconcile and stops with it (an informer's `Watched`). */
export interface ReconcileCache {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ReconcileLoopOptions {
  reconcile: () => Promise<void>;
  logger: Logger;
  /** Said in the log line of a failed reconcile ("sync to the catalog"). */
  what: string;
  caches?: readonly ReconcileCache[];
  /** A full reconcile this often even without a change; none when unset. */
  resyncIntervalMs?: number;
  /** Called when this replica becomes leader, before its first reconcile (to forget what a past term wrote). */
  onStartedLeading?: () => void;
  quietPeriodMs?: number;
  retryDelayMs?: number;
}

export class ReconcileLoop {
  readonly #options: ReconcileLoopOptions;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #resync: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #queued = false;
  #stopped = false;
  #leading = false;

  constructor(options: ReconcileLoopOptions) {
    this.#options = options;
  }

  /** Whether this replica holds the Lease and may write. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Starts the caches (resolves once each has listed), then the periodic resync. */
  async start(): Promise<void> {
    await Promise.all((this.#options.caches ?? []).map((c) => c.start()));
    const every = this.#options.resyncIntervalMs;
    if (every !== undefined && !this.#stopped) {
      this.#resync = setInterval(() => this.trigger(), every);
      this.#resync.unref();
    }
  }

  /** Leadership changes come from the LeaderElector; a new leader reconciles everything at once. */
  setLeading(leading: boolean): void {
    this.#leading = leading;
    if (!leading) return;
    this.#options.onStartedLeading?.();
    this.trigger();
  }

  trigger(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#schedule();
    }, this.#options.quietPeriodMs ?? 100);
  }

  async #schedule(): Promise<void> {
    if (this.#queued) return;
    this.#queued = true;
    await this.#running;
    this.#queued = false;
    if (this.#stopped) return;
    this.#running = this.#options.reconcile().catch((err: unknown) => {
      this.#options.logger.warn({ err }, `${this.#options.what} failed; retrying`);
      this.#retry = setTimeout(() => this.trigger(), this.#options.retryDelayMs ?? 1_000);
      this.#retry.unref();
    });
    await this.#running;
  }

  /** No more reconciles; stops the caches and resolves once the reconcile running (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#resync) clearInterval(this.#resync);
    await Promise.all((this.#options.caches ?? []).map((c) => c.stop()));
    await this.#running;
  }
}
