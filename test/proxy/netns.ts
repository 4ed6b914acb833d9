/**
 * Two network namespaces joined by a veth pair, for the transparent-proxy tests: addresses from a private test range
 * exist only inside them, so nothing the tests send can leave the machine. Creating them needs root and a kernel that
 * allows netns; where either is missing `createNetnsPair` returns the reason, and the test skips saying it.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Namespace {
  readonly name: string;
  /** The path `-netns` and nsenter take. */
  readonly path: string;
  /** This namespace's address on the veth link. */
  readonly address: string;
}

export interface NetnsPair {
  readonly a: Namespace;
  readonly b: Namespace;
  cleanup(): Promise<void>;
}

/** UID/GID the tests run proxies as, so the capture rules can exclude them (Debian's `nobody`). */
export const PROXY_UID = 65534;

export async function createNetnsPair(tag: string): Promise<NetnsPair | { skip: string }> {
  if (process.getuid?.() !== 0) return { skip: 'network namespaces need root (ip netns); run the suite as root to cover transparent mode' };
  const id = `${tag}${process.pid % 10000}`;
  const subnet = `10.213.${process.pid % 250}`;
  const a: Namespace = { name: `mg-${id}-a`, path: `/var/run/netns/mg-${id}-a`, address: `${subnet}.1` };
  const b: Namespace = { name: `mg-${id}-b`, path: `/var/run/netns/mg-${id}-b`, address: `${subnet}.2` };
  const vethA = `mgv${id}a`.slice(0, 15);
  const vethB = `mgv${id}b`.slice(0, 15);
  const cleanup = async (): Promise<void> => {
    // Deleting a namespace removes its veth end, its iptables rules and every socket bound in it.
    for (const ns of [a, b]) await run('ip', ['netns', 'del', ns.name]).catch(() => undefined);
  };
  try {
    await cleanup();
    await run('ip', ['netns', 'add', a.name]);
    await run('ip', ['netns', 'add', b.name]);
    await run('ip', ['link', 'add', vethA, 'netns', a.name, 'type', 'veth', 'peer', 'name', vethB, 'netns', b.name]);
    for (const [ns, veth] of [[a, vethA], [b, vethB]] as const) {
      await run('ip', ['-n', ns.name, 'addr', 'add', `${ns.address}/24`, 'dev', veth]);
      await run('ip', ['-n', ns.name, 'link', 'set', veth, 'up']);
      await run('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    }
  } catch (err) {
    await cleanup();
    return { skip: `the kernel refused network namespaces or veth pairs here: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}` };
  }
  return { a, b, cleanup };
}

/** argv run inside the namespace, as `uid` when given (setpriv drops root after entering the namespace). */
function wrap(ns: Namespace, argv: readonly string[], uid?: number): string[] {
  const asUser = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  return ['netns', 'exec', ns.name, ...asUser, ...argv];
}

export function spawnIn(ns: Namespace, argv: readonly string[], options: { uid?: number; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn('ip', wrap(ns, argv, options.uid), { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
}

export async function execIn(ns: Namespace, argv: readonly string[], options: { uid?: number; timeoutMs?: number } = {}): Promise<string> {
  const { stdout } = await run('ip', wrap(ns, argv, options.uid), { timeout: options.timeoutMs ?? 30_000 });
  return stdout;
}

/** Resolves with the first stdout line matching `pattern` (a child announcing it is ready), rejects if it exits first. */
export function lineMatching(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        const match = line.match(pattern);
        if (match) {
          clearTimeout(timer);
          resolve(match);
          return;
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${pattern}; stderr: ${stderr}`));
    });
  });
}
