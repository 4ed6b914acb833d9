/** Helpers for the check runner's tests: a recording runner (the wait is lib/testing's waitFor). Not part of the public API. */
import { CheckRunner, type CheckRunnerOptions } from './runner.ts';
import type { CheckStatus } from './types.ts';

export interface Update {
  checkId: string;
  status: CheckStatus;
  output: string;
}

export interface Recorder {
  runner: CheckRunner;
  updates: Update[];
  reaps: Array<{ serviceId: string; checkId: string }>;
  /** Latest update for a check. */
  last(checkId: string): Update | undefined;
}

/** A runner with test-sized minimums whose callbacks record into arrays. */
export function recordingRunner(options: Partial<CheckRunnerOptions> = {}): Recorder {
  const updates: Update[] = [];
  const reaps: Array<{ serviceId: string; checkId: string }> = [];
  const runner = new CheckRunner({
    minInterval: 10,
    deregisterCriticalServiceAfterMin: 0,
    reapInterval: 20,
    checkUpdateInterval: 0,
    onUpdate: (checkId, status, output) => updates.push({ checkId, status, output }),
    onCriticalTooLong: (serviceId, checkId) => reaps.push({ serviceId, checkId }),
    ...options,
  });
  return {
    runner,
    updates,
    reaps,
    last: (checkId) => updates.filter((u) => u.checkId === checkId).at(-1),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
