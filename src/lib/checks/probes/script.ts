/**
 * Consul's script ("monitor") check, Nagios-style: exit 0 → passing, 1 → warning, anything else → critical,
 * stdout and stderr captured together (last 4 KiB). Runs only when the runner has `enableScriptChecks`.
 * The command runs in its own process group so a timeout kills everything it started.
 */
import { spawn } from 'node:child_process';
import { formatDuration } from '../../duration.ts';
import { errorMessage, TailBuffer } from '../output.ts';
import type { CheckDefinition, ProbeResult } from '../types.ts';
import { scriptArgs } from '../validate.ts';
import { registerProbe, type Probe, type ProbeContext } from './probe.ts';

export class ScriptProbe implements Probe {
  readonly #args: string[];
  readonly #ctx: ProbeContext;

  constructor(def: CheckDefinition, ctx: ProbeContext) {
    this.#args = scriptArgs(def);
    this.#ctx = ctx;
  }

  run(signal: AbortSignal): Promise<ProbeResult> {
    const output = new TailBuffer(this.#ctx.outputMaxSize);
    const text = (): string => {
      const s = output.toString();
      return output.totalWritten > output.size ? `Captured ${output.size} of ${output.totalWritten} bytes\n...\n${s}` : s;
    };
    return new Promise((resolve) => {
      const child = spawn(this.#args[0]!, this.#args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let timedOut = false;
      const killGroup = (): void => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch (err) {
          this.#ctx.logger.warn({ err: errorMessage(err) }, 'Check failed to kill after timeout');
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, this.#ctx.timeout);
      timer.unref();
      const onAbort = (): void => killGroup();
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (c: Buffer) => output.write(c));
      child.stderr.on('data', (c: Buffer) => output.write(c));
      child.once('error', (err) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve({ status: 'critical', output: err.message });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (timedOut) {
          const captured = text();
          const msg = `Timed out (${formatDuration(this.#ctx.timeout)}) running check`;
          resolve({ status: 'critical', output: captured ? `${msg}\n\n${captured}` : msg });
        } else if (code === 0) resolve({ status: 'passing', output: text() });
        else if (code === 1) resolve({ status: 'warning', output: text() });
        else resolve({ status: 'critical', output: text() });
      });
    });
  }

  async close(): Promise<void> {}
}

registerProbe('script', (def, ctx) => new ScriptProbe(def, ctx), 30_000);
