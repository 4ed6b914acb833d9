/**
 * Health status shared between services: a load balancer publishes whether it has a healthy server, and
 * `weighted`, `mirroring` and `failover` read (and, with `healthCheck: {}`, propagate) it — Traefik's status
 * updater. `HealthRegistry` keeps per-server status across configuration reloads, so a reload of an unchanged
 * service does not mark every server healthy again.
 */
import type { Handler } from '../http/types.ts';

export interface ServiceHealth {
  up(): boolean;
  /** Subscribes to up/down changes of the service as a whole; returns the unsubscribe function. */
  onChange(listener: (up: boolean) => void): () => void;
}

const healthByHandler = new WeakMap<Handler, ServiceHealth>();

export function registerHealth(handler: Handler, health: ServiceHealth): void {
  healthByHandler.set(handler, health);
}

/** The health of a built service's handler, or undefined when the service does not report health. */
export function healthOf(handler: Handler): ServiceHealth | undefined {
  return healthByHandler.get(handler);
}

/** A simple up/down flag with listeners. */
export class HealthFlag implements ServiceHealth {
  private value: boolean;
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(initial: boolean) {
    this.value = initial;
  }

  up(): boolean {
    return this.value;
  }

  set(up: boolean): void {
    if (up === this.value) return;
    this.value = up;
    for (const listener of this.listeners) listener(up);
  }

  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** What the active health checks last knew of a service's servers (url → up), kept across builds. */
interface StatesEntry {
  readonly states: Map<string, boolean>;
  /** The build's handle whose probes write here; a handle of a build not yet serving waits in `pending`. */
  owner: ServerStates | undefined;
}

/**
 * One build's view of a service's server states. Its health checker reads and writes its own copy (seeded from what
 * the registry knew when the build claimed it), so a probe of another build can never change what this build's
 * checker compares against; the owner's results are also kept in the registry for the next build. A handle whose
 * build was replaced ('replaced') is told so: its late probes are dropped.
 */
export class ServerStates {
  readonly #entry: StatesEntry;
  readonly #local: Map<string, boolean>;
  #role: 'owner' | 'pending' | 'replaced';

  constructor(entry: StatesEntry, role: 'owner' | 'pending') {
    this.#entry = entry;
    this.#local = new Map(entry.states);
    this.#role = role;
  }

  get(url: string): boolean | undefined {
    return this.#local.get(url);
  }

  set(url: string, up: boolean): void {
    this.#local.set(url, up);
    if (this.#role === 'owner') this.#entry.states.set(url, up);
  }

  /** A newer build owns the service's states: this build's checker has nothing more to say. */
  get replaced(): boolean {
    return this.#role === 'replaced';
  }

  /** Called by HealthRegistry.commit: this build now serves. */
  own(): void {
    if (this.#role === 'replaced') return;
    const previous = this.#entry.owner;
    if (previous !== undefined && previous !== this) previous.#role = 'replaced';
    this.#entry.owner = this;
    this.#role = 'owner';
    for (const [url, up] of this.#local) this.#entry.states.set(url, up);
  }
}

/**
 * Per-server status that outlives a configuration. The key is the service name and its health-check settings:
 * a changed health check starts afresh, an unchanged one keeps what it knew.
 *
 * A build claims its services' states while it is built; the runtime commits the claims once that build serves (or
 * abandons them when it could not be built). Until then the serving build's checkers keep writing; from then on only
 * the new build's do. A replaced build's services go on serving their in-flight requests until they drain, and a
 * probe of theirs still in flight then must not undo what the new build's checker has seen. Traefik stops them at the
 * switch: RouterFactory.CreateRouters (pkg/server/routerfactory.go) cancels the previous state's context, under which
 * serviceManager.LaunchHealthCheck ran the previous configuration's checkers.
 */
export class HealthRegistry {
  private readonly entries = new Map<string, StatesEntry>();
  /** Claims of the build in progress (builds run one at a time). */
  private pending: ServerStates[] = [];

  /** The state handle of a service for the build in progress; the first build of a service owns it at once. */
  claim(service: string, healthCheckKey: string): ServerStates {
    const key = `${service}\u0000${healthCheckKey}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { states: new Map(), owner: undefined };
      this.entries.set(key, entry);
    }
    if (entry.owner === undefined) {
      const handle = new ServerStates(entry, 'owner');
      entry.owner = handle;
      return handle;
    }
    const handle = new ServerStates(entry, 'pending');
    this.pending.push(handle);
    return handle;
  }

  /** The build that claimed since the last commit serves now: its handles own their services' states. */
  commit(): void {
    for (const handle of this.pending) handle.own();
    this.pending = [];
  }

  /** The build in progress was not swapped in: the serving build keeps its states. */
  abandon(): void {
    this.pending = [];
  }

  /** Forgets services that are no longer configured (call after a reload with the names that remain). */
  retainOnly(services: Iterable<string>): void {
    const keep = new Set(services);
    for (const key of this.entries.keys()) {
      if (!keep.has(key.slice(0, key.indexOf('\u0000')))) this.entries.delete(key);
    }
  }
}
