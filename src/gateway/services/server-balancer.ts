/**
 * What the load balancers of one `loadBalancer` service share (Traefik's p2c, hrw and leasttime Balancers): the
 * servers by name (the server URL), which are up, the service-level health they publish, and the sticky cookie
 * (p2c and leasttime honour it; hrw is sticky by construction). A strategy only says which of the servers that are
 * up takes the next request (`pick`) and may wrap the call (`serve`) to count in-flight requests or time answers.
 * Weighted round robin keeps its own, older class (wrr.ts), which `weighted` services use too.
 */
import type { Handler, GatewayRequest, ResponseWriter } from '../http/types.ts';
import { GatewayErrors } from '../http/errors.ts';
import { HealthFlag } from './health.ts';
import { StickyCookie, appendSetCookie, stickyHash } from './sticky.ts';
import type { CookieConfig } from './schema.ts';

export interface BalancedServer {
  readonly name: string;
  readonly handler: Handler;
  readonly weight: number;
  up: boolean;
  /** Requests handed to this server that have not finished (p2c, leasttime). */
  inflight: number;
  readonly setCookie: string | undefined;
}

/** The surface build.ts drives: the same as WeightedRoundRobin's. */
export interface ServerBalancer {
  readonly health: HealthFlag;
  readonly handle: Handler;
  add(name: string, handler: Handler, weight: number, up?: boolean): void;
  setUp(name: string, up: boolean): void;
  isUp(name: string): boolean;
}

export abstract class StrategyBalancer<S extends BalancedServer = BalancedServer> implements ServerBalancer {
  readonly health = new HealthFlag(false);
  protected readonly servers: S[] = [];
  private readonly byName = new Map<string, S>();
  private readonly byHash = new Map<string, S>();
  private readonly sticky: StickyCookie | undefined;

  constructor(service: string, cookie: CookieConfig | undefined) {
    this.sticky = cookie ? new StickyCookie(service, cookie) : undefined;
  }

  /** The strategy's own record for a server (extra fields such as response times). */
  protected abstract create(base: BalancedServer): S;
  /** The server for this request among `healthy` (never empty). */
  protected abstract pick(healthy: S[], req: GatewayRequest): S;

  add(name: string, handler: Handler, weight: number, up = true): void {
    // Traefik ignores servers of non-positive weight (hrw and leasttime `Add`); p2c ignores weights altogether.
    if (weight <= 0 && this.usesWeight()) return;
    const hash = this.sticky ? stickyHash(name) : '';
    const server = this.create({ name, handler, weight, up, inflight: 0, setCookie: this.sticky ? this.sticky.setCookie(hash) : undefined });
    this.servers.push(server);
    this.byName.set(name, server);
    if (this.sticky) this.byHash.set(hash, server);
    this.refreshHealth();
  }

  protected usesWeight(): boolean {
    return true;
  }

  setUp(name: string, up: boolean): void {
    const server = this.byName.get(name);
    if (server === undefined || server.up === up) return;
    server.up = up;
    this.refreshHealth();
  }

  isUp(name: string): boolean {
    return this.byName.get(name)?.up ?? false;
  }

  private refreshHealth(): void {
    this.health.set(this.servers.some((s) => s.up));
  }

  /** Calls the server; strategies that count or time requests override it. */
  protected serve(server: S, req: GatewayRequest, rw: ResponseWriter): Promise<void> {
    return server.handler(req, rw);
  }

  readonly handle: Handler = (req: GatewayRequest, rw: ResponseWriter): Promise<void> => {
    const sticky = this.sticky;
    if (sticky !== undefined) {
      const value = sticky.read(req.headers.cookie);
      const pinned = value === undefined ? undefined : this.byHash.get(value);
      if (pinned !== undefined && pinned.up) return this.serve(pinned, req, rw);
    }
    const healthy: S[] = [];
    for (const s of this.servers) if (s.up) healthy.push(s);
    if (healthy.length === 0) return Promise.reject(GatewayErrors.noAvailableServer());
    const server = healthy.length === 1 ? healthy[0]! : this.pick(healthy, req);
    if (server.setCookie !== undefined) appendSetCookie(rw.headers, server.setCookie);
    return this.serve(server, req, rw);
  };
}

/** Counts a request as in flight on `server` for as long as its handler runs. */
export async function countInflight(server: BalancedServer, run: () => Promise<void>): Promise<void> {
  server.inflight++;
  try {
    await run();
  } finally {
    server.inflight--;
  }
}
