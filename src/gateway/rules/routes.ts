/**
 * The route table: Traefik's muxer order (priority descending; default priority = the rule's length in bytes, less
 * the stars of `**.` hosts: priority.ts) and
 * an index so match() does not test every router.
 *
 * Index: for each router, the top level of its rule is analysed for values any matching request must have —
 * a Host (the request host, trailing dots aside) and a path prefix (`PathPrefix` or `Path`). `&&` needs either
 * side's requirement, `||` needs both sides to have one (the union), `!` gives none. A router is filed under each of
 * its hosts (else in the host-less part), and under each of its path prefixes in a character trie (else in that
 * part's plain list). A lookup gathers the few lists that can hold a match — the host's bucket and the host-less
 * bucket, each a plain list plus the trie nodes along the request path — and walks them merged by rank, testing
 * each router's full rule. The index only narrows; the full rule decides, and rank order is kept, so the first hit
 * is the one a linear scan would return.
 */
import { nearTableGrowth, sortSliced, type Slicer } from '../../lib/slices.ts';
import { RuleErrorCodes, RuleSyntaxError } from './errors.ts';
import { buildMatcher, hostKey, type Matcher } from './matchers.ts';
import { buildMatcherV2, V2_VOCABULARY } from './matchers-v2.ts';
import { literalPrefix } from './mux-template.ts';
import { parseRuleSyntax, parseRuleSyntaxWith, type RuleNode } from './parser.ts';
import { defaultPriority } from './priority.ts';
import { MatchContext, routingPath, type MatchRequest } from './request.ts';

export interface RouteInput<T> {
  name: string;
  rule: string;
  /** Default (and 0): the rule's length, as Traefik. */
  priority?: number;
  /** Entry points the router listens on; an empty list means every entry point. */
  entryPoints: readonly string[];
  target: T;
  /** Traefik's `ruleSyntax`: `v2` selects the v2 matchers (matchers-v2.ts); anything else is v3, as in Traefik. */
  ruleSyntax?: RuleSyntax | undefined;
}

/** The two rule languages Traefik v3 runs (pkg/muxer/http/parser.go NewSyntaxParser: "v2" and "v3"). */
export type RuleSyntax = 'v2' | 'v3';

export interface CompiledRoutes<T> {
  match(entryPoint: string, req: MatchRequest): { name: string; target: T } | undefined;
  readonly size: number;
}

/** Traefik's maxUserPriority is MaxInt - 1000; JS integers are exact up to 2^53. */
export const MAX_USER_PRIORITY = Number.MAX_SAFE_INTEGER - 1000;

/** Parses and validates a rule (grammar, matcher names, argument counts and values). Throws RuleSyntaxError. */
export function parseRule(rule: string, syntax?: RuleSyntax): RuleNode {
  return compileRule(rule, syntax).node;
}

/** The rule's tree and closure in the syntax Traefik would use (SyntaxParser.parse: an unknown syntax is v3). */
function compileRule(rule: string, syntax: RuleSyntax | undefined): { node: RuleNode; test: Matcher } {
  if (syntax === 'v2') {
    const node = parseRuleSyntaxWith(rule, V2_VOCABULARY);
    return { node, test: buildMatcherV2(rule, node) };
  }
  const node = parseRuleSyntax(rule);
  return { node, test: buildMatcher(rule, node) };
}


interface Route<T> {
  readonly name: string;
  readonly target: T;
  readonly priority: number;
  /** Position in the sorted table: lower is tried first. */
  rank: number;
  readonly test: Matcher;
  readonly hosts: readonly string[] | undefined;
  readonly prefixes: readonly string[] | undefined;
  readonly entryPoints: readonly string[];
  readonly result: { name: string; target: T };
}

/** Hosts every matching request must have one of, or undefined when the rule does not pin the host. */
function requiredHosts(node: RuleNode, v2: boolean): string[] | undefined {
  switch (node.kind) {
    case 'matcher':
      // v2: `Host`/`HostHeader` take several hosts, none a wildcard (a `*` is a literal character there).
      if (v2) return node.name === 'Host' || (node.name as string) === 'HostHeader' ? [...new Set(node.args.map((a) => hostKey(a.toLowerCase())))] : undefined;
      // A wildcard Host pins no single host: it stays in the host-less part of the index.
      return node.name === 'Host' && !node.args[0]!.includes('*') ? [hostKey(node.args[0]!.toLowerCase())] : undefined;
    case 'and':
      return smaller(requiredHosts(node.left, v2), requiredHosts(node.right, v2));
    case 'or':
      return union(requiredHosts(node.left, v2), requiredHosts(node.right, v2));
    case 'not':
      return undefined;
  }
}

/**
 * Path prefixes every matching request's routing path starts with one of (Path counts as its own prefix). A v2
 * `Path`/`PathPrefix` takes several templates; each pins the literal text before its first `{variable}`.
 */
function requiredPrefixes(node: RuleNode, v2: boolean): string[] | undefined {
  switch (node.kind) {
    case 'matcher':
      if (node.name !== 'PathPrefix' && node.name !== 'Path') return undefined;
      return v2 ? [...new Set(node.args.map(literalPrefix))] : [node.args[0]!];
    case 'and':
      return smaller(requiredPrefixes(node.left, v2), requiredPrefixes(node.right, v2));
    case 'or':
      return union(requiredPrefixes(node.left, v2), requiredPrefixes(node.right, v2));
    case 'not':
      return undefined;
  }
}

function smaller(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return b.length < a.length ? b : a;
}

function union(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (a === undefined || b === undefined) return undefined;
  return [...new Set([...a, ...b])];
}

/** A trie node: its children and routers made on first need (most nodes of a large table have one or neither). */
class TrieNode<T> {
  children: Map<number, TrieNode<T>> | undefined;
  routes: Route<T>[] | undefined;
}

/**
 * Up to this many routers, a bucket is one list in rank order rather than a trie: a request walks them all, and
 * each router's full rule (which checks the path itself) decides, so the trie would only narrow a handful. A table of
 * 50,000 routers with a host each is 50,000 such buckets: as tries, a node and a Map per character of every prefix
 * (~1 KiB per router, kept while the table serves).
 */
const SMALL_BUCKET = 8;

class Bucket<T> {
  /** While the bucket holds at most SMALL_BUCKET routers: all of them, in rank order. */
  private few: Route<T>[] | undefined;
  /** Once it holds more: the routers without a path requirement, and the others under their prefixes. */
  private plain: Route<T>[] | undefined;
  private trie: TrieNode<T> | undefined;

  /** Routes must be added in rank order so each list stays sorted. */
  add(route: Route<T>): void {
    if (this.trie === undefined) {
      if (this.few === undefined) {
        this.few = [route];
        return;
      }
      if (this.few.length < SMALL_BUCKET) {
        this.few.push(route);
        return;
      }
      const few = this.few;
      this.few = undefined;
      this.trie = new TrieNode<T>();
      for (const r of few) this.index(r);
    }
    this.index(route);
  }

  private index(route: Route<T>): void {
    if (route.prefixes === undefined) {
      (this.plain ??= []).push(route);
      return;
    }
    for (const prefix of route.prefixes) {
      let node = this.trie!;
      for (let i = 0; i < prefix.length; i++) {
        const c = prefix.charCodeAt(i);
        node.children ??= new Map();
        let next = node.children.get(c);
        if (next === undefined) {
          next = new TrieNode<T>();
          node.children.set(c, next);
        }
        node = next;
      }
      (node.routes ??= []).push(route);
    }
  }

  /** Pushes onto `lists` every non-empty list that may hold a router matching `path`. */
  collect(path: string, lists: Route<T>[][]): void {
    if (this.trie === undefined) {
      if (this.few !== undefined) lists.push(this.few);
      return;
    }
    if (this.plain !== undefined) lists.push(this.plain);
    let node: TrieNode<T> | undefined = this.trie;
    for (let i = 0; ; i++) {
      if (node.routes !== undefined) lists.push(node.routes);
      if (i >= path.length) return;
      node = node.children?.get(path.charCodeAt(i));
      if (node === undefined) return;
    }
  }
}

/** Below this many routers a plain scan beats the index's map and trie lookups. */
const SMALL_TABLE = 8;

class EntryPointIndex<T> {
  readonly hosts = new Map<string, Bucket<T>>();
  readonly hostless = new Bucket<T>();
  /** Every router of the entry point in rank order, kept while the table is small enough to scan. */
  all: Route<T>[] | undefined = [];

  /** Routes must be added in rank order so each list stays sorted. */
  add(route: Route<T>): void {
    if (this.all !== undefined) this.all = this.all.length < SMALL_TABLE ? [...this.all, route] : undefined;
    if (route.hosts === undefined) {
      this.hostless.add(route);
      return;
    }
    for (const h of route.hosts) {
      let b = this.hosts.get(h);
      if (b === undefined) {
        b = new Bucket<T>();
        this.hosts.set(h, b);
      }
      b.add(route);
    }
  }
}

/**
 * `list` without repeats. The routers of a table share a few entry point lists (the router manager hands the same
 * array to every router on the same entry points): one result per list, from `lists`, not a Set and an array per router.
 */
function uniqueList(list: readonly string[], lists: Map<readonly string[], readonly string[]>): readonly string[] {
  let unique = lists.get(list);
  if (unique === undefined) lists.set(list, (unique = [...new Set(list)]));
  return unique;
}

/** Compiles one router into `routes`, or records why it cannot serve in `errors`. */
function compileOne<T>(input: RouteInput<T>, seen: Set<string>, routes: Route<T>[], errors: Map<string, string>, lists: Map<readonly string[], readonly string[]>): void {
  if (seen.has(input.name)) {
    errors.set(input.name, `router ${input.name} is defined more than once`);
    return;
  }
  seen.add(input.name);
  const explicit = input.priority !== undefined && input.priority !== 0;
  if (explicit && !Number.isSafeInteger(input.priority)) {
    errors.set(input.name, `the router priority ${input.priority} is not an integer`);
    return;
  }
  if (explicit && input.priority! > MAX_USER_PRIORITY && !input.name.endsWith('@internal')) {
    errors.set(input.name, `the router priority ${input.priority} exceeds the max user-defined priority ${MAX_USER_PRIORITY}`);
    return;
  }
  let node: RuleNode;
  let test: Matcher;
  try {
    ({ node, test } = compileRule(input.rule, input.ruleSyntax));
  } catch (err) {
    if (err instanceof RuleSyntaxError) {
      errors.set(input.name, err.message);
      return;
    }
    throw err;
  }
  // The default from the tree just parsed (priority.ts), so a rule is parsed once.
  const priority = explicit ? input.priority! : defaultPriority(input.rule, node);
  routes.push({
    name: input.name,
    target: input.target,
    priority,
    rank: 0,
    test,
    hosts: requiredHosts(node, input.ruleSyntax === 'v2'),
    prefixes: requiredPrefixes(node, input.ruleSyntax === 'v2'),
    entryPoints: uniqueList(input.entryPoints, lists),
    result: { name: input.name, target: input.target },
  });
}

// Traefik sorts by priority, then by provider precedence, and leaves the rest to an unstable sort over a map;
// Meshgate breaks the remaining ties by router name so the order never depends on configuration order.
const byRank = (a: Route<unknown>, b: Route<unknown>): number => b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function compileAll<T>(inputs: RouteInput<T>[]): { routes: Route<T>[]; errors: Map<string, string> } {
  const errors = new Map<string, string>();
  const routes: Route<T>[] = [];
  const seen = new Set<string>();
  const lists = new Map<readonly string[], readonly string[]>();
  for (const input of inputs) compileOne(input, seen, routes, errors, lists);
  routes.sort(byRank);
  routes.forEach((r, i) => (r.rank = i));
  return { routes, errors };
}

class IndexedRoutes<T> implements CompiledRoutes<T> {
  private readonly byEntryPoint = new Map<string, EntryPointIndex<T>>();
  /** Routers with no entry point list (every entry point) — what an unknown entry point sees. */
  private readonly anyEntryPoint = new EntryPointIndex<T>();
  private readonly ctx = new MatchContext();
  private readonly lists: Route<T>[][] = [];
  private readonly cursors: number[] = [];
  readonly size: number;

  /**
   * `entryPoints`: every entry point a route names (collected while compiling: a pass over 50,000 routes here is one
   * step of ~10 ms). Call `add` for every route in rank order before the first match.
   */
  constructor(size: number, entryPoints: Iterable<string>) {
    this.size = size;
    for (const ep of entryPoints) this.byEntryPoint.set(ep, new EntryPointIndex<T>());
  }

  add(r: Route<T>): void {
    if (r.entryPoints.length === 0) {
      this.anyEntryPoint.add(r);
      for (const idx of this.byEntryPoint.values()) idx.add(r);
    } else for (const ep of r.entryPoints) this.byEntryPoint.get(ep)!.add(r);
  }

  match(entryPoint: string, req: MatchRequest): { name: string; target: T } | undefined {
    const path = routingPath(req.path);
    if (path === undefined) return undefined;
    const index = this.byEntryPoint.get(entryPoint) ?? this.anyEntryPoint;
    const small = index.all;
    if (small !== undefined) {
      if (small.length === 0) return undefined;
      this.ctx.reset(req, path);
      for (let i = 0; i < small.length; i++) if (small[i]!.test(this.ctx)) return small[i]!.result;
      return undefined;
    }
    const lists = this.lists;
    lists.length = 0;
    const hostBucket = index.hosts.get(hostKey(req.host));
    if (hostBucket !== undefined) hostBucket.collect(path, lists);
    index.hostless.collect(path, lists);
    if (lists.length === 0) return undefined;
    const ctx = this.ctx;
    ctx.reset(req, path);
    if (lists.length === 1) {
      const only = lists[0]!;
      for (let i = 0; i < only.length; i++) if (only[i]!.test(ctx)) return only[i]!.result;
      return undefined;
    }
    // k-way merge by rank over a handful of sorted lists.
    const cursors = this.cursors;
    cursors.length = lists.length;
    cursors.fill(0);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let k = 0; k < lists.length; k++) {
        const list = lists[k]!;
        const c = cursors[k]!;
        if (c < list.length && list[c]!.rank < bestRank) {
          bestRank = list[c]!.rank;
          best = k;
        }
      }
      if (best < 0) return undefined;
      const route = lists[best]![cursors[best]!]!;
      // The same router may sit in several lists (several prefixes or hosts): skip its other copies.
      for (let k = 0; k < lists.length; k++) {
        const list = lists[k]!;
        if (cursors[k]! < list.length && list[cursors[k]!] === route) cursors[k]!++;
      }
      if (route.test(ctx)) return route.result;
    }
  }
}

class LinearRoutes<T> implements CompiledRoutes<T> {
  private readonly routes: Route<T>[];
  private readonly ctx = new MatchContext();
  readonly size: number;
  constructor(routes: Route<T>[]) {
    this.routes = routes;
    this.size = routes.length;
  }
  match(entryPoint: string, req: MatchRequest): { name: string; target: T } | undefined {
    const path = routingPath(req.path);
    if (path === undefined) return undefined;
    this.ctx.reset(req, path);
    for (const r of this.routes) {
      if (r.entryPoints.length > 0 && !r.entryPoints.includes(entryPoint)) continue;
      if (r.test(this.ctx)) return r.result;
    }
    return undefined;
  }
}

/** Compiles every router once; a router whose rule or priority is invalid is left out and reported by name. */
export function compileRoutes<T>(routes: RouteInput<T>[]): { routes: CompiledRoutes<T>; errors: Map<string, string> } {
  const compiled = compileAll(routes);
  const indexed = new IndexedRoutes<T>(compiled.routes.length, new Set(compiled.routes.flatMap((r) => r.entryPoints)));
  for (const r of compiled.routes) indexed.add(r);
  return { routes: indexed, errors: compiled.errors };
}

/**
 * The same table as `compileRoutes`, built in slices that give the event loop way (`slicer`), so a configuration
 * of any size compiles while the previous table keeps answering requests.
 */
export async function compileRoutesSliced<T>(inputs: RouteInput<T>[], slicer: Slicer): Promise<{ routes: CompiledRoutes<T>; errors: Map<string, string> }> {
  const errors = new Map<string, string>();
  const routes: Route<T>[] = [];
  const seen = new Set<string>();
  const entryPoints = new Set<string>();
  const lists = new Map<readonly string[], readonly string[]>();
  for (const input of inputs) {
    const before = routes.length;
    // Growing the set of names seen is one step when it is large: on a turn of its own.
    if (nearTableGrowth(seen.size)) await slicer.fresh();
    compileOne(input, seen, routes, errors, lists);
    if (routes.length > before) for (const ep of routes[before]!.entryPoints) entryPoints.add(ep);
    const pending = slicer.tick();
    if (pending) await pending;
  }
  await sortSliced(routes, byRank, slicer);
  const indexed = new IndexedRoutes<T>(routes.length, entryPoints);
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i]!;
    r.rank = i;
    indexed.add(r);
    const pending = slicer.tick();
    if (pending) await pending;
  }
  return { routes: indexed, errors };
}

/** The same table matched by a plain linear scan in Traefik's order: the reference the index is tested against. */
export function compileRoutesLinear<T>(routes: RouteInput<T>[]): { routes: CompiledRoutes<T>; errors: Map<string, string> } {
  const compiled = compileAll(routes);
  return { routes: new LinearRoutes(compiled.routes), errors: compiled.errors };
}

export { RuleErrorCodes };
