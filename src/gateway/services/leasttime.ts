/**
 * Traefik's `leasttime` strategy (pkg/server/service/loadbalancer/leasttime, nextServer): each server up scores
 * `average time to first byte × (1 + requests in flight) / weight`, over its last 100 answers in whole
 * milliseconds (0 before the first); the lowest score wins, and equal scores are broken by weighted round robin
 * (earliest deadline first), which is also how a cold start spreads the first requests.
 */
import type { GatewayRequest, ResponseWriter } from '../http/types.ts';
import { HeaderHookWriter } from '../http/header-hook-writer.ts';
import { countInflight, StrategyBalancer, type BalancedServer } from './server-balancer.ts';

const SAMPLE_SIZE = 100;

interface TimedServer extends BalancedServer {
  deadline: number;
  readonly samples: number[];
  next: number;
  sum: number;
}

export class LeastTime extends StrategyBalancer<TimedServer> {
  private current = 0;

  protected create(base: BalancedServer): TimedServer {
    // New servers are staggered by 1/weight so they do not all start on the same deadline.
    const deadline = this.current + 1 / base.weight;
    this.current = deadline;
    return { ...base, deadline, samples: [], next: 0, sum: 0 };
  }

  /** Average time to first byte in ms (0 with no sample yet). */
  static average(server: TimedServer): number {
    return server.samples.length === 0 ? 0 : server.sum / server.samples.length;
  }

  protected pick(healthy: TimedServer[]): TimedServer {
    let min = Infinity;
    let candidates: TimedServer[] = [];
    for (const server of healthy) {
      const score = (LeastTime.average(server) * (1 + server.inflight)) / server.weight;
      if (score < min) {
        min = score;
        candidates = [server];
      } else if (score === min) candidates.push(server);
    }
    if (candidates.length === 1) return candidates[0]!;
    let chosen = candidates[0]!;
    for (const c of candidates) if (c.deadline < chosen.deadline) chosen = c;
    chosen.deadline += 1 / chosen.weight;
    if (chosen.deadline > this.current) this.current = chosen.deadline;
    return chosen;
  }

  protected override serve(server: TimedServer, req: GatewayRequest, rw: ResponseWriter): Promise<void> {
    const start = performance.now();
    // Time to first byte: when the server's status line is about to go out to the client.
    const timed = new HeaderHookWriter(rw, record, { server, start });
    return countInflight(server, () => server.handler(req, timed));
  }
}

function record(_status: number, _headers: unknown, context: { server: TimedServer; start: number }): void {
  const { server, start } = context;
  // Go's Duration.Milliseconds(): whole milliseconds, truncated.
  const ms = Math.trunc(performance.now() - start);
  if (server.samples.length < SAMPLE_SIZE) server.samples.push(ms);
  else server.sum -= server.samples[server.next]!;
  server.samples[server.next] = ms;
  server.sum += ms;
  server.next = (server.next + 1) % SAMPLE_SIZE;
}
