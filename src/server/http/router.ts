/**
 * The server's HTTP routing: Consul's `/v1/...` paths as patterns with `:param` segments and a trailing `*rest`
 * (KV keys contain slashes). Lookup follows Go's ServeMux, which Consul's API is built on (agent/http.go): the most
 * specific pattern that matches the path wins whatever the method, and only then is the method checked — a wrong
 * method is a 405 `method X not allowed` with `Allow: OPTIONS,<methods>`, and OPTIONS itself answers 200 with that
 * header (Consul's `wrap`). A pattern's last `:param` takes the whole rest of the path, slashes included, because
 * Consul's handlers read names as the path after a prefix (`strings.TrimPrefix(req.URL.Path, "/v1/health/service/")`
 * in agent/health_endpoint.go): a service named `dev/Test` is `/v1/health/service/dev/Test` (or `dev%2FTest`). It may
 * be empty, so the handler can answer Consul's 400 (`Missing service name`). An unknown path is a 404 with an empty
 * body, as Consul's `Index` handler answers it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Errors, defineError } from '../../lib/errors.ts';
import type { WatchSpec } from '../store/types.ts';
import type { Authorizer } from '../acl/authorizer.ts';

export interface RequestContext {
  readonly method: string;
  readonly path: string;
  /** Path parameters; `*rest` captures the remainder of the path, slashes included (percent-decoded). */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** `?token=`, `X-Consul-Token` or `Authorization: Bearer`, as Consul reads it (token.ts). */
  readonly token: string | undefined;
  /**
   * The request's permissions: its token resolved now (a secret naming no token throws 403 "ACL not found"). Not
   * cached, so a blocking query that calls it on every wake sees deletions and policy changes; with ACLs off it is
   * ALLOW_ALL_AUTHORIZER.
   */
  authorizer(): Authorizer;
  /** Calls `onRevoked` once if the request's token is deleted or expires; returns the unsubscribe (see blocking.ts). */
  watchRevocation(onRevoked: () => void): () => void;
  readonly remoteAddress: string;
  /** Aborted when the client goes away; blocking queries stop waiting. */
  readonly signal: AbortSignal;
  /** The raw request body, read once, refused with 413 past the limit. */
  body(): Promise<Buffer>;
  /** The body parsed as JSON; malformed JSON is a 400. An empty body is `undefined`. */
  json(): Promise<unknown>;
  /**
   * The body as a stream, unbounded by the JSON limit, for a handler that bounds what it reads itself (a snapshot
   * restore); not together with `body()` or `json()`.
   */
  bodyStream(): Readable;
}

export interface ApiResponse {
  status?: number;
  /**
   * A JSON-serialisable value (sent as application/json), a Buffer (raw bytes), text (text/plain), or a Readable
   * streamed as raw bytes with no Content-Length (a snapshot); a stream that fails midway cuts the connection.
   */
  body?: unknown;
  headers?: Record<string, string>;
  /** Blocking-query metadata: sets X-Consul-Index, X-Consul-KnownLeader, X-Consul-LastContact. */
  index?: number;
  /** Send a string body as text/plain instead of JSON-encoding it (Consul's error-ish text answers). */
  text?: boolean;
}

export type RouteHandler = (ctx: RequestContext) => Promise<ApiResponse> | ApiResponse;

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
  /** Computed once: higher wins when several patterns match a path (literal beats :param beats *rest). */
  readonly specificity: number;
  /** Registration order, which breaks ties between equally specific routes. */
  readonly order: number;
}

export interface RouteMatch {
  readonly route: { method: string; pattern: string; handler: RouteHandler };
  readonly params: Record<string, string>;
}

export type RouteLookup =
  | { kind: 'found'; match: RouteMatch }
  /** `allow` is what Consul sends in `Allow`: OPTIONS first, then the pattern's methods in registration order. */
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'options'; allow: string[] }
  | { kind: 'not-found' };

/**
 * Consul's structs.ErrNoDCPath: a request for another datacenter, which a single-datacenter cluster cannot forward,
 * fails in the RPC layer and reaches the client as a 500 with this text.
 */
export const ErrNoPathToDatacenter = defineError('MG_NO_DC_PATH', 500, () => 'No path to datacenter');

/**
 * Paths whose answer is this agent's own or covers every datacenter: Consul never forwards them, so `?dc=` is ignored
 * there (agent/agent_endpoint.go and CatalogDatacenters/CoordinateDatacenters take no datacenter).
 */
const LOCAL_ONLY = /^\/v1\/(agent\/|catalog\/datacenters$|coordinate\/datacenters$)/;

export interface ApiRouterOptions {
  /** This cluster's datacenter; with it, `?dc=<another>` answers Consul's 500 `No path to datacenter`. */
  datacenter?: string;
}

export class ApiRouter {
  private readonly routes: Route[] = [];
  /**
   * Routes whose first two segments are literal (`/v1/kv/*key`), by those two segments: a request is matched only
   * against its own family and the few patterns that start with a parameter, not against every route of the API.
   */
  private readonly byFamily = new Map<string, Route[]>();
  /** Routes with fewer than two leading literals but a literal first one (`/`, `/ui/*path`), by that segment. */
  private readonly byFirst = new Map<string, Route[]>();
  private readonly unkeyed: Route[] = [];
  private readonly datacenter: string | undefined;

  constructor(options: ApiRouterOptions = {}) {
    this.datacenter = options.datacenter?.toLowerCase();
  }

  get(pattern: string, handler: RouteHandler): this {
    return this.add('GET', pattern, handler);
  }
  put(pattern: string, handler: RouteHandler): this {
    return this.add('PUT', pattern, handler);
  }
  post(pattern: string, handler: RouteHandler): this {
    return this.add('POST', pattern, handler);
  }
  delete(pattern: string, handler: RouteHandler): this {
    return this.add('DELETE', pattern, handler);
  }

  /** Registers one handler for several methods (Consul accepts PUT and POST on most writes). */
  on(methods: string[], pattern: string, handler: RouteHandler): this {
    for (const m of methods) this.add(m, pattern, handler);
    return this;
  }

  add(method: string, pattern: string, handler: RouteHandler): this {
    const segments = pattern.split('/').filter((s) => s !== '');
    const local = this.datacenter;
    const guarded: RouteHandler = local === undefined || LOCAL_ONLY.test(pattern)
      ? handler
      : (ctx) => {
        const dc = ctx.query.get('dc');
        if (dc !== null && dc !== '' && dc.toLowerCase() !== local) throw ErrNoPathToDatacenter();
        return handler(ctx);
      };
    const route: Route = { method, pattern, segments, handler: guarded, specificity: specificity(segments), order: this.routes.length };
    this.routes.push(route);
    const key = familyKey(segments);
    const first = segments[0];
    if (key !== undefined) push(this.byFamily, key, route);
    else if (first === undefined || !/^[:*]/.test(first)) push(this.byFirst, first ?? '', route);
    else this.unkeyed.push(route);
    return this;
  }

  /**
   * Every registered method and pattern, in registration order (a method and pattern registered twice appear
   * twice; lookups use the first). Tests walk it so that a new route cannot escape the ACL table.
   */
  routeTable(): Array<{ method: string; pattern: string }> {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern }));
  }

  /** The routes that could match, in registration order (ties between equally specific routes keep it). */
  private candidates(parts: readonly string[]): readonly Route[] {
    const family = parts.length >= 2 ? this.byFamily.get(`${parts[0]}/${parts[1]}`) : undefined;
    const first = this.byFirst.get(parts[0] ?? '');
    if (first === undefined && this.unkeyed.length === 0) return family ?? [];
    const lists = [family, first, this.unkeyed].filter((l): l is Route[] => l !== undefined && l.length > 0);
    if (lists.length === 1) return lists[0]!;
    return lists.flat().sort((x, y) => x.order - y.order);
  }

  lookup(method: string, path: string): RouteLookup {
    // Empty segments are kept: KV keys may contain '//' and Consul keeps them. `/` itself has no segment, so only
    // a pattern registered as `/` (the UI redirect) matches it.
    const parts = path === '/' ? [] : path.slice(1).split('/');
    const effective = method === 'HEAD' ? 'GET' : method;
    let best: Array<{ route: Route; params: Record<string, string> }> = [];
    for (const route of this.candidates(parts)) {
      if (best.length > 0 && route.specificity < best[0]!.route.specificity) continue;
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (best.length === 0 || route.specificity > best[0]!.route.specificity) best = [{ route, params }];
      else best.push({ route, params });
    }
    if (best.length === 0) return { kind: 'not-found' };
    const found = best.find((b) => b.route.method === effective);
    if (found) return { kind: 'found', match: found };
    const allow = ['OPTIONS', ...new Set(best.map((b) => b.route.method))];
    return method === 'OPTIONS' ? { kind: 'options', allow } : { kind: 'method-not-allowed', allow };
  }
}

function push(map: Map<string, Route[]>, key: string, route: Route): void {
  const list = map.get(key);
  if (list) list.push(route);
  else map.set(key, [route]);
}

function familyKey(segments: readonly string[]): string | undefined {
  const [a, b] = segments;
  if (a === undefined || b === undefined || /^[:*]/.test(a) || /^[:*]/.test(b)) return undefined;
  return `${a}/${b}`;
}

function specificity(segments: readonly string[]): number {
  let score = 0;
  for (const s of segments) score = score * 3 + (s.startsWith('*') ? 0 : s.startsWith(':') ? 1 : 2);
  return score * 100 + segments.length;
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!;
    if (seg.startsWith('*')) {
      params[seg.slice(1)] = parts.slice(i).map(safeDecode).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.startsWith(':') && i === pattern.length - 1) {
      params[seg.slice(1)] = parts.slice(i).map(safeDecode).join('/');
      return params;
    }
    if (seg.startsWith(':')) {
      if (part === '') return undefined;
      params[seg.slice(1)] = safeDecode(part);
    } else if (seg !== part) {
      return undefined;
    }
  }
  return parts.length === pattern.length ? params : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // Consul passes undecodable escapes through as they came; so do we rather than failing the request.
    return s;
  }
}

/** What a blocking read depends on and how to compute it; see blocking.ts. */
export interface BlockingRead {
  watches: readonly WatchSpec[];
  run(): ApiResponse & { index: number };
}

/**
 * A name read from the rest of the path (a trailing `:param`); an empty one is Consul's 400 with its text
 * (`Missing service name`, `Missing node name`, …), as its handlers answer `/v1/health/service/`.
 */
export function pathName(ctx: RequestContext, param: string, missing: string): string {
  const name = ctx.params[param] ?? '';
  if (name === '') throw Errors.badRequest(missing);
  return name;
}
