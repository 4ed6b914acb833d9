/**
 * The runtime view of a configuration (Traefik's pkg/config/runtime): every router, service and middleware as
 * configured plus what building it found — `status` (`enabled`, `warning`, `disabled`), `error` messages, which
 * routers use what, which entry points a router is on. The dashboard API serves exactly this.
 */
import type { RouterConfig, MiddlewareConfig } from '../config/dynamic.ts';

export const STATUS_ENABLED = 'enabled';
export const STATUS_WARNING = 'warning';
export const STATUS_DISABLED = 'disabled';
export type ElementStatus = typeof STATUS_ENABLED | typeof STATUS_WARNING | typeof STATUS_DISABLED;

export interface Reported {
  status: ElementStatus;
  error?: string[];
}

export interface RouterInfo extends RouterConfig, Reported {
  /** Entry points the router is actually attached to (shared by routers with the same list: never changed in place). */
  using?: readonly string[];
}

export interface ServiceInfo extends Reported {
  /** The service block as configured (`loadBalancer`, `weighted`, …); empty for internal services. */
  config: Record<string, unknown>;
  usedBy: string[];
  /** Live server health by URL (`UP`/`DOWN`), when the built service reports it. */
  serverStatus?: () => Record<string, string> | undefined;
}

export interface MiddlewareInfo extends Reported {
  config: MiddlewareConfig;
  usedBy: string[];
}

export interface RuntimeInfo {
  routers: Map<string, RouterInfo>;
  services: Map<string, ServiceInfo>;
  middlewares: Map<string, MiddlewareInfo>;
  /** The `tcp` and `udp` sections' view (Traefik's TCPRouters…, UDPServices), filled by gateway/tcp and gateway/udp. */
  tcp?: LayerInfo;
  udp?: LayerInfo;
}

/** A TCP or UDP router, service or middleware (Traefik's TCPRouterInfo, TCPServiceInfo, UDPRouterInfo, …). */
export interface LayerElementInfo extends Reported {
  /** The block as configured. */
  config: Record<string, unknown>;
  /** Routers: the entry points they are attached to. */
  using?: string[];
  /** Services and middlewares: the routers (and services) that use them. */
  usedBy?: string[];
}

export interface LayerInfo {
  routers: Map<string, LayerElementInfo>;
  services: Map<string, LayerElementInfo>;
  /** Always empty for UDP, which has no middlewares. */
  middlewares: Map<string, LayerElementInfo>;
}

/** Every element of a `tcp`/`udp` section, enabled until building finds a problem. */
export function initialLayerInfo(section: { routers: Record<string, unknown>; services: Record<string, unknown>; middlewares?: Record<string, unknown> } | undefined): LayerInfo {
  const info: LayerInfo = { routers: new Map(), services: new Map(), middlewares: new Map() };
  if (section === undefined) return info;
  const element = (raw: unknown): Record<string, unknown> => (raw !== null && typeof raw === 'object' ? raw as Record<string, unknown> : {});
  for (const [name, raw] of Object.entries(section.routers)) info.routers.set(name, { config: element(raw), status: STATUS_ENABLED, using: [] });
  for (const [name, raw] of Object.entries(section.services)) info.services.set(name, { config: element(raw), status: STATUS_ENABLED, usedBy: [] });
  for (const [name, raw] of Object.entries(section.middlewares ?? {})) info.middlewares.set(name, { config: element(raw), status: STATUS_ENABLED, usedBy: [] });
  return info;
}

/** Records `user` in `usedBy` once (sorted, as Traefik's PopulateUsedBy leaves it). */
export function addUsedBy(info: LayerElementInfo | undefined, user: string): void {
  if (info === undefined) return;
  info.usedBy ??= [];
  if (!info.usedBy.includes(user)) {
    info.usedBy.push(user);
    info.usedBy.sort();
  }
}

/** Traefik's AddError: records the message once; a critical error disables, any other one only warns. */
export function addError(info: Reported, message: string, critical: boolean): void {
  info.error ??= [];
  if (!info.error.includes(message)) info.error.push(message);
  if (critical) info.status = STATUS_DISABLED;
  else if (info.status !== STATUS_DISABLED) info.status = STATUS_WARNING;
}
