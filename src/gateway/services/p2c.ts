/**
 * Traefik's `p2c` strategy (pkg/server/service/loadbalancer/p2c, Balancer.nextServer): two distinct servers are
 * drawn at random among those up and the one with fewer requests in flight takes the request (the first drawn on a
 * tie). Weights play no part, as in Traefik.
 */
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';
import { countInflight, StrategyBalancer, type BalancedServer } from './server-balancer.ts';

export class PowerOfTwoChoices extends StrategyBalancer {
  private readonly random: (n: number) => number;

  constructor(service: string, cookie: ConstructorParameters<typeof StrategyBalancer>[1], random: (n: number) => number = (n) => Math.floor(Math.random() * n)) {
    super(service, cookie);
    this.random = random;
  }

  protected override usesWeight(): boolean {
    return false;
  }

  protected create(base: BalancedServer): BalancedServer {
    return base;
  }

  protected pick(healthy: BalancedServer[]): BalancedServer {
    const first = this.random(healthy.length);
    let second = this.random(healthy.length - 1);
    if (second >= first) second++;
    const a = healthy[first]!;
    const b = healthy[second]!;
    return b.inflight < a.inflight ? b : a;
  }

  protected override serve(server: BalancedServer, req: GatewayRequest, rw: ResponseWriter): Promise<void> {
    return countInflight(server, () => server.handler(req, rw));
  }
}
