/**
 * Traefik's weighted round robin (pkg/server/service/loadbalancer/wrr): earliest-deadline-first over the handlers
 * that are up — each pick advances the chosen handler's deadline by 1/weight, so a server of weight 3 gets three
 * requests for every one of a weight-1 server, interleaved smoothly. Optional sticky cookie. Used for the servers of
 * a `loadBalancer` and the children of a `weighted` service.
 */
import type { Handler, GatewayRequest, ResponseWriter } from '../http/types.ts';
import { GatewayErrors } from '../http/errors.ts';
import { HealthFlag } from './health.ts';
import { StickyCookie, appendSetCookie, stickyHash } from './sticky.ts';
import type { CookieConfig } from './schema.ts';

export interface BalancedHandler {
  readonly name: string;
  readonly handler: Handler;
  readonly weight: number;
  deadline: number;
  up: boolean;
  /** Set-Cookie value that pins a client to this handler (when sticky). */
  readonly setCookie: string | undefined;
}

export class WeightedRoundRobin {
  readonly health = new HealthFlag(false);
  private readonly entries: BalancedHandler[] = [];
  private readonly byName = new Map<string, BalancedHandler>();
  private readonly byHash = new Map<string, BalancedHandler>();
  private readonly sticky: StickyCookie | undefined;
  private current = 0;

  constructor(service: string, cookie: CookieConfig | undefined) {
    this.sticky = cookie ? new StickyCookie(service, cookie) : undefined;
  }

  add(name: string, handler: Handler, weight: number, up = true): void {
    const hash = this.sticky ? stickyHash(name) : '';
    const entry: BalancedHandler = {
      name, handler, weight, deadline: this.current + (weight > 0 ? 1 / weight : 0), up,
      setCookie: this.sticky ? this.sticky.setCookie(hash) : undefined,
    };
    this.entries.push(entry);
    this.byName.set(name, entry);
    if (this.sticky) this.byHash.set(hash, entry);
    this.refreshHealth();
  }

  setUp(name: string, up: boolean): void {
    const entry = this.byName.get(name);
    if (entry === undefined || entry.up === up) return;
    entry.up = up;
    // A server coming back joins at the current deadline instead of catching up on the turns it missed.
    if (up && entry.weight > 0) entry.deadline = this.current + 1 / entry.weight;
    this.refreshHealth();
  }

  isUp(name: string): boolean {
    return this.byName.get(name)?.up ?? false;
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  private refreshHealth(): void {
    let any = false;
    for (const e of this.entries) if (e.up && e.weight > 0) any = true;
    this.health.set(any);
  }

  /** The next handler by earliest deadline among those up; undefined when none is. */
  next(): BalancedHandler | undefined {
    const entries = this.entries;
    let best: BalancedHandler | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (!e.up || e.weight <= 0) continue;
      if (best === undefined || e.deadline < best.deadline) best = e;
    }
    if (best !== undefined) {
      this.current = best.deadline;
      best.deadline += 1 / best.weight;
    }
    return best;
  }

  readonly handle: Handler = (req: GatewayRequest, rw: ResponseWriter): Promise<void> => {
    const sticky = this.sticky;
    if (sticky !== undefined) {
      const value = sticky.read(req.headers.cookie);
      if (value !== undefined) {
        const pinned = this.byHash.get(value);
        if (pinned !== undefined && pinned.up) return pinned.handler(req, rw);
      }
    }
    const entry = this.next();
    if (entry === undefined) return Promise.reject(GatewayErrors.noAvailableServer());
    if (entry.setCookie !== undefined) appendSetCookie(rw.headers, entry.setCookie);
    return entry.handler(req, rw);
  };
}
