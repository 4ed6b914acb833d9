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

/**
 * Per-server status that outlives a configuration. The key is the service name and its health-check settings:
 * a changed health check starts afresh, an unchanged one keeps what it knew.
 */
export class HealthRegistry {
  private readonly states = new Map<string, Map<string, boolean>>();

  /** The status map for a service (url → up), created empty on first use. */
  serverStates(service: string, healthCheckKey: string): Map<string, boolean> {
    const key = `${service}\u0000${healthCheckKey}`;
    let state = this.states.get(key);
    if (state === undefined) {
      state = new Map();
      this.states.set(key, state);
    }
    return state;
  }

  /** Forgets services that are no longer configured (call after a reload with the names that remain). */
  retainOnly(services: Iterable<string>): void {
    const keep = new Set(services);
    for (const key of this.states.keys()) {
      if (!keep.has(key.slice(0, key.indexOf('\u0000')))) this.states.delete(key);
    }
  }
}
