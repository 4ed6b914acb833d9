/**
 * Traefik v2's HTTP matchers, which Traefik v3 still runs for a router with `ruleSyntax: v2` (or every router under
 * the static `core.defaultRuleSyntax: v2`): traefik/traefik pkg/muxer/http/matcher_v2.go, `httpFuncsV2`. Same
 * grammar as v3 (parser.ts); the differences are the matchers. Most take several values and match when any does
 * (`Host`, `HostHeader`, `HostRegexp`, `Path`, `PathPrefix`, `Method`, `ClientIP`); `Headers`, `HeadersRegexp` and
 * `Query` take key/value pairs and match when every pair does. `HostRegexp`, `Path`, `PathPrefix` and `Query` values
 * are gorilla/mux templates (`{sub:[a-z]+}.example.com`, `/users/{id:[0-9]+}`, `page={n}`; mux-template.ts): text
 * outside `{…}` is literal, so `HostRegexp(\`(example.com\`)` matches the literal text. Checks follow Traefik's order
 * (rules.CheckRule: no values, an empty value; then each matcher's own) and wording.
 */
import { compileGoRegexp, ErrRegexpSyntax, type GoRegexp } from '../../lib/go-regexp/index.ts';
import { isMeshgateError } from '../../lib/errors.ts';
import { IpSet } from '../../lib/ip/checker.ts';
import { RuleErrorCodes, RuleSyntaxError, type RuleErrorCode } from './errors.ts';
import { anyHeaderValue, combineMatchers, isAscii, quote, type Matcher } from './matchers.ts';
import { compileMuxTemplate, isProblem, type MuxTemplateKind } from './mux-template.ts';
import { MATCHER_NAMES, matcherVocabulary, parseRuleSyntaxWith, type MatcherNode, type RuleNode } from './parser.ts';

/** The names Traefik registers for the v2 syntax (httpFuncsV2). */
export const V2_MATCHER_NAMES = ['Host', 'HostHeader', 'HostRegexp', 'ClientIP', 'Path', 'PathPrefix', 'Method', 'Headers', 'HeadersRegexp', 'Query'] as const;

export const V2_VOCABULARY = matcherVocabulary(V2_MATCHER_NAMES, 'Traefik v2 HTTP matchers (ruleSyntax v2)');

const EITHER_VOCABULARY = matcherVocabulary([...new Set([...MATCHER_NAMES, ...V2_MATCHER_NAMES])], 'Traefik v2 and v3 HTTP matchers');

/**
 * Grammar only, over the matcher names of both syntaxes — what Traefik's ParseDomains reads a rule with to find its
 * `Host` values for TLS, whatever the router's syntax (pkg/muxer/http/mux.go).
 */
export function parseRuleEitherSyntax(rule: string): RuleNode {
  return parseRuleSyntaxWith(rule, EITHER_VOCABULARY);
}

/** Go's %v of a []string, as mux's errors print the pairs. */
function goList(values: readonly string[]): string {
  return `[${values.join(' ')}]`;
}

class V2Builder {
  private readonly rule: string;
  constructor(rule: string) {
    this.rule = rule;
  }

  private fail(code: RuleErrorCode, position: number, reason: string): never {
    throw new RuleSyntaxError(code, this.rule, position, reason);
  }

  build(node: RuleNode): Matcher {
    return combineMatchers(node, (leaf) => this.matcher(leaf));
  }

  /** A mux template (or a pattern) Traefik compiles; a refusal is a value error at that argument. */
  private template(node: MatcherNode, index: number, tpl: string, kind: MuxTemplateKind): { regexp: GoRegexp; names: readonly string[] } {
    const t = compileMuxTemplate(tpl, kind);
    if (isProblem(t)) this.fail(RuleErrorCodes.value, node.argPositions[index]!, `error while adding rule ${node.name}: ${t.problem}`);
    return t;
  }

  private pairs(node: MatcherNode, values: readonly string[]): void {
    if (values.length % 2 !== 0) {
      this.fail(RuleErrorCodes.arguments, node.position, `error while adding rule ${node.name}: mux: number of parameters must be multiple of 2, got ${goList(values)}`);
    }
  }

  private matcher(node: MatcherNode): Matcher {
    const name = node.name as string as (typeof V2_MATCHER_NAMES)[number];
    const args = node.args;
    if (args.length === 0) this.fail(RuleErrorCodes.arguments, node.position, `error while checking rule ${name}: no args for matcher ${name}`);
    const empty = args.findIndex((a) => a.length === 0);
    if (empty >= 0) {
      this.fail(RuleErrorCodes.arguments, node.argPositions[empty]!, `error while checking rule ${name}: empty args for matcher ${name}, ${goList(args)}`);
    }
    switch (name) {
      case 'Host':
      case 'HostHeader': {
        args.forEach((a, i) => {
          if (!isAscii(a)) this.fail(RuleErrorCodes.value, node.argPositions[i]!, `error while adding rule ${name}: invalid value ${quote(a)} for "Host" matcher, non-ASCII characters are not allowed`);
        });
        // No wildcards in v2: `*.example.com` is a host name like any other. Trailing dots are equivalent.
        const hosts = args.map((a) => a.toLowerCase());
        return (ctx) => {
          const reqHost = ctx.req.host;
          if (reqHost.length === 0) return false;
          const reqNoDot = reqHost.charCodeAt(reqHost.length - 1) === 46 ? reqHost.slice(0, -1) : undefined;
          for (const host of hosts) {
            if (reqHost === host || reqNoDot === host) return true;
            if (host.charCodeAt(host.length - 1) === 46 && reqHost === host.slice(0, -1)) return true;
          }
          return false;
        };
      }
      case 'HostRegexp': {
        const res = args.map((a, i) => {
          if (!isAscii(a)) this.fail(RuleErrorCodes.value, node.argPositions[i]!, `error while adding rule HostRegexp: invalid value ${quote(a)} for HostRegexp matcher, non-ASCII characters are not allowed`);
          return this.template(node, i, a, 'host').regexp;
        });
        // mux matches the lower-cased host without its port, which is what the request's host already is.
        return (ctx) => {
          for (const re of res) if (re.test(ctx.req.host)) return true;
          return false;
        };
      }
      case 'Path':
      case 'PathPrefix': {
        const tests = args.map((a, i): ((path: string) => boolean) => {
          if (!a.startsWith('/')) this.fail(RuleErrorCodes.value, node.argPositions[i]!, `error while adding rule ${name}: mux: path must start with a slash, got ${quote(a)}`);
          const re = this.template(node, i, a, name === 'Path' ? 'path' : 'prefix').regexp;
          // A template without variables is its own text: compare strings rather than run the regexp.
          if (!a.includes('{')) return name === 'Path' ? (p) => p === a : (p) => p.startsWith(a);
          return (p) => re.test(p);
        });
        if (tests.length === 1) {
          const only = tests[0]!;
          return (ctx) => only(ctx.path);
        }
        return (ctx) => {
          for (const t of tests) if (t(ctx.path)) return true;
          return false;
        };
      }
      case 'Method': {
        const methods = args.map((m) => m.toUpperCase());
        return (ctx) => methods.includes(ctx.req.method);
      }
      case 'ClientIP': {
        let set: IpSet;
        try {
          set = new IpSet(args, 'ClientIP');
        } catch (err) {
          return this.fail(RuleErrorCodes.value, node.argPositions[0]!, `error while adding rule ClientIP: could not initialize IP Checker for "ClientIP" matcher: ${(err as Error).message}`);
        }
        return (ctx) => {
          const addr = ctx.clientAddress();
          return addr !== undefined && set.containsAddress(addr);
        };
      }
      case 'Headers':
      case 'HeadersRegexp': {
        this.pairs(node, args);
        // mux keeps the pairs in a map: a key written twice keeps its last value. Keys are compared lower-cased
        // (Go canonicalises both sides; Node lower-cases received names).
        const byKey = new Map<string, { value: string; index: number }>();
        for (let i = 0; i < args.length; i += 2) byKey.set(args[i]!, { value: args[i + 1]!, index: i + 1 });
        const checks = [...byKey].map(([key, { value, index }]) => {
          const test = name === 'Headers' ? (v: string) => v === value : this.headerRegexp(node, index, value);
          return { key: key.toLowerCase(), test };
        });
        return (ctx) => {
          for (const c of checks) if (!anyHeaderValue(ctx, c.key, c.test)) return false;
          return true;
        };
      }
      case 'Query': {
        // Traefik splits each value at its first '=' and hands mux the key/value list (`Query(\`foo\`)` is odd).
        const parts: string[] = [];
        for (const a of args) {
          const eq = a.indexOf('=');
          if (eq < 0) parts.push(a);
          else parts.push(a.slice(0, eq), a.slice(eq + 1));
        }
        this.pairs(node, parts);
        const seen = new Set<string>();
        const checks: Array<{ key: string; test: (pair: string) => boolean }> = [];
        for (let i = 0; i < parts.length; i += 2) {
          const key = parts[i]!;
          const tpl = `${key}=${parts[i + 1]!}`;
          const argIndex = Math.min(i / 2, args.length - 1);
          const { regexp: re, names } = this.template(node, argIndex, tpl, 'query');
          for (const v of names) {
            if (seen.has(v)) this.fail(RuleErrorCodes.value, node.argPositions[argIndex]!, `error while adding rule Query: mux: duplicated route variable ${quote(v)}`);
            seen.add(v);
          }
          checks.push({ key, test: (pair) => re.test(pair) });
        }
        // mux tests `key=<first value>` (or "" when the key is absent) against the template's anchored regexp.
        return (ctx) => {
          for (const c of checks) {
            const values = ctx.queryValues(c.key);
            if (!c.test(values === undefined || values.length === 0 ? '' : `${c.key}=${values[0]!}`)) return false;
          }
          return true;
        };
      }
      default:
        return this.fail(RuleErrorCodes.unknownMatcher, node.position, `unsupported function: ${String(name)}`);
    }
  }

  private headerRegexp(node: MatcherNode, index: number, pattern: string): (v: string) => boolean {
    let re: GoRegexp;
    try {
      re = compileGoRegexp(pattern);
    } catch (err) {
      if (!isMeshgateError(err, ErrRegexpSyntax.code)) throw err;
      return this.fail(RuleErrorCodes.value, node.argPositions[index]!, `error while adding rule HeadersRegexp: ${err.message}`);
    }
    return (v) => re.test(v);
  }
}

/** Builds the closure tree for a rule parsed with V2_VOCABULARY; throws RuleSyntaxError for what Traefik rejects. */
export function buildMatcherV2(rule: string, node: RuleNode): Matcher {
  return new V2Builder(rule).build(node);
}
