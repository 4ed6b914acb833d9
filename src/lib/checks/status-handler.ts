/**
 * Consul's StatusHandler: consecutive-result thresholds between a probe and the notifier. Both counters start
 * at their thresholds, so the very first result is reported as is; after that a flip needs
 * `SuccessBeforePassing` consecutive successes (warning counts as success) or `FailuresBeforeWarning` /
 * `FailuresBeforeCritical` consecutive failures. A failure past the warning threshold but short of the critical
 * one is reported as warning. FailuresBeforeWarning defaults to FailuresBeforeCritical (agent.addCheck).
 */
import type { ProbeResult } from './types.ts';

export interface Thresholds {
  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;
}

export class StatusHandler {
  readonly #successBeforePassing: number;
  readonly #failuresBeforeWarning: number;
  readonly #failuresBeforeCritical: number;
  #successCounter: number;
  #failuresCounter: number;

  constructor(t: Thresholds) {
    this.#successBeforePassing = t.SuccessBeforePassing ?? 0;
    this.#failuresBeforeCritical = t.FailuresBeforeCritical ?? 0;
    this.#failuresBeforeWarning = t.FailuresBeforeWarning || this.#failuresBeforeCritical;
    this.#successCounter = this.#successBeforePassing;
    this.#failuresCounter = this.#failuresBeforeCritical;
  }

  /** Returns what to report for this result, or undefined while a threshold has not been reached. */
  next(result: ProbeResult): ProbeResult | undefined {
    if (result.status === 'passing' || result.status === 'warning') {
      this.#successCounter++;
      this.#failuresCounter = 0;
      return this.#successCounter >= this.#successBeforePassing ? result : undefined;
    }
    this.#failuresCounter++;
    this.#successCounter = 0;
    if (this.#failuresCounter >= this.#failuresBeforeCritical) return result;
    if (this.#failuresCounter >= this.#failuresBeforeWarning) return { status: 'warning', output: result.output };
    return undefined;
  }
}
