/** Test helper for commands run in process: a CliIO that records what the command prints. */
import type { CliIO } from './io.ts';

export function captureIO(env: Record<string, string | undefined> = {}, stdin = ''): CliIO & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    env,
    out(text: string) { io.stdout += text; },
    err(text: string) { io.stderr += text; },
    readStdin: async () => Buffer.from(stdin),
  };
  return io;
}
