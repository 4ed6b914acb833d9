/**
 * UDP services (Traefik's pkg/server/service/udp Manager): `loadBalancer` spreads sessions over its servers by
 * weighted round robin (pkg/udp WRRLoadBalancer; the choice is made once per session, so a client's datagrams all
 * reach one server), each forwarded by proxy.ts; `weighted` spreads sessions over other UDP services. A reference
 * without `@` resolves in the provider of the service that makes it. Each service is built once per configuration;
 * a failure is kept and reported for that service.
 */
import type { Logger } from '../../lib/logger.ts';
import { Errors } from '../../lib/errors.ts';
import { udpServiceSchema } from '../config/schema/tcp.ts';
import { WeightedRoundRobin } from '../tcp/services.ts';
import { qualifyIn } from '../config/merge.ts';
import { udpProxy } from './proxy.ts';
import type { UdpHandler, UdpSession } from './types.ts';

export class UdpServices {
  readonly #services: Record<string, unknown>;
  readonly #logger: Logger;
  readonly #built = new Map<string, UdpHandler | Error>();
  readonly #building = new Set<string>();

  constructor(services: Record<string, unknown>, logger: Logger) {
    this.#services = services;
    this.#logger = logger;
  }

  /** Services that failed to build, with why. */
  failures(): Array<[string, string]> {
    return [...this.#built].filter((e): e is [string, Error] => e[1] instanceof Error).map(([name, err]) => [name, err.message]);
  }

  handler(name: string): UdpHandler {
    const got = this.#built.get(name);
    if (got instanceof Error) throw got;
    if (got !== undefined) return got;
    if (this.#building.has(name)) throw Errors.invalidConfig(`udp service "${name}": circular reference`);
    this.#building.add(name);
    try {
      const handler = this.#build(name);
      this.#built.set(name, handler);
      return handler;
    } catch (err) {
      this.#built.set(name, err as Error);
      throw err;
    } finally {
      this.#building.delete(name);
    }
  }

  #build(name: string): UdpHandler {
    const raw = this.#services[name];
    if (raw === undefined) throw Errors.invalidConfig(`the UDP service "${name}" does not exist`);
    const config = udpServiceSchema.parse(raw);
    const wrr = new WeightedRoundRobin<UdpHandler>();
    if (config.weighted !== undefined) {
      for (const child of config.weighted.services) wrr.add(this.handler(qualifyIn(child.name, name)), child.weight ?? 1);
    } else {
      for (const server of config.loadBalancer!.servers) wrr.add(udpProxy(server.address, this.#logger), server.weight ?? 1);
    }
    return (session: UdpSession) => {
      const next = wrr.next();
      // No server: Traefik's WRR answers "no servers in the pool" and the session ends.
      if (next === undefined) session.close();
      else next(session);
    };
  }
}
