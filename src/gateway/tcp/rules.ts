/**
 * Traefik v3's TCP rule language (pkg/muxer/tcp/mux.go and matcher.go): the HTTP rule grammar (`&&`, `||`, `!`,
 * parentheses; parsed by rules/) over four matchers — `HostSNI` (`*` matches every connection, TLS or not),
 * `HostSNIRegexp` (Go regexp on the server name), `ClientIP` (address or CIDR) and `ALPN` (one of the protocols the
 * client offers; `acme-tls/1` refused). The default priority is the rule's length; `HostSNI(\`*\`)` alone is the
 * catch-all, with priority -1 unless set, and loses to a specific HTTPS router (router.ts).
 */
import { matcherVocabulary, parseRuleSyntaxWith, RuleErrorCodes, RuleSyntaxError, type RuleNode } from '../rules/index.ts';
import { compileGoRegexp } from '../../lib/go-regexp/index.ts';
import { IpSet } from '../../lib/ip/checker.ts';
import { buildTcpMatcherV2 } from './rules-v2.ts';

export const TCP_MATCHERS = ['HostSNI', 'HostSNIRegexp', 'ClientIP', 'ALPN'] as const;
const VOCABULARY = matcherVocabulary(TCP_MATCHERS, 'Traefik v3 TCP matchers');

/** What a TCP rule can see of a connection before any byte is forwarded (Traefik's ConnData). */
export interface ConnData {
  /** Lower-cased SNI; '' when the client sent none or the connection is not TLS. */
  readonly serverName: string;
  readonly remoteIp: string;
  readonly alpn: readonly string[];
}

export type ConnMatcher = (conn: ConnData) => boolean;

export interface CompiledTcpRule {
  readonly match: ConnMatcher;
  /** Exactly `HostSNI(\`*\`)`. */
  readonly catchAll: boolean;
  readonly priority: number;
}

/** Traefik's hostOrIP check for HostSNI values. */
const HOST_OR_IP = /^[\w.\-:]+$/;

/** `syntax` `v2` takes Traefik v2's matchers (rules-v2.ts); the grammar and the four names are the same. */
export function compileTcpRule(rule: string, priority: number | undefined, syntax?: 'v2' | 'v3'): CompiledTcpRule {
  const tree = parseRuleSyntaxWith(rule, VOCABULARY);
  const match = syntax === 'v2' ? buildTcpMatcherV2(rule, tree) : build(rule, tree);
  const catchAll = tree.kind === 'matcher' && tree.name === ('HostSNI' as string) && tree.args.length === 1 && tree.args[0] === '*';
  let effective = priority ?? 0;
  if (effective === 0 && catchAll) effective = -1;
  if (effective === 0) effective = rule.length;
  return { match, catchAll, priority: effective };
}

function fail(rule: string, position: number, reason: string): never {
  throw new RuleSyntaxError(RuleErrorCodes.value, rule, position, reason);
}

function build(rule: string, node: RuleNode): ConnMatcher {
  switch (node.kind) {
    case 'and': {
      const l = build(rule, node.left);
      const r = build(rule, node.right);
      return (c) => l(c) && r(c);
    }
    case 'or': {
      const l = build(rule, node.left);
      const r = build(rule, node.right);
      return (c) => l(c) || r(c);
    }
    case 'not': {
      const m = build(rule, node.operand);
      return (c) => !m(c);
    }
    case 'matcher': {
      const name = node.name as string;
      if (node.args.length !== 1) {
        throw new RuleSyntaxError(RuleErrorCodes.arguments, rule, node.position, `error while adding rule ${name}: unexpected number of parameters; got ${node.args.length}, expected 1`);
      }
      const value = node.args[0]!;
      const at = node.argPositions[0]!;
      switch (name) {
        case 'HostSNI': {
          if (value === '*') return () => true;
          if (!HOST_OR_IP.test(value)) fail(rule, at, `invalid value for HostSNI matcher, ${JSON.stringify(value)} is not a valid hostname`);
          // Server names are compared lower-cased (the ClientHello reader lower-cases them; Go's CanonicalDomain).
          const host = value.toLowerCase().replace(/\.$/, '');
          return (c) => c.serverName !== '' && c.serverName === host;
        }
        case 'HostSNIRegexp': {
          // eslint-disable-next-line no-control-regex
          if (/[^\x00-\x7f]/.test(value)) fail(rule, at, `invalid value for HostSNIRegexp matcher, ${JSON.stringify(value)} is not a valid hostname`);
          let re: ReturnType<typeof compileGoRegexp>;
          try {
            re = compileGoRegexp(value);
          } catch (err) {
            return fail(rule, at, `compiling HostSNIRegexp matcher: ${(err as Error).message}`);
          }
          return (c) => re.test(c.serverName);
        }
        case 'ClientIP': {
          let set: IpSet;
          try {
            set = new IpSet([value], 'ClientIP');
          } catch (err) {
            return fail(rule, at, `initializing IP checker for ClientIP matcher: ${(err as Error).message}`);
          }
          return (c) => set.contains(c.remoteIp);
        }
        case 'ALPN': {
          if (value === 'acme-tls/1') fail(rule, at, `invalid protocol value for ALPN matcher, ${JSON.stringify(value)} is not allowed`);
          return (c) => c.alpn.includes(value);
        }
        default:
          return fail(rule, node.position, `unsupported function: ${name}`);
      }
    }
  }
}
