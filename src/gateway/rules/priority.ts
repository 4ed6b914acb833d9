/**
 * A router's default priority, as Traefik v3.7 computes it (pkg/muxer/http/mux.go `GetRulePriority`): the rule's
 * length in bytes, less two for every `**.` host of a positive `Host` matcher (pkg/muxer/muxer.go
 * `DoubleWildcardPenalty`: a double-wildcard host's stars do not count, so `**.example.com` ranks below
 * `*.example.com` and below the exact hosts it covers, whatever their lengths).
 *
 * The hosts are those of `ParseDomains`: the `Host` matchers that are not negated once Traefik's parser has pushed
 * each `!` down to the leaves (De Morgan; `!!Host(…)` is positive again), values lower-cased, read from the rule with
 * the matcher names of both rule syntaxes. A rule that does not parse keeps its plain length.
 */
import { parseRuleEitherSyntax } from './matchers-v2.ts';
import type { RuleNode } from './parser.ts';

/** pkg/muxer/muxer.go DoubleWildcardPenalty: what a host expression takes off its rule's default priority. */
export function doubleWildcardPenalty(hostExpression: string): number {
  return hostExpression.startsWith('**.') ? 2 : 0;
}

/** The values of the `Host` matchers a request must satisfy rather than avoid (rules.Tree ParsePositiveMatchers), lower-cased. */
export function positiveHosts(node: RuleNode): string[] {
  const hosts: string[] = [];
  const walk = (n: RuleNode, negated: boolean): void => {
    if (n.kind === 'matcher') {
      if (n.name === 'Host' && !negated) for (const arg of n.args) hosts.push(arg.toLowerCase());
    } else if (n.kind === 'not') walk(n.operand, !negated);
    else {
      walk(n.left, negated);
      walk(n.right, negated);
    }
  };
  walk(node, false);
  return hosts;
}

/**
 * Traefik's GetRulePriority. `node`, when the caller has parsed the rule already (in either syntax: the trees agree
 * on `Host`), saves parsing it again.
 */
export function defaultPriority(rule: string, node?: RuleNode): number {
  let priority = Buffer.byteLength(rule, 'utf8');
  let tree = node;
  if (tree === undefined) {
    try {
      tree = parseRuleEitherSyntax(rule);
    } catch {
      return priority;
    }
  }
  return priority - positivePenalty(tree, false);
}

/**
 * The penalties of `positiveHosts(node)`, summed without collecting them: a table of 50,000 routers computes one
 * default priority each, and the list, the closure and the lower-cased copies were all garbage at once.
 */
function positivePenalty(n: RuleNode, negated: boolean): number {
  if (n.kind === 'matcher') {
    if (n.name !== 'Host' || negated) return 0;
    let penalty = 0;
    // `**.` has no letters: the lower-cased value starts with it exactly when the value does.
    for (const arg of n.args) penalty += doubleWildcardPenalty(arg);
    return penalty;
  }
  if (n.kind === 'not') return positivePenalty(n.operand, !negated);
  return positivePenalty(n.left, negated) + positivePenalty(n.right, negated);
}
