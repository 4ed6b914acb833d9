/**
 * Service kinds register themselves here (grpc-js's registerLoadBalancerType shape): Traefik's key of an
 * `http.services` entry (`loadBalancer`, `weighted`, `mirroring`, `failover`) → the function that builds it. The
 * service manager builds any service from configuration without knowing the kinds; a new kind is one file that
 * calls `registerServiceKind` plus its import in `index.ts` (and its schema in config/schema/services.ts).
 */
import type { BuiltService, ServiceBuildContext } from './build.ts';

export type ServiceKindBuilder = (name: string, config: never, ctx: ServiceBuildContext) => BuiltService;

const kinds = new Map<string, ServiceKindBuilder>();

export function registerServiceKind<C>(key: string, build: (name: string, config: C, ctx: ServiceBuildContext) => BuiltService): void {
  if (kinds.has(key)) throw new Error(`service kind "${key}" is already registered`);
  kinds.set(key, build as ServiceKindBuilder);
}

export function getServiceKind(key: string): ServiceKindBuilder | undefined {
  return kinds.get(key);
}

export function listServiceKinds(): string[] {
  return [...kinds.keys()];
}
