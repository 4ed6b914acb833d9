/**
 * When a cluster worker is worth replacing after a reload (issue 14: memory must return after a smaller configuration
 * replaces a larger one). V8 keeps the pages a large build grew into after the build is replaced: the heap's live
 * size falls back, the resident set does not, and only a memory-reducing full GC (a pause of hundreds of
 * milliseconds, measured in docs/benchmarks.md) returns them. A fresh process holding the small configuration is
 * small again, so the primary replaces such a worker the way nginx replaces its workers: a new one first, the old one
 * drained after (main.ts, runCluster).
 *
 * The rule, per worker, on each configuration it applied: the configuration shrank to at most half the largest one
 * this worker held, and its resident set is more than `thresholdMiB` above what a fresh worker reported with a
 * configuration no larger than the new one — and in every case it shrank by at least `MIN_SHRINK_ELEMENTS`. When no
 * fresh worker ever held so small a configuration (every worker started with a larger one), that shrink alone decides.
 *
 * Growth is decided in the primary, before a configuration is sent (`WorkerRollPolicy.grows`): a configuration that
 * adds at least `growthElements` elements over what the workers serve is not built by a serving worker at all. Its
 * build would grow the serving heap by hundreds of MiB, and that heap's major GCs (tens of milliseconds each) and the
 * build's own slices would share the thread that answers requests; fresh workers build it before they accept a
 * connection instead, and the old ones drain once every replacement serves (worker-roller.ts `replaceAll`).
 */
import type { DynamicConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';

export interface WorkerRollSettings {
  enabled: boolean;
  /** How far above a fresh worker's resident set (MiB) a worker may stay after a shrink before it is replaced. */
  thresholdMiB: number;
  /** A configuration adding at least this many elements over the served one is built in fresh workers. */
  growthElements: number;
}

export const DEFAULT_WORKER_ROLL_THRESHOLD_MIB = 64;
/**
 * 10,000 elements: a build of that size grows a worker's heap by about 60 MiB (50,000 routers: ~130 MiB live, 300 MiB
 * resident, docs/benchmarks.md); below it a build in place is short and its GCs are small, and a roll (a fork and a
 * fresh worker's start, ~1 s of CPU) is not worth it.
 */
export const DEFAULT_WORKER_ROLL_GROWTH_ELEMENTS = 10_000;
/**
 * A smaller shrink is never rolled. What a configuration keeps grows with its elements (about 1.4 KiB per router,
 * docs/benchmarks.md), so a few hundred elements cannot explain a resident set `thresholdMiB` above a fresh worker's;
 * traffic can (a worker under load commits its young generation and buffers, and a fresh worker reports its figure
 * before any), and a replacement would grow back to it — a roll for nothing that closes every keep-alive connection.
 * Without a fresh worker's figure to compare with, a shrink this large alone decides.
 */
export const MIN_SHRINK_ELEMENTS = 1000;
/** How many fresh workers' figures are remembered (the newest). */
const FLOORS_KEPT = 32;

export function workerRollSettings(staticConfig: StaticConfig): WorkerRollSettings {
  return {
    enabled: staticConfig.workerRoll?.enabled ?? true,
    thresholdMiB: staticConfig.workerRoll?.thresholdMiB ?? DEFAULT_WORKER_ROLL_THRESHOLD_MIB,
    growthElements: staticConfig.workerRoll?.growthElements ?? DEFAULT_WORKER_ROLL_GROWTH_ELEMENTS,
  };
}

/** Routers, services, middlewares and transports of every protocol: what a build's memory grows with. */
export function configurationElements(config: DynamicConfig): number {
  let count = 0;
  for (const protocol of [config.http, config.tcp, config.udp] as Array<Record<string, unknown> | undefined>) {
    if (protocol === undefined) continue;
    for (const section of Object.values(protocol)) {
      if (section !== null && typeof section === 'object') count += Object.keys(section).length;
    }
  }
  return count;
}

/** What a worker reports after each configuration it applied. */
export interface AppliedReport {
  /** Elements of the configuration now serving (configurationElements). */
  elements: number;
  /** Its resident set now, MiB. */
  rssMiB: number;
  /** The worker's first configuration since it started. */
  first: boolean;
}

export interface RollDecision {
  peakElements: number;
  elements: number;
  rssMiB: number;
  /** A fresh worker's resident set with a configuration no larger; undefined when none was measured. */
  freshMiB: number | undefined;
}

export class WorkerRollPolicy {
  readonly #settings: WorkerRollSettings;
  readonly #peak = new Map<number, number>();
  #floors: Array<{ elements: number; rssMiB: number }> = [];

  constructor(settings: WorkerRollSettings) {
    this.#settings = settings;
  }

  /** Records `worker`'s report; returns why to replace it, or undefined to keep it. */
  applied(worker: number, report: AppliedReport): RollDecision | undefined {
    if (report.first) {
      this.#floors.push({ elements: report.elements, rssMiB: report.rssMiB });
      if (this.#floors.length > FLOORS_KEPT) this.#floors = this.#floors.slice(-FLOORS_KEPT);
    }
    const peakElements = Math.max(this.#peak.get(worker) ?? 0, report.elements);
    this.#peak.set(worker, peakElements);
    if (!this.#settings.enabled || report.first || report.elements * 2 > peakElements) return undefined;
    if (peakElements - report.elements < MIN_SHRINK_ELEMENTS) return undefined;
    const fresh = this.#floors.filter((f) => f.elements <= report.elements).map((f) => f.rssMiB);
    const freshMiB = fresh.length > 0 ? Math.min(...fresh) : undefined;
    const roll = freshMiB === undefined || report.rssMiB - freshMiB > this.#settings.thresholdMiB;
    return roll ? { peakElements, elements: report.elements, rssMiB: report.rssMiB, freshMiB } : undefined;
  }

  /**
   * In the primary, before `next` elements are sent to workers serving `served`: true when fresh workers should
   * build it instead (see the file's comment).
   */
  grows(served: number, next: number): boolean {
    return this.#settings.enabled && next - served >= this.#settings.growthElements;
  }

  /** The worker exited: its peak no longer matters. */
  forget(worker: number): void {
    this.#peak.delete(worker);
  }
}
