/**
 * What a command may touch: its output streams, environment and stdin, passed in so tests can run `main()` in
 * process and capture everything. Failures are coded errors; `main` prints their message and exits 1.
 */
import { defineError } from '../lib/errors.ts';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  readStdin(): Promise<Buffer>;
}

export const CliErrors = {
  /** The message is printed as is (already in Consul's wording, e.g. "Error! No key exists at: foo"). */
  failed: defineError('MG_CLI_FAILED', 400, (message: string) => message),
  usage: defineError('MG_CLI_USAGE', 400, (message: string) => message),
} as const;

export function processIO(): CliIO {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    async readStdin() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
  };
}

/** A line of output, like Consul's UI.Info (adds the newline). */
export function info(io: CliIO, line: string): void {
  io.out(`${line}\n`);
}
