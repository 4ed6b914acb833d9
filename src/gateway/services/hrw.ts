/**
 * Traefik's `hrw` strategy, rendezvous hashing (pkg/server/service/loadbalancer/hrw, getNodeScore): each server
 * up scores `weight / -ln(h / 2^64)` where h is the 64-bit FNV-1a hash of the client address followed by the
 * server's name (its URL); the highest score wins. The client address is the TCP peer's (Traefik's
 * RemoteAddrStrategy), so one client keeps its server while the set of servers that are up stays the same, and
 * only the clients of a server that leaves move.
 */
import type { GatewayRequest } from '../http/types.ts';
import { StrategyBalancer, type BalancedServer } from './server-balancer.ts';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;
const TWO_TO_64 = 2 ** 64;

/** 64-bit FNV-1a of the UTF-8 bytes of `text` (Go's hash/fnv New64a). */
export function fnv1a64(text: string): bigint {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK;
  }
  return hash;
}

/** A server's score for a client (higher wins). */
export function hrwScore(client: string, server: string, weight: number): number {
  const unit = Number(fnv1a64(client + server)) / TWO_TO_64;
  return (1 / -Math.log(unit)) * weight;
}

export class HighestRandomWeight extends StrategyBalancer {
  constructor(service: string) {
    // Traefik's hrw Balancer has no sticky cookie: the hash is the stickiness.
    super(service, undefined);
  }

  protected create(base: BalancedServer): BalancedServer {
    return base;
  }

  protected pick(healthy: BalancedServer[], req: GatewayRequest): BalancedServer {
    const client = req.remoteAddress;
    let best = healthy[0]!;
    let bestScore = 0;
    for (const server of healthy) {
      const score = hrwScore(client, server.name, server.weight);
      if (score > bestScore) {
        best = server;
        bestScore = score;
      }
    }
    return best;
  }
}
