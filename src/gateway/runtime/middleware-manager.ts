/**
 * The middleware manager of one build (Traefik's pkg/server/middleware/middlewares.go): parses and creates each
 * `http.middlewares` entry once, on first use, through the kind registry; references (`chain`, `errors`) resolve
 * within the middleware's provider; a chain cycle or a missing middleware is an error on every router using it.
 */
import type { Logger } from '../../lib/logger.ts';
import type { DynamicConfig } from '../config/dynamic.ts';
import { parseMiddleware } from '../config/dynamic.ts';
import { providerOf, qualifyName } from '../config/merge.ts';
import type { Handler, Middleware } from '../http/types.ts';
import { getMiddlewareKind, type MiddlewareBuildContext, type MiddlewareHooks } from '../middlewares/registry.ts';
// The built-in kinds register themselves (schema and implementation) on import: the runtime is the composition root.
import '../middlewares/index.ts';
import { addError, type RuntimeInfo } from './info.ts';

export interface MiddlewareManagerDependencies {
  readonly logger: Logger;
  /** State middlewares keep across reloads (rate-limit buckets, circuit state). */
  readonly middlewareState: Map<string, unknown>;
  /** Observers middlewares report to (metrics). */
  readonly middlewareHooks?: MiddlewareHooks;
  /** Wraps each middleware of a router's chain, given its name and kind (the middleware spans of gateway/tracing). */
  wrapMiddleware?(name: string, kind: string, handler: Handler): Handler;
}

export class MiddlewareManager {
  readonly #config: DynamicConfig['http'];
  readonly #deps: MiddlewareManagerDependencies;
  readonly #info: RuntimeInfo;
  readonly #service: (name: string) => Handler;
  readonly #built = new Map<string, Middleware>();
  readonly #kinds = new Map<string, string>();
  readonly #errors = new Map<string, Error>();
  readonly #resolving = new Set<string>();

  /** `service` gives a service's handler by qualified name (the service manager's `handler`). */
  constructor(config: DynamicConfig['http'], deps: MiddlewareManagerDependencies, info: RuntimeInfo, service: (name: string) => Handler) {
    this.#config = config;
    this.#deps = deps;
    this.#info = info;
    this.#service = service;
  }

  /** Wraps `handler` in the middlewares `names` (qualified), the first one outermost; throws why it cannot. */
  chain(names: readonly string[], handler: Handler): Handler {
    let out = handler;
    const wrap = this.#deps.wrapMiddleware;
    for (let i = names.length - 1; i >= 0; i--) {
      const name = names[i]!;
      out = this.get(name)(out);
      if (wrap) out = wrap(name, this.#kinds.get(name) ?? 'middleware', out);
    }
    return out;
  }

  get(name: string): Middleware {
    const done = this.#built.get(name);
    if (done) return done;
    const failed = this.#errors.get(name);
    if (failed) throw failed;
    const raw = this.#config.middlewares[name];
    if (raw === undefined) throw new Error(`middleware "${name}" does not exist`);
    if (this.#resolving.has(name)) throw new Error(`middleware "${name}" is part of a chain cycle`);
    const mwInfo = this.#info.middlewares.get(name)!;
    this.#resolving.add(name);
    try {
      const parsed = parseMiddleware(raw, name);
      if ('error' in parsed) throw new Error(parsed.error);
      const provider = providerOf(name);
      const context: MiddlewareBuildContext = {
        name,
        provider,
        logger: this.#deps.logger.child({ middleware: name }),
        resolveMiddleware: (other) => {
          const q = qualifyName(other, provider);
          const mw = this.get(q);
          this.#info.middlewares.get(q)?.usedBy.push(name);
          return mw;
        },
        resolveService: (other) => {
          const q = qualifyName(other, provider);
          const handler = this.#service(q);
          this.#info.services.get(q)?.usedBy.push(name);
          return handler;
        },
        state: this.#deps.middlewareState,
        ...(this.#deps.middlewareHooks ? { hooks: this.#deps.middlewareHooks } : {}),
      };
      const kind = getMiddlewareKind(parsed.kind);
      if (!kind) throw new Error(`${name}: middleware kind "${parsed.kind}" has a schema but no implementation`);
      const mw = kind.create(parsed.config, context);
      this.#built.set(name, mw);
      this.#kinds.set(name, parsed.kind);
      return mw;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      addError(mwInfo, error.message, true);
      this.#errors.set(name, error);
      throw error;
    } finally {
      this.#resolving.delete(name);
    }
  }
}
