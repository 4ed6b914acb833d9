/**
 * Replaces cluster workers one at a time, as nginx does on a reload: a new worker is forked (it receives the current
 * configuration and opens the shared listening sockets), and only once it reports ready is the old one told to
 * drain — it stops accepting, finishes what is in flight and exits. At every moment at least one worker accepts, so
 * no connection is refused. worker-roll.ts decides which workers are replaced; runCluster (main.ts) owns the workers.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from '../../lib/logger.ts';
import type { WorkerMessage } from './ipc.ts';
import type { RollDecision } from './worker-roll.ts';

/** How long a rolled-out worker's idle keep-alive connections wait for their next request (answered with `Connection: close`). */
export const ROLL_LINGER_IDLE_MS = 1000;
/** A replacement that has not opened its entry points by then is stopped and the old worker kept. */
const READY_WITHIN_MS = 120_000;

export interface WorkerRollerOptions {
  logger: Logger;
  /** Forks a replacement (the cluster sends it the current configuration when it says hello). */
  fork(): Worker;
  /** The replacement serves: from now on it is an ordinary worker. */
  started(worker: Worker): void;
  /** Tells `worker` to drain and exit; it is not replaced when it exits. */
  retire(worker: Worker): void;
  /** True once the gateway is stopping: queued rolls are dropped. */
  stopping(): boolean;
  /** How long a draining worker may take before it is killed. */
  exitWithinMs: number;
}

export class WorkerRoller {
  readonly #options: WorkerRollerOptions;
  readonly #queued = new Set<Worker>();
  #chain: Promise<void> = Promise.resolve();

  constructor(options: WorkerRollerOptions) {
    this.#options = options;
  }

  /** Replaces `worker` after the rolls already queued (one at a time). */
  queue(worker: Worker, decision: RollDecision): void {
    if (this.#queued.has(worker)) return;
    this.#queued.add(worker);
    this.#chain = this.#chain
      .then(() => this.#roll(worker, decision))
      .catch((err: unknown) => this.#options.logger.warn({ err: String(err), pid: worker.process.pid }, 'workerRoll: the worker was not replaced'))
      .finally(() => this.#queued.delete(worker));
  }

  /** Resolves once every queued roll has finished (tests, benchmarks). */
  idle(): Promise<void> {
    return this.#chain;
  }

  async #roll(old: Worker, decision: RollDecision): Promise<void> {
    const { logger } = this.#options;
    if (this.#options.stopping() || old.isDead()) return;
    logger.info({
      pid: old.process.pid, rssMiB: Math.round(decision.rssMiB), freshWorkerMiB: decision.freshMiB === undefined ? undefined : Math.round(decision.freshMiB),
      elements: decision.elements, largestElements: decision.peakElements,
    }, 'workerRoll: a smaller configuration replaced a larger one; replacing the worker to return its memory');
    const replacement = this.#options.fork();
    if (!(await readyOrGone(replacement))) {
      if (!replacement.isDead()) replacement.kill('SIGKILL');
      throw new Error('the replacement worker did not start');
    }
    this.#options.started(replacement);
    if (this.#options.stopping() || old.isDead()) return;
    const exited = new Promise<void>((resolve) => old.once('exit', () => resolve()));
    this.#options.retire(old);
    const kill = setTimeout(() => old.kill('SIGKILL'), this.#options.exitWithinMs);
    await exited;
    clearTimeout(kill);
    logger.info({ pid: old.process.pid, replacement: replacement.process.pid }, 'workerRoll: worker replaced');
  }
}

/** True once `worker` reports its entry points open; false if it fails, exits or takes too long. */
function readyOrGone(worker: Worker): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(ok);
    };
    const onMessage = (message: WorkerMessage) => {
      if (message?.type === 'meshgate:ready') done(true);
      else if (message?.type === 'meshgate:failed') done(false);
    };
    const onExit = () => done(false);
    const timer = setTimeout(() => done(false), READY_WITHIN_MS);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}
