/**
 * Replaces cluster workers as nginx does on a reload: a new worker is forked (it receives the current configuration,
 * builds it, and only then opens the shared listening sockets), and only once it reports ready is the old one told to
 * drain — it stops accepting, finishes what is in flight and exits. At every moment at least one worker accepts, so
 * no connection is refused. After a shrink (`queue`) workers are replaced one at a time; for a configuration that
 * grows a lot (`replaceAll`) every worker is replaced in one swap: all replacements are forked together, and the old
 * workers are retired together once every replacement serves, so requests see the old configuration until the swap
 * and the new one after it (with old and new workers serving side by side, a client's answers would flip between the
 * two until the last old worker went). worker-roll.ts decides; runCluster (main.ts) owns the workers.
 */
import type { Worker } from 'node:cluster';
import type { Logger } from '../../lib/logger.ts';
import type { WorkerMessage } from './ipc.ts';
import type { RollDecision } from './worker-roll.ts';

/** A growth roll (main.ts growInFreshWorkers). */
export interface GrowthRoll {
  /** Elements the serving workers hold, and of the configuration that replaces it. */
  served: number;
  elements: number;
  /** Each replacement as it is forked (before it says hello): the primary sends it every new configuration. */
  forked(worker: Worker): void;
  /** The workers to retire at the swap (every serving worker that is not a replacement). */
  old(): Worker[];
}

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

  /**
   * Replaces every serving worker by one of `count` fresh ones that build the latest configuration before they
   * accept (after the rolls already queued). Resolves `true` at the swap (the old workers told to drain), `false`
   * when a replacement did not start (the others are stopped, the old workers keep serving).
   */
  replaceAll(count: number, roll: GrowthRoll): Promise<boolean> {
    let swapped: (ok: boolean) => void;
    const result = new Promise<boolean>((resolve) => (swapped = resolve));
    this.#chain = this.#chain
      .then(() => this.#replaceAll(count, roll, (ok) => swapped(ok)))
      .catch((err: unknown) => this.#options.logger.warn({ err: String(err) }, 'workerRoll: the workers were not replaced; the old ones build the configuration'))
      .finally(() => swapped(false));
    return result;
  }

  async #replaceAll(count: number, roll: GrowthRoll, swapped: (ok: boolean) => void): Promise<void> {
    const { logger } = this.#options;
    if (this.#options.stopping()) return;
    logger.info({ elements: roll.elements, servedElements: roll.served, workers: count },
      'workerRoll: the configuration grows; building it in fresh workers before they accept, the old ones serve until the swap');
    const replacements = Array.from({ length: count }, () => {
      const worker = this.#options.fork();
      roll.forked(worker);
      return worker;
    });
    const started = await Promise.all(replacements.map(readyOrGone));
    if (!started.every(Boolean)) {
      for (const worker of replacements) if (!worker.isDead()) worker.kill('SIGKILL');
      throw new Error('a replacement worker did not start');
    }
    for (const worker of replacements) this.#options.started(worker);
    if (this.#options.stopping()) return;
    const old = roll.old();
    const exited = old.map((worker) => new Promise<void>((resolve) => {
      if (worker.isDead()) return resolve();
      worker.once('exit', () => resolve());
    }));
    for (const worker of old) this.#options.retire(worker);
    swapped(true);
    const kill = setTimeout(() => {
      for (const worker of old) if (!worker.isDead()) worker.kill('SIGKILL');
    }, this.#options.exitWithinMs);
    await Promise.all(exited);
    clearTimeout(kill);
    logger.info({ pids: old.map((worker) => worker.process.pid), replacements: replacements.map((worker) => worker.process.pid) }, 'workerRoll: workers replaced');
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
