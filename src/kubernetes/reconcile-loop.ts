/**
 * How every controller here runs its reconcile: changes are coalesced (a trigger waits `quietPeriodMs` and
 * triggers during the wait join it), one reconcile runs at a time (a trigger during one queues exactly one more),
 * and a failed reconcile is logged and retried after `retryDelayMs`. The controllers recompute their whole desired
 * state each time, so a reconcile needs to know only *that* something changed.
 */
import type { Logger } from '../lib/logger.ts';

export interface ReconcileLoopOptions {
  reconcile: () => Promise<void>;
  logger: Logger;
  /** Said in the log line of a failed reconcile ("sync to the catalog"). */
  what: string;
  quietPeriodMs?: number;
  retryDelayMs?: number;
}

export class ReconcileLoop {
  readonly #options: ReconcileLoopOptions;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #queued = false;
  #stopped = false;

  constructor(options: ReconcileLoopOptions) {
    this.#options = options;
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

  /** No more reconciles; resolves once the one running (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#retry) clearTimeout(this.#retry);
    await this.#running;
  }
}
