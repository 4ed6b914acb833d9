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

interface Reported {
  status: ElementStatus;
  error?: string[];
}

export interface RouterInfo extends RouterConfig, Reported {
  /** Entry points the router is actually attached to. */
  using?: string[];
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
}

/** Traefik's AddError: records the message once; a critical error disables, any other one only warns. */
export function addError(info: Reported, message: string, critical: boolean): void {
  info.error ??= [];
  if (!info.error.includes(message)) info.error.push(message);
  if (critical) info.status = STATUS_DISABLED;
  else if (info.status !== STATUS_DISABLED) info.status = STATUS_WARNING;
}
