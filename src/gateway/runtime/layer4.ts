/**
 * The `tcp` and `udp` sections of one configuration built beside the HTTP part (gateway/tcp, gateway/udp), with
 * their runtime view for the API. TCP routers without `entryPoints` go to the default TCP entry points (as HTTP
 * routers do); UDP routers without them go to every UDP entry point (Traefik's GetUDPRoutersByEntryPoints).
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import { addressProtocol } from '../entrypoints/schema.ts';
import type { Svid } from '../spiffe/source.ts';
import { buildTcpRouting, type TcpRouting } from '../tcp/routing.ts';
import { buildUdpRouting, type UdpRouting } from '../udp/routing.ts';
import { defaultEntryPoints } from './router-manager.ts';

export interface Layer4Routing {
  readonly tcp: TcpRouting;
  readonly udp: UdpRouting;
}

/** Entry point names by protocol (the `/udp` suffix of the address). */
export function entryPointsByProtocol(staticConfig: StaticConfig): { tcp: string[]; udp: string[] } {
  const tcp: string[] = [];
  const udp: string[] = [];
  for (const ep of Object.values(staticConfig.entryPoints)) (addressProtocol(ep.address) === 'udp' ? udp : tcp).push(ep.name);
  return { tcp, udp };
}

export function buildLayer4(config: Pick<DynamicConfig, 'tcp' | 'udp'>, staticConfig: StaticConfig, logger: Logger, svid?: () => Svid | undefined): Layer4Routing {
  const { tcp, udp } = entryPointsByProtocol(staticConfig);
  const tcpDefaults = defaultEntryPoints(staticConfig).filter((name) => tcp.includes(name));
  return {
    tcp: buildTcpRouting(config.tcp, {
      entryPoints: tcp, defaultEntryPoints: tcpDefaults, logger, ...(svid ? { svid } : {}), defaultRuleSyntax: staticConfig.core?.defaultRuleSyntax,
    }),
    udp: buildUdpRouting(config.udp, { entryPoints: udp, defaultEntryPoints: udp, logger }),
  };
}
