/**
 * Compiles a RuleNode into a closure tree, once per rule. Each matcher checks its arguments the way Traefik's
 * pkg/muxer/http/matcher.go does (same order: no/empty arguments first, then the count, then the value) and
 * precomputes everything it can (lower-cased host, upper-cased method, compiled Go regexps, parsed IPs).
 */
import { RuleErrorCodes, RuleSyntaxError } from './errors.ts';
import { compileGoRegexp, ErrRegexpSyntax, syntaxErrorOffset, type GoRegexp } from '../../lib/go-regexp/index.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { ipEquals, networkContains, parseCidr, parseIp, type IpAddress, type IpNetwork } from '../../lib/ip/address.ts';
import type { MatcherName, MatcherNode, RuleNode } from './parser.ts';
import type { MatchContext } from './request.ts';

export type Matcher = (ctx: MatchContext) => boolean;

/** How many arguments each matcher takes in Traefik v3 (v2 took several values for most of them). */
const ARITY: Record<MatcherName, readonly number[]> = {
  ClientIP: [1],
  Method: [1],
  Host: [1],
  HostRegexp: [1],
  Path: [1],
  PathRegexp: [1],
  PathPrefix: [1],
  Header: [2],
  HeaderRegexp: [2],
  Query: [1, 2],
  QueryRegexp: [1, 2],
};

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Go's %q for the error messages Traefik writes. */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/** Trailing dots are equivalent on both sides of a Host comparison; this is the key the index files hosts under. */
export function hostKey(host: string): string {
  let end = host.length;
  while (end > 0 && host.charCodeAt(end - 1) === 46) end--;
  return end === host.length ? host : host.slice(0, end);
}

/** Whether one received line of header `key` (lower-case) passes `test`. */
function anyHeaderLine(raw: readonly string[] | undefined, key: string, test: (v: string) => boolean): boolean {
  if (raw === undefined) return false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === key.length && name.toLowerCase() === key && test(raw[i + 1]!)) return true;
  }
  return false;
}

/**
 * The closure tree of a rule: `&&`, `||` and `!` over the closures `leaf` builds for its matchers (HTTP v2 and v3,
 * TCP v2), each evaluated lazily left to right as Traefik's matchersTree.match does.
 */
export function combineMatchers<C>(node: RuleNode, leaf: (node: MatcherNode) => (ctx: C) => boolean): (ctx: C) => boolean {
  switch (node.kind) {
    case 'and': {
      const l = combineMatchers(node.left, leaf);
      const r = combineMatchers(node.right, leaf);
      return (ctx) => l(ctx) && r(ctx);
    }
    case 'or': {
      const l = combineMatchers(node.left, leaf);
      const r = combineMatchers(node.right, leaf);
      return (ctx) => l(ctx) || r(ctx);
    }
    case 'not': {
      const m = combineMatchers(node.operand, leaf);
      return (ctx) => !m(ctx);
    }
    case 'matcher':
      return leaf(node);
  }
}

/** Whether one value of header `key` (lower-case) passes `test`, each received line being a value as in Go. */
export function anyHeaderValue(ctx: MatchContext, key: string, test: (v: string) => boolean): boolean {
  const v = ctx.req.headers[key];
  if (v === undefined) return false;
  if (typeof v === 'string') {
    if (test(v)) return true;
    // Node joined repeated lines with ", "; Go keeps each line a value and matches when any does.
    return v.includes(', ') && anyHeaderLine(ctx.req.rawHeaders, key, test);
  }
  for (let i = 0; i < v.length; i++) if (test(v[i]!)) return true;
  return false;
}

class MatcherBuilder {
  private readonly rule: string;
  constructor(rule: string) {
    this.rule = rule;
  }

  private fail(code: (typeof RuleErrorCodes)[keyof typeof RuleErrorCodes], position: number, reason: string): never {
    throw new RuleSyntaxError(code, this.rule, position, reason);
  }

  build(node: RuleNode): Matcher {
    return combineMatchers(node, (leaf) => this.matcher(leaf));
  }

  /** Go's regexp.Compile as Traefik calls it, on the linear-time engine (a hostile pattern cannot stall a worker). */
  private regexp(node: MatcherNode, index: number, pattern: string): GoRegexp {
    try {
      return compileGoRegexp(pattern);
    } catch (err) {
      if (!isMeshgateError(err, ErrRegexpSyntax.code)) throw err;
      const what = node.name === 'PathRegexp' ? 'PathPrefix' : node.name; // Traefik's own (mis)wording
      return this.fail(
        RuleErrorCodes.value,
        node.argPositions[index]! + 1 + syntaxErrorOffset(pattern, err.message),
        `error while adding rule ${node.name}: compiling ${what} matcher: ${err.message}`,
      );
    }
  }

  /**
   * Traefik's wildcard Host (rules-and-priority: `*.example.com`, `**.example.com`): `*` stands for exactly one
   * label, `**` for one or more, and `*` alone for any host; only a leading wildcard label is allowed. Trailing dots
   * are equivalent, as for exact hosts.
   */
  private wildcardHost(node: MatcherNode, pattern: string): Matcher {
    const host = hostKey(pattern);
    if (host === '*') return (ctx) => ctx.req.host.length > 0;
    const deep = host.startsWith('**.');
    const suffix = host.slice(deep ? 2 : 1); // ".example.com"
    if (!(deep || host.startsWith('*.')) || suffix.includes('*') || suffix.length < 2) {
      this.fail(RuleErrorCodes.value, node.argPositions[0]!, `error while adding rule Host: invalid value ${quote(pattern)} for Host matcher, a wildcard must be the whole first label (*.example.com or **.example.com)`);
    }
    return (ctx) => {
      const reqHost = hostKey(ctx.req.host);
      const labels = reqHost.length - suffix.length;
      if (labels <= 0 || !reqHost.endsWith(suffix)) return false;
      if (deep) return reqHost.charCodeAt(0) !== 46;
      const dot = reqHost.indexOf('.');
      return dot === labels && dot > 0;
    };
  }

  private matcher(node: MatcherNode): Matcher {
    const { name, args } = node;
    if (args.length === 0) this.fail(RuleErrorCodes.arguments, node.position, `error while checking rule ${name}: no args for matcher ${name}`);
    const empty = args.findIndex((a) => a.length === 0);
    if (empty >= 0) {
      this.fail(RuleErrorCodes.arguments, node.argPositions[empty]!, `error while checking rule ${name}: empty args for matcher ${name}, [${args.join(' ')}]`);
    }
    const arity = ARITY[name];
    if (!arity.includes(args.length)) {
      const hint =
        arity.length === 1 && arity[0] === 1
          ? ` — ${name} takes exactly one value in Traefik v3; to accept several, combine matchers: ${name}(\`${args[0]}\`) || ${name}(\`${args[1] ?? '…'}\`)` +
            ', or keep the v2 rule with ruleSyntax: v2 on the router'
          : '';
      this.fail(
        RuleErrorCodes.arguments,
        node.argPositions[arity[arity.length - 1]!] ?? node.position,
        `error while adding rule ${name}: unexpected number of parameters; got ${args.length}, expected one of [${arity.join(' ')}]${hint}`,
      );
    }
    const a0 = args[0]!;
    switch (name) {
      case 'Method': {
        const method = a0.toUpperCase();
        return (ctx) => ctx.req.method === method;
      }
      case 'Host': {
        if (!isAscii(a0)) {
          this.fail(RuleErrorCodes.value, node.argPositions[0]!, `error while adding rule Host: invalid value ${quote(a0)} for Host matcher, non-ASCII characters are not allowed`);
        }
        const host = a0.toLowerCase();
        if (host.includes('*')) return this.wildcardHost(node, host);
        const last = host.length - 1;
        const hostNoDot = host.charCodeAt(last) === 46 ? host.slice(0, last) : undefined;
        return (ctx) => {
          const reqHost = ctx.req.host;
          if (reqHost.length === 0) return false;
          if (reqHost === host) return true;
          if (hostNoDot !== undefined && reqHost === hostNoDot) return true;
          const rl = reqHost.length - 1;
          return reqHost.charCodeAt(rl) === 46 && reqHost.length - 1 === host.length && reqHost.startsWith(host);
        };
      }
      case 'HostRegexp': {
        if (!isAscii(a0)) {
          this.fail(RuleErrorCodes.value, node.argPositions[0]!, `error while adding rule HostRegexp: invalid value ${quote(a0)} for HostRegexp matcher, non-ASCII characters are not allowed`);
        }
        const re = this.regexp(node, 0, a0);
        return (ctx) => re.test(ctx.req.host);
      }
      case 'Path':
      case 'PathPrefix': {
        if (!a0.startsWith('/')) this.fail(RuleErrorCodes.value, node.argPositions[0]!, `error while adding rule ${name}: path ${quote(a0)} does not start with a '/'`);
        if (name === 'Path') return (ctx) => ctx.path === a0;
        return (ctx) => ctx.path.startsWith(a0);
      }
      case 'PathRegexp': {
        const re = this.regexp(node, 0, a0);
        return (ctx) => re.test(ctx.path);
      }
      case 'Header':
      case 'HeaderRegexp': {
        // Go canonicalises the key (x-forwarded-proto → X-Forwarded-Proto); Node lower-cases every name.
        const key = a0.toLowerCase();
        const value = args[1]!;
        const test: (v: string) => boolean = name === 'Header' ? (v) => v === value : ((re) => (v: string) => re.test(v))(this.regexp(node, 1, value));
        return (ctx) => anyHeaderValue(ctx, key, test);
      }
      case 'Query':
      case 'QueryRegexp': {
        const key = a0;
        if (args.length === 1 || name === 'Query') {
          // Query(`k`) matches a key present with an empty value (`?k` or `?k=`).
          const value = args.length === 2 ? args[1]! : '';
          return (ctx) => {
            const values = ctx.queryValues(key);
            return values !== undefined && values.includes(value);
          };
        }
        const re = this.regexp(node, 1, args[1]!);
        return (ctx) => {
          const values = ctx.queryValues(key);
          if (values === undefined) return false;
          for (let i = 0; i < values.length; i++) if (re.test(values[i]!)) return true;
          return false;
        };
      }
      case 'ClientIP': {
        const ip = parseIp(a0);
        if (ip !== undefined) {
          return (ctx) => {
            const addr = ctx.clientAddress();
            return addr !== undefined && ipEquals(ip, addr);
          };
        }
        const net = parseCidr(a0);
        if (net === undefined) {
          this.fail(
            RuleErrorCodes.value,
            node.argPositions[0]!,
            `error while adding rule ClientIP: initializing IP checker for ClientIP matcher: parsing CIDR trusted IPs ${a0}: invalid CIDR address: ${a0}`,
          );
        }
        return (ctx) => {
          const addr = ctx.clientAddress();
          return addr !== undefined && networkContains(net, addr);
        };
      }
    }
  }
}

/** Builds the closure tree for a parsed rule; throws RuleSyntaxError for arguments Traefik rejects. */
export function buildMatcher(rule: string, node: RuleNode): Matcher {
  return new MatcherBuilder(rule).build(node);
}

export type { IpAddress, IpNetwork };
