/**
 * A stand-in for `meshgate server` as a child process, for the durability test and the server benchmark while the
 * CLI (`src/cli/main.ts`) is not there: same flags (`--data-dir`, `--http-addr`, `--node-name`, `--log-level`),
 * same `startServer`, and it closes on SIGTERM/SIGINT. `spawnMeshgateServer` prefers the real CLI when it exists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export const REPO = resolve(import.meta.dirname, '../..');
export const CLI_ENTRY = join(REPO, 'src/cli/main.ts');
const SELF = join(REPO, 'test/helpers/server-child.ts');

export interface ChildServer {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** What was spawned: the real CLI or this stand-in. */
  readonly via: 'cli' | 'stand-in';
  /** SIGKILL: nothing gets to flush. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
  stderr(): string;
}

/**
 * Spawns `node [nodeArgs] src/cli/main.ts server …` (or the stand-in when the CLI is missing, or when
 * MESHGATE_SERVER_CHILD=stand-in) on 127.0.0.1:port and waits until /v1/status/leader answers.
 */
export async function spawnMeshgateServer(dataDir: string, port: number, opts: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Promise<ChildServer> {
  const useCli = existsSync(CLI_ENTRY) && process.env.MESHGATE_SERVER_CHILD !== 'stand-in';
  const entry = useCli ? [CLI_ENTRY, 'server'] : [SELF];
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), ...entry, '--data-dir', dataDir, '--http-addr', `127.0.0.1:${port}`, '--node-name', 'node-1', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MESHGATE_LOG_FORMAT: 'json', ...opts.env } },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`meshgate server exited early (${child.exitCode ?? child.signalCode}): ${stderr}`);
    try {
      const res = await fetch(`${url}/v1/status/leader`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`meshgate server did not start within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    child,
    via: useCli ? 'cli' : 'stand-in',
    stderr: () => stderr,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      'http-addr': { type: 'string', default: '127.0.0.1:8500' },
      'node-name': { type: 'string', default: 'node-1' },
      'log-level': { type: 'string', default: 'warn' },
    },
  });
  const { startServer } = await import('../../src/server/main.ts');
  const server = await startServer({
    dev: false,
    dataDir: values['data-dir']!,
    httpAddr: values['http-addr']!,
    nodeName: values['node-name']!,
    datacenter: 'dc1',
    logLevel: values['log-level']!,
  });
  const shutdown = (): void => {
    server.close().then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`close failed: ${String(err)}\n`);
      process.exit(1);
    });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`meshgate server stand-in failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
