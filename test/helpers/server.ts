/**
 * Starting `meshgate server` for tests: in-process (fast, for most suites) or as a real child process running the
 * CLI (for kill -9 durability and anything that must see the shipped binary's behaviour).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { silentLogger } from '../../src/lib/logger.ts';
import { startServer } from '../../src/server/main.ts';
import type { RunningServer, StoreChoice } from '../../src/server/options.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export function tempDir(prefix = 'meshgate-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startTestServer(options: { dataDir?: string; nodeName?: string; store?: StoreChoice } = {}): Promise<RunningServer> {
  return startServer(
    {
      dev: options.dataDir === undefined,
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(options.store ? { store: options.store } : {}),
      httpAddr: '127.0.0.1:0',
      nodeName: options.nodeName ?? 'node-1',
      datacenter: 'dc1',
    },
    silentLogger(),
  );
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGKILL: nothing gets to flush. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `node src/cli/main.ts server …` (plus `extraArgs`) and waits until the API answers. */
export async function spawnServer(dataDir: string, port?: number, extraArgs: readonly string[] = []): Promise<ServerProcess> {
  const p = port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'src/cli/main.ts'), 'server', '--data-dir', dataDir, '--http-addr', `127.0.0.1:${p}`, '--node-name', 'node-1', '--log-level', 'warn', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MESHGATE_LOG_FORMAT: 'json' } },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${p}`;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`meshgate server exited early (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${url}/v1/status/leader`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      // Do not leave a late starter running: it would hold the test process open after the failure.
      child.kill('SIGKILL');
      throw new Error(`meshgate server did not start within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port: p,
    child,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls `probe` until it returns a truthy value; fails after the deadline with the last value seen. */
export async function eventually<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
