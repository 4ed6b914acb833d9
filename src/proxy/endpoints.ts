/**
 * Healthy instances of discovery-chain targets, each followed with a blocking `/v1/health/connect/:service` whose
 * `?filter=` is the target's subset filter (the server evaluates it, as Consul's proxycfg does — the proxy carries
 * no expression engine). An instance with a critical check is never used; with `OnlyPassing` a warning one is not
 * either. Each target's watch starts on first use and lives until the proxy stops; picks are round-robin.
 */
import type { ConsulClient } from '../api/client.ts';
import type { DiscoveryTarget, ServiceEntry } from '../api/types.ts';
import type { Logger } from '../lib/logger.ts';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** The service the instance's sidecar fronts: the identity its certificate must carry. */
  readonly service: string;
  readonly node: string;
  /** Key for connection pools. */
  readonly key: string;
}

/** pickKnown()'s answer while a target's endpoints are not known yet (its watch has not answered). */
export const NOT_KNOWN: unique symbol = Symbol('endpoints not known yet');

interface TargetState {
  endpoints: Endpoint[] | undefined;
  next: number;
  waiters: Array<() => void>;
}

export class EndpointSet {
  private readonly client: ConsulClient;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly targets = new Map<string, TargetState>();

  constructor(client: ConsulClient, logger: Logger) {
    this.client = client;
    this.logger = logger;
  }

  stop(): void {
    this.abort.abort();
    for (const s of this.targets.values()) for (const w of s.waiters.splice(0)) w();
  }

  /** The target's healthy endpoints, waiting (up to `waitMs`) for the first answer of a new watch. */
  async endpoints(target: DiscoveryTarget, waitMs = 10_000): Promise<readonly Endpoint[]> {
    const state = this.state(target);
    if (state.endpoints === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        state.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return state.endpoints ?? [];
  }

  /** The next endpoint of a target, round-robin, skipping `exclude` (endpoints a retry already tried) when it can. */
  async pick(target: DiscoveryTarget, exclude: ReadonlySet<string> = new Set()): Promise<Endpoint | undefined> {
    const known = this.pickKnown(target, exclude);
    if (known !== NOT_KNOWN) return known;
    await this.endpoints(target);
    const after = this.pickKnown(target, exclude);
    return after === NOT_KNOWN ? undefined : after;
  }

  /**
   * pick() without waiting: NOT_KNOWN while the target's first answer is still to come, else what pick() would
   * return. The request path calls this first — the list is known for every request after a target's first, and an
   * await on it cost a promise and a microtask turn per request for nothing.
   */
  pickKnown(target: DiscoveryTarget, exclude: ReadonlySet<string>): Endpoint | undefined | typeof NOT_KNOWN {
    const state = this.state(target);
    const list = state.endpoints;
    if (list === undefined) return NOT_KNOWN;
    if (list.length === 0) return undefined;
    for (let i = 0; i < list.length; i++) {
      const e = list[state.next++ % list.length]!;
      if (!exclude.has(e.key)) return e;
    }
    return list[state.next++ % list.length];
  }

  private state(target: DiscoveryTarget): TargetState {
    let state = this.targets.get(target.ID);
    if (state) return state;
    state = { endpoints: undefined, next: Math.floor(Math.random() * 1024), waiters: [] };
    this.targets.set(target.ID, state);
    const s = state;
    const filter = target.Subset?.Filter;
    const onlyPassing = target.Subset?.OnlyPassing === true;
    this.client.watchEach(
      (q) => this.client.health.connect(target.Service, { ...q, ...(filter ? { filter } : {}), datacenter: target.Datacenter }),
      (r) => {
        s.endpoints = r.value.filter((e) => usable(e, onlyPassing)).map(toEndpoint);
        this.logger.debug({ target: target.ID, endpoints: s.endpoints.map((e) => e.key) }, 'upstream endpoints updated');
        for (const w of s.waiters.splice(0)) w();
      },
      { signal: this.abort.signal, onError: (err, info) => this.logger.warn({ err, target: target.ID, attempt: info.attempt }, 'watching upstream instances failed') },
    ).done.catch((err: unknown) => this.logger.error({ err, target: target.ID }, 'upstream instances watch stopped'));
    return state;
  }
}

function usable(e: ServiceEntry, onlyPassing: boolean): boolean {
  return e.Checks.every((c) => c.Status === 'passing' || (!onlyPassing && c.Status === 'warning'));
}

function toEndpoint(e: ServiceEntry): Endpoint {
  const host = e.Service.Address || e.Node.Address;
  const port = e.Service.Port;
  return { host, port, service: e.Service.Proxy?.DestinationServiceName ?? e.Service.Service, node: e.Node.Node, key: `${host}:${port}` };
}
