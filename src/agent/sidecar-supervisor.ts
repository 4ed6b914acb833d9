/**
 * Supervision of the sidecar proxies the agent's service definitions ask for (`connect { sidecar_service {} }`):
 * one `meshgate proxy -sidecar-for <service-id> -http-addr <this agent>` child per sidecar, its token passed in the
 * environment (CONSUL_HTTP_TOKEN — never on the command line, where `ps` would show it), its output relayed line by
 * line with a `[sidecar <id>]` prefix. A child that exits is restarted after an exponential backoff (1 s doubling
 * up to 30 s, reset once a child has run for 30 s); children are stopped (SIGTERM, then SIGKILL after 5 s) when
 * their sidecar goes away and when the agent exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../lib/logger.ts';

/** argv prefix that runs the meshgate CLI; the supervisor appends `proxy -sidecar-for …`. */
export type ProxyCommand = readonly string[];

export const DEFAULT_PROXY_COMMAND: ProxyCommand = [process.execPath, fileURLToPath(new URL('../cli/main.ts', import.meta.url))];
const BACKOFF_INITIAL_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
/** A child that ran this long was healthy: the next failure starts the backoff over. */
const STABLE_AFTER_MS = 30_000;
const STOP_GRACE_MS = 5_000;

export interface WantedSidecar {
  sidecarId: string;
  /** The service it fronts: what `-sidecar-for` names. */
  serviceId: string;
  token: string;
}

interface Supervised {
  wanted: WantedSidecar;
  httpAddr: string;
  child: ChildProcess | undefined;
  startedAt: number;
  failures: number;
  restartTimer: NodeJS.Timeout | undefined;
  stopping: boolean;
  exited: Promise<void>;
  /** Starts counted, for tests and /v1/agent/self. */
  starts: number;
}

export interface SidecarSupervisorOptions {
  logger: Logger;
  command?: ProxyCommand;
  /** Tests shorten the backoff. */
  backoffInitialMs?: number;
}

export class SidecarSupervisor {
  readonly #log: Logger;
  readonly #command: ProxyCommand;
  readonly #backoffInitial: number;
  readonly #children = new Map<string, Supervised>();
  #stopped = false;

  constructor(options: SidecarSupervisorOptions) {
    this.#log = options.logger.child({ component: 'sidecars' });
    this.#command = options.command ?? DEFAULT_PROXY_COMMAND;
    this.#backoffInitial = options.backoffInitialMs ?? BACKOFF_INITIAL_MS;
  }

  /** Makes the running set match `wanted`: new ones start, gone ones stop, changed ones (token, address) restart. */
  reconcile(wanted: readonly WantedSidecar[], httpAddr: string): void {
    if (this.#stopped) return;
    const ids = new Set(wanted.map((w) => w.sidecarId));
    for (const [id, s] of this.#children) {
      if (!ids.has(id)) {
        this.#children.delete(id);
        void this.#stop(s);
      }
    }
    for (const w of wanted) {
      const current = this.#children.get(w.sidecarId);
      if (current && current.wanted.serviceId === w.serviceId && current.wanted.token === w.token && current.httpAddr === httpAddr) continue;
      if (current) void this.#stop(current);
      const s: Supervised = { wanted: w, httpAddr, child: undefined, startedAt: 0, failures: 0, restartTimer: undefined, stopping: false, exited: Promise.resolve(), starts: 0 };
      this.#children.set(w.sidecarId, s);
      this.#spawn(s);
    }
  }

  /** Sidecar ID → pid of its running child (undefined between restarts) and how often it was started. */
  status(): Record<string, { pid: number | undefined; starts: number }> {
    const out: Record<string, { pid: number | undefined; starts: number }> = Object.create(null);
    for (const [id, s] of this.#children) out[id] = { pid: s.child?.exitCode === null ? s.child.pid : undefined, starts: s.starts };
    return out;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const all = [...this.#children.values()];
    this.#children.clear();
    await Promise.all(all.map((s) => this.#stop(s)));
  }

  #spawn(s: Supervised): void {
    if (s.stopping || this.#stopped) return;
    const [cmd, ...prefix] = this.#command;
    const args = [...prefix, 'proxy', '-sidecar-for', s.wanted.serviceId, '-http-addr', s.httpAddr];
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.CONSUL_HTTP_TOKEN;
    delete env.MESHGATE_HTTP_TOKEN;
    if (s.wanted.token) env.CONSUL_HTTP_TOKEN = s.wanted.token;
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    s.child = child;
    s.startedAt = Date.now();
    s.starts++;
    const log = this.#log.child({ sidecar: s.wanted.sidecarId });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => log.info(`[sidecar ${s.wanted.sidecarId}] ${line}`));
    }
    s.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        log.error({ err: err.message }, 'cannot start sidecar proxy');
        resolve();
        this.#scheduleRestart(s);
      });
      child.once('exit', (code, signal) => {
        resolve();
        if (s.stopping) return;
        log.warn({ code, signal }, 'sidecar proxy exited; restarting');
        this.#scheduleRestart(s);
      });
    });
    log.info({ pid: child.pid, args }, 'sidecar proxy started');
  }

  #scheduleRestart(s: Supervised): void {
    if (s.stopping || this.#stopped || s.restartTimer) return;
    s.failures = Date.now() - s.startedAt >= STABLE_AFTER_MS ? 1 : s.failures + 1;
    const delay = Math.min(BACKOFF_MAX_MS, this.#backoffInitial * 2 ** (s.failures - 1));
    s.restartTimer = setTimeout(() => {
      s.restartTimer = undefined;
      this.#spawn(s);
    }, delay);
  }

  async #stop(s: Supervised): Promise<void> {
    s.stopping = true;
    if (s.restartTimer) clearTimeout(s.restartTimer);
    const child = s.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await s.exited;
    clearTimeout(killer);
  }
}
