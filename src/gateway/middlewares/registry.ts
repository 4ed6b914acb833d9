/**
 * Middleware kinds register themselves here (grpc-js's registerLoadBalancerType shape), so the gateway core
 * builds any chain from configuration without knowing the kinds, and plugins plug in the same way.
 * The key is Traefik's configuration key (`rateLimit`, `basicAuth`, `stripPrefix`, …).
 */
import type { ZodType } from 'zod';
import type { Logger } from '../../lib/logger.ts';
import type { GatewayRequest, Handler, Middleware } from '../http/types.ts';
import { registerMiddlewareSchema } from '../config/schema/middlewares.ts';

export interface MiddlewareBuildContext {
  /** Qualified name of the middleware being built, e.g. `auth@file`. */
  readonly name: string;
  /** Provider the middleware came from (`file`, `consulcatalog`, …); unqualified references resolve within it. */
  readonly provider: string;
  readonly logger: Logger;
  /** Builds another middleware by (possibly unqualified) name; used by `chain`. Throws when it does not exist. */
  resolveMiddleware(name: string): Middleware;
  /** The handler of a service by (possibly unqualified) name; used by `errors`. Throws when it does not exist. */
  resolveService(name: string): Handler;
  /** Shared state that must outlive configuration reloads (rate-limit buckets, circuit state) keyed by name. */
  readonly state: Map<string, unknown>;
  /** Optional observers the runtime wires to metrics (e.g. traefik_service_retries_total). */
  readonly hooks?: MiddlewareHooks;
}

export interface MiddlewareHooks {
  /** A retry middleware is about to send attempt `attempt` (2 for the first retry) of `req` (Traefik's Listener). */
  retried?(req: GatewayRequest, attempt: number): void;
  /** A rateLimit with `redis.whenUnavailable: localBucket` served a request from its per-process bucket. */
  rateLimitFallback?(middleware: string): void;
}

export interface MiddlewareKind<C = unknown> {
  /** Validates the kind's configuration block; errors name the offending key. */
  readonly schema: ZodType<C>;
  create(config: C, context: MiddlewareBuildContext): Middleware;
}

const kinds = new Map<string, MiddlewareKind<any>>();

/** `replace` lets a kind be registered again (plugins reloaded as `plugin:<name>`); built-in kinds never use it. */
export function registerMiddleware<C>(kind: string, definition: MiddlewareKind<C>, options?: { replace?: boolean }): void {
  if (kinds.has(kind) && options?.replace !== true) throw new Error(`middleware kind "${kind}" is already registered`);
  kinds.set(kind, definition);
  // Validation in the configuration layer finds the kind's schema without importing this part.
  registerMiddlewareSchema(kind, definition.schema as ZodType<unknown>, options);
}

export function getMiddlewareKind(kind: string): MiddlewareKind<unknown> | undefined {
  return kinds.get(kind);
}

export function listMiddlewareKinds(): string[] {
  return [...kinds.keys()].sort();
}
