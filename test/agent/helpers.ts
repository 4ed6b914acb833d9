/** `meshgate agent` as a real child process for the agent's end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../../src/lib/testing/wait-for.ts';
import { freePort, REPO_ROOT } from '../helpers/server.ts';

export interface AgentProcess {
  readonly url: string;
  readonly addr: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Runs `node src/cli/main.ts agent -http-addr 127.0.0.1:<free> …args` and waits until /v1/agent/self answers. */
export async function spawnAgent(args: readonly string[], env: Record<string, string> = {}): Promise<AgentProcess> {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'src/cli/main.ts'), 'agent', '-http-addr', addr, '-log-level', 'debug', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MESHGATE_LOG_FORMAT: 'json', ...env },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://${addr}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`meshgate agent exited early (${child.exitCode}): ${output}`);
      const res = await fetch(`${url}/v1/agent/self`).catch(() => undefined);
      await res?.arrayBuffer();
      return res?.ok;
    }, 'meshgate agent to answer', { deadlineMs: 60_000, intervalMs: 100 });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    addr,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
