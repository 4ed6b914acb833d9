/**
 * The configuration layer's registry of middleware kinds: Traefik's configuration key (`rateLimit`, `headers`,
 * `plugin:<name>`, …) → the zod schema of its block. Validation (`config/dynamic.ts`) looks kinds up here and so
 * needs no middleware implementation; each kind's schema arrives when its implementation registers
 * (`middlewares/registry.ts` `registerMiddleware` records the schema here too), and the composition root —
 * `runtime/`, which builds chains — loads the built-in kinds (`middlewares/index.ts`), as grpc-js's
 * `registerLoadBalancerType` is filled by the modules that define the balancers.
 */
import type { ZodType } from 'zod';

const schemas = new Map<string, ZodType<unknown>>();

/** `replace` lets a kind be registered again (plugins reloaded as `plugin:<name>`). */
export function registerMiddlewareSchema(kind: string, schema: ZodType<unknown>, options?: { replace?: boolean }): void {
  if (schemas.has(kind) && options?.replace !== true) throw new Error(`middleware kind "${kind}" is already registered`);
  schemas.set(kind, schema);
}

export function getMiddlewareSchema(kind: string): ZodType<unknown> | undefined {
  return schemas.get(kind);
}

export function listMiddlewareSchemas(): string[] {
  return [...schemas.keys()].sort();
}
