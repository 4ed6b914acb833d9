/**
 * Traefik v2's TCP matchers, which Traefik v3 runs for a TCP router with `ruleSyntax: v2` (or all of them under the
 * static `core.defaultRuleSyntax: v2`): traefik/traefik pkg/muxer/tcp/matcher_v2.go, `tcpFuncsV2`. Every matcher
 * takes several values and matches when any does: `HostSNI` (`*` anywhere matches every connection, TLS or not),
 * `HostSNIRegexp` (a gorilla/mux host template, `{sub:[a-z]+}.example.com`, matched case-insensitively — Traefik's
 * preparePattern), `ClientIP` (addresses and CIDRs) and `ALPN` (`acme-tls/1` refused).
 */
import { domainToASCII } from 'node:url';
import { IpSet } from '../../lib/ip/checker.ts';
import { combineMatchers, compileMuxTemplate, isProblem, RuleErrorCodes, RuleSyntaxError, type MatcherNode, type RuleNode } from '../rules/index.ts';
import type { ConnData, ConnMatcher } from './rules.ts';

/** Traefik's hostOrIP check for HostSNI values. */
const HOST_OR_IP = /^[\w.\-:]+$/;

function fail(rule: string, position: number, reason: string): never {
  throw new RuleSyntaxError(RuleErrorCodes.value, rule, position, reason);
}

function anyOf(tests: ReadonlyArray<(c: ConnData) => boolean>): ConnMatcher {
  return (c) => {
    for (const t of tests) if (t(c)) return true;
    return false;
  };
}

export function buildTcpMatcherV2(rule: string, node: RuleNode): ConnMatcher {
  return combineMatchers<ConnData>(node, (leaf) => matcherV2(rule, leaf));
}

function matcherV2(rule: string, node: MatcherNode): ConnMatcher {
  const name = node.name as string;
  const values = node.args;
  // rules.CheckRule, as for HTTP: at least one value, none empty.
  if (values.length === 0) throw new RuleSyntaxError(RuleErrorCodes.arguments, rule, node.position, `error while checking rule ${name}: no args for matcher ${name}`);
  const empty = values.findIndex((v) => v === '');
  if (empty >= 0) throw new RuleSyntaxError(RuleErrorCodes.arguments, rule, node.argPositions[empty]!, `error while checking rule ${name}: empty args for matcher ${name}, [${values.join(' ')}]`);
  switch (name) {
    case 'HostSNI': {
      const hosts = values.map((value, i) => {
        if (value === '*') return value;
        let host = value;
        if (!HOST_OR_IP.test(host)) {
          // Traefik tries the IDN's punycode form before refusing it.
          const ascii = domainToASCII(host);
          if (ascii === '' || !HOST_OR_IP.test(ascii)) fail(rule, node.argPositions[i]!, `invalid value for "HostSNI" matcher, ${JSON.stringify(value)} is not a valid hostname or IP`);
          host = ascii;
        }
        return host.toLowerCase();
      });
      if (hosts.includes('*')) return () => true;
      const names = hosts.map((h) => h.replace(/\.$/, ''));
      return (c) => c.serverName !== '' && (names.includes(c.serverName) || hosts.includes(c.serverName));
    }
    case 'HostSNIRegexp':
      return anyOf(values.map((value, i) => {
        const t = compileMuxTemplate(value, 'host', { caseInsensitive: true, checkVariables: false });
        if (isProblem(t)) fail(rule, node.argPositions[i]!, `invalid pattern value for "HostSNIRegexp" matcher, ${JSON.stringify(value)} is not a valid pattern: ${t.problem}`);
        return (c: ConnData) => t.regexp.test(c.serverName);
      }));
    case 'ClientIP': {
      let set: IpSet;
      try {
        set = new IpSet(values, 'ClientIP');
      } catch (err) {
        return fail(rule, node.argPositions[0]!, `could not initialize IP Checker for "ClientIP" matcher: ${(err as Error).message}`);
      }
      return (c) => c.remoteIp !== '' && set.contains(c.remoteIp);
    }
    case 'ALPN': {
      values.forEach((v, i) => {
        if (v === 'acme-tls/1') fail(rule, node.argPositions[i]!, `invalid protocol value for "ALPN" matcher, ${JSON.stringify(v)} is not allowed`);
      });
      return (c) => c.alpn.some((p) => values.includes(p));
    }
    default:
      return fail(rule, node.position, `unsupported function: ${name}`);
  }
}
