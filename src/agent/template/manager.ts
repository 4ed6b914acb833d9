/**
 * Runs the agent's `template` blocks: each template's dependencies are followed with blocking queries (one watch
 * per dependency, shared by every template that uses it); a change schedules a render after the template's
 * `wait` (render once the data has been quiet for `min`, but never later than `max` after the first change); a
 * complete render that differs from the destination's content is written atomically (temp file + rename, so a
 * reader never sees half a file) and then the template's command runs — once per change, never two at once.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../../lib/logger.ts';
import type { BlockingParams } from '../../api/watch.ts';
import type { QueryResult } from '../../api/types.ts';
import type { TemplateDefinition } from '../agent-config.ts';
import { AgentErrors } from '../errors.ts';
import { writeAtomic } from '../persist.ts';
import type { ServerPool } from '../server-pool.ts';
import { parseTemplate, type Node } from './language.ts';
import { renderTemplate, type Dependency } from './render.ts';

export interface TemplateManagerOptions {
  servers: ServerPool;
  token: () => string;
  logger: Logger;
}

interface Watched {
  dep: Dependency;
  value: unknown;
  abort: AbortController;
  users: Set<TemplateRunner>;
}

export class TemplateManager {
  readonly #o: TemplateManagerOptions;
  readonly #log: Logger;
  readonly #watches = new Map<string, Watched>();
  #runners: TemplateRunner[] = [];

  constructor(options: TemplateManagerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'templates' });
  }

  /** Replaces the running templates with `defs` (on start and on every reload). Invalid ones are logged and skipped. */
  apply(defs: readonly TemplateDefinition[]): void {
    const next: TemplateRunner[] = [];
    for (const def of defs) {
      const key = JSON.stringify(def);
      const same = this.#runners.find((r) => r.key === key);
      if (same) {
        // An unchanged block keeps running, but its source file is read again: reload is how a new source lands.
        same.reloadSource();
        next.push(same);
        continue;
      }
      try {
        next.push(new TemplateRunner(def, key, this, this.#log));
      } catch (err) {
        this.#log.error({ err: (err as Error).message, template: def.destination }, 'cannot load template');
      }
    }
    for (const r of this.#runners) if (!next.includes(r)) r.stop();
    this.#runners = next;
    for (const r of next) r.kick();
  }

  /** How often each destination's command has run (tests, /v1/agent/self). */
  stats(): Array<{ destination: string; renders: number; commands: number }> {
    return this.#runners.map((r) => ({ destination: r.destination, renders: r.renders, commands: r.commands }));
  }

  async stop(): Promise<void> {
    for (const r of this.#runners) r.stop();
    this.#runners = [];
    for (const w of this.#watches.values()) w.abort.abort();
    this.#watches.clear();
    await Promise.all([]);
  }

  value(id: string): unknown {
    return this.#watches.get(id)?.value;
  }

  /** Makes `runner` follow exactly `deps`. */
  follow(runner: TemplateRunner, deps: Map<string, Dependency>): void {
    for (const [id, dep] of deps) {
      let w = this.#watches.get(id);
      if (!w) {
        w = { dep, value: undefined, abort: new AbortController(), users: new Set() };
        this.#watches.set(id, w);
        this.#watch(id, w);
      }
      w.users.add(runner);
    }
    for (const [id, w] of this.#watches) {
      if (deps.has(id) || !w.users.delete(runner) || w.users.size > 0) continue;
      w.abort.abort();
      this.#watches.delete(id);
    }
  }

  unfollow(runner: TemplateRunner): void {
    this.follow(runner, new Map());
  }

  #watch(id: string, w: Watched): void {
    const { servers } = this.#o;
    const query = (q: BlockingParams): Promise<QueryResult<unknown>> => {
      const c = servers.client();
      const opts = { ...q, token: this.#o.token() || undefined };
      const d = w.dep;
      if (d.kind === 'service') return c.health.service(d.name, { ...opts, passing: true });
      return d.kind === 'key' ? c.kv.get(d.path, opts) : c.kv.list(d.path, opts);
    };
    const run = async () => {
      for await (const r of servers.client().watch(query, {
        signal: w.abort.signal,
        onError: (err) => {
          this.#log.debug({ dependency: id, err: (err as Error).message }, 'template dependency query failed; retrying');
          servers.rotate();
        },
      })) {
        w.value = r.value;
        for (const user of w.users) user.changed();
      }
    };
    run().catch((err: unknown) => this.#log.error({ dependency: id, err }, 'template watch ended'));
  }
}

class TemplateRunner {
  readonly key: string;
  readonly destination: string;
  renders = 0;
  commands = 0;
  readonly #def: TemplateDefinition;
  readonly #manager: TemplateManager;
  readonly #log: Logger;
  #nodes: Node[];
  #minTimer: NodeJS.Timeout | undefined;
  #maxTimer: NodeJS.Timeout | undefined;
  #busy: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(def: TemplateDefinition, key: string, manager: TemplateManager, log: Logger) {
    this.#def = def;
    this.key = key;
    this.destination = resolve(def.destination);
    this.#manager = manager;
    this.#log = log.child({ template: this.destination });
    this.#nodes = this.#load();
  }

  #load(): Node[] {
    const where = this.#def.source ?? this.destination;
    let text = this.#def.contents;
    if (text === undefined) {
      try {
        text = readFileSync(this.#def.source!, 'utf8');
      } catch (err) {
        throw AgentErrors.template(where, `cannot read source: ${(err as Error).message}`);
      }
    }
    return parseTemplate(text, where);
  }

  reloadSource(): void {
    if (this.#def.source === undefined) return;
    try {
      this.#nodes = this.#load();
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'template source no longer loads; keeping the previous one');
    }
  }

  /** First render (or after a reload): evaluates once so the dependencies are known and followed. */
  kick(): void {
    this.changed();
  }

  /** A dependency changed: render after the quiet period (min), at the latest `max` after the first change. */
  changed(): void {
    if (this.#stopped) return;
    const { waitMinMs: min, waitMaxMs: max } = this.#def;
    if (min <= 0) {
      if (!this.#minTimer) this.#minTimer = setTimeout(() => this.#fire(), 0);
      return;
    }
    if (this.#minTimer) clearTimeout(this.#minTimer);
    this.#minTimer = setTimeout(() => this.#fire(), min);
    this.#maxTimer ??= setTimeout(() => this.#fire(), max);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#minTimer) clearTimeout(this.#minTimer);
    if (this.#maxTimer) clearTimeout(this.#maxTimer);
    this.#manager.unfollow(this);
  }

  #fire(): void {
    if (this.#minTimer) clearTimeout(this.#minTimer);
    if (this.#maxTimer) clearTimeout(this.#maxTimer);
    this.#minTimer = this.#maxTimer = undefined;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = this.#render()
      .catch((err: unknown) => this.#log.error({ err: (err as Error).message }, 'rendering template failed'))
      .finally(() => {
        this.#busy = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.#fire();
        }
      });
  }

  async #render(): Promise<void> {
    if (this.#stopped) return;
    const result = renderTemplate(this.#nodes, { get: (id) => this.#manager.value(id) as never });
    this.#manager.follow(this, result.dependencies);
    if (!result.complete) return;
    const current = await readFile(this.destination, 'utf8').catch(() => undefined);
    if (current === result.text) return;
    await mkdir(dirname(this.destination), { recursive: true });
    await writeAtomic(this.destination, result.text, this.#def.perms);
    this.renders++;
    this.#log.info('rendered template');
    if (this.#def.command) await this.#runCommand(this.#def.command);
  }

  #runCommand(argv: readonly string[]): Promise<void> {
    this.commands++;
    return new Promise((done) => {
      const [cmd, ...args] = argv;
      const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (d: Buffer) => {
        output = (output + d.toString()).slice(-4096);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      const timer = setTimeout(() => {
        this.#log.warn({ command: cmd, timeout_ms: this.#def.commandTimeoutMs }, 'template command timed out; killing it');
        child.kill('SIGKILL');
      }, this.#def.commandTimeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        this.#log.error({ command: cmd, err: err.message }, 'template command failed to start');
        done();
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) this.#log.info({ command: cmd }, 'template command ran');
        else this.#log.warn({ command: cmd, code, signal, output }, 'template command failed');
        done();
      });
    });
  }
}
