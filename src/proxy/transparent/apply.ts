/**
 * Runs iptables rule lists, optionally inside a network namespace (`nsenter --net=<path>`, as Consul's executor
 * does for `-netns`). Rules run one by one, like Consul's: the first failure stops the run and is reported with the
 * rule that failed and iptables' own message.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { defineError, withCause } from '../../lib/errors.ts';
import type { IptablesArgs } from './rules.ts';

const run = promisify(execFile);

export const ErrIptables = defineError('MG_IPTABLES', 500, (rule: string, message: string) => `iptables ${rule}: ${message}`);

export interface ApplyOptions {
  /** Path of a network namespace (/var/run/netns/<name>); the rules go there instead of the caller's namespace. */
  netns?: string;
  /** The iptables binary; default `iptables` from PATH. */
  iptables?: string;
  /** Keep going past failing rules (removal: a jump that is already gone is fine). */
  ignoreErrors?: boolean;
}

export async function applyRules(rules: readonly IptablesArgs[], options: ApplyOptions = {}): Promise<void> {
  const iptables = options.iptables ?? 'iptables';
  for (const rule of rules) {
    const [file, args] = options.netns ? ['nsenter', [`--net=${options.netns}`, '--', iptables, ...rule]] : [iptables, [...rule]];
    try {
      await run(file, args, { timeout: 30_000 });
    } catch (err) {
      if (options.ignoreErrors) continue;
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw withCause(ErrIptables(rule.join(' '), stderr || (err as Error).message), err);
    }
  }
}
