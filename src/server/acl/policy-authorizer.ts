/**
 * Rules → Authorizer, as Consul's policyAuthorizer (acl/policy_authorizer.go) chained to the default policy's root
 * authorizer (acl/chained_authorizer.go): the policies of one identity are first merged (acl/policy_merger.go — for
 * the same name and kind, deny beats write beats list beats read), then a question about a name takes the exact
 * rule for that name if there is one, else the longest prefix rule that matches; a rule's access grants or refuses
 * (`enforce`), and only when no rule applies does the default policy answer.
 */
import type { Authorizer } from './authorizer.ts';
import { SEGMENT_RESOURCES, SINGLE_RESOURCES, emptyRules, stronger, type NamedRule, type PolicyRules, type RuleAccess, type SegmentResource, type SingleResource } from './rules.ts';

type Decision = 'allow' | 'deny' | 'default';
type Need = 'read' | 'list' | 'write';

/** Consul's enforce(): what a rule's access level answers for the permission asked. */
function enforce(rule: RuleAccess | undefined, need: Need): Decision {
  switch (rule) {
    case 'write': return 'allow';
    case 'list': return need === 'write' ? 'deny' : 'allow';
    case 'read': return need === 'read' ? 'allow' : 'deny';
    case 'deny': return 'deny';
    default: return 'default';
  }
}

/** The rules of one resource after merging: exact by name, prefixes longest first. */
class RuleTree {
  private readonly exact = new Map<string, RuleAccess>();
  private readonly prefixes = new Map<string, RuleAccess>();
  private sorted: Array<[string, RuleAccess]> = [];

  add(name: string, access: RuleAccess, prefix: boolean): void {
    const map = prefix ? this.prefixes : this.exact;
    map.set(name, stronger(map.get(name), access)!);
  }

  seal(): void {
    this.sorted = [...this.prefixes].sort((a, b) => b[0].length - a[0].length);
  }

  /** Consul's getPolicy: the exact rule, else the longest matching prefix rule. */
  lookup(name: string): RuleAccess | undefined {
    const exact = this.exact.get(name);
    if (exact !== undefined) return exact;
    for (const [prefix, access] of this.sorted) if (name.startsWith(prefix)) return access;
    return undefined;
  }

  decide(name: string, need: Need): Decision {
    return enforce(this.lookup(name), need);
  }

  /** Consul's allAllowed: refused if any rule refuses, granted if the catch-all prefix grants, else no opinion. */
  all(need: Need): Decision {
    for (const access of [...this.exact.values(), ...this.prefixes.values()]) if (enforce(access, need) !== 'allow') return 'deny';
    const catchAll = this.prefixes.get('');
    return catchAll !== undefined && enforce(catchAll, need) === 'allow' ? 'allow' : 'default';
  }

  /** Consul's anyAllowed: granted when some rule grants, else no opinion. */
  any(need: Need): Decision {
    for (const access of [...this.exact.values(), ...this.prefixes.values()]) if (enforce(access, need) === 'allow') return 'allow';
    return 'default';
  }

  /** Consul's KeyWritePrefix: write on the prefix itself, and no rule under it that withholds write. */
  writePrefix(prefix: string): Decision {
    let base: Decision = 'default';
    for (const [p, access] of this.sorted) {
      if (prefix.startsWith(p)) {
        base = access === 'write' ? 'allow' : 'deny';
        break;
      }
    }
    if (base === 'deny') return base;
    for (const [name, access] of [...this.exact, ...this.prefixes]) {
      if (name.startsWith(prefix) && access !== 'write') return 'deny';
    }
    return base;
  }
}

/** Merges several decoded policies into one (acl/policy_merger.go). */
export function mergeRules(policies: readonly PolicyRules[]): PolicyRules {
  if (policies.length === 1) return policies[0]!;
  const merged = emptyRules();
  const segments = merged.segments as Record<SegmentResource, { exact: NamedRule[]; prefix: NamedRule[] }>;
  const single = merged.single as Partial<Record<SingleResource, RuleAccess>>;
  for (const p of policies) {
    for (const r of SEGMENT_RESOURCES) {
      segments[r].exact.push(...p.segments[r].exact);
      segments[r].prefix.push(...p.segments[r].prefix);
    }
    for (const r of SINGLE_RESOURCES) {
      const v = stronger(single[r], p.single[r]);
      if (v !== undefined) single[r] = v;
    }
  }
  return merged;
}

export interface PolicyAuthorizerOptions {
  readonly accessorId: string;
  readonly defaultPolicy: 'allow' | 'deny';
  /** The token's merged rules; `'management'` for a token holding the builtin global-management policy. */
  readonly rules: PolicyRules | 'management';
}

/** Builds the Authorizer of one identity, every answer folded through the default policy. */
export function policyAuthorizer(options: PolicyAuthorizerOptions): Authorizer {
  const fallback = options.defaultPolicy === 'allow';
  const fold = (d: Decision): boolean => (d === 'default' ? fallback : d === 'allow');
  if (options.rules === 'management') return managementAuthorizer(options.accessorId, fallback);
  const rules = options.rules;
  const trees = {} as Record<SegmentResource, RuleTree>;
  for (const r of SEGMENT_RESOURCES) {
    const tree = new RuleTree();
    for (const rule of rules.segments[r].exact) tree.add(rule.name, rule.policy, false);
    for (const rule of rules.segments[r].prefix) tree.add(rule.name, rule.policy, true);
    tree.seal();
    trees[r] = tree;
  }
  // Intentions: a service rule without `intentions` grants intention read when it grants read or write, and denies
  // them otherwise (policyAuthorizer.loadRules).
  const intentions = new RuleTree();
  const intentionOf = (rule: NamedRule): RuleAccess => rule.intentions ?? (rule.policy === 'read' || rule.policy === 'write' ? 'read' : 'deny');
  for (const rule of rules.segments.service.exact) intentions.add(rule.name, intentionOf(rule), false);
  for (const rule of rules.segments.service.prefix) intentions.add(rule.name, intentionOf(rule), true);
  intentions.seal();
  const single = (r: SingleResource, need: Need): Decision => enforce(rules.single[r], need);
  // Consul's MeshRead/MeshWrite fall back to the operator rule when no mesh rule is set.
  const mesh = (need: Need): Decision => (rules.single.mesh !== undefined ? single('mesh', need) : single('operator', need));

  return Object.freeze({
    accessorId: options.accessorId,
    aclRead: () => fold(single('acl', 'read')),
    aclWrite: () => fold(single('acl', 'write')),
    agentRead: (node: string) => fold(trees.agent.decide(node, 'read')),
    agentWrite: (node: string) => fold(trees.agent.decide(node, 'write')),
    eventRead: (name: string) => fold(trees.event.decide(name, 'read')),
    eventWrite: (name: string) => fold(trees.event.decide(name, 'write')),
    intentionDefaultAllow: () => fallback,
    intentionRead: (service: string) => fold(intentions.decide(service, 'read')),
    intentionWrite: (service: string) => fold(intentions.decide(service, 'write')),
    keyList: (prefix: string) => fold(trees.key.decide(prefix, 'list')),
    keyRead: (key: string) => fold(trees.key.decide(key, 'read')),
    keyWrite: (key: string) => fold(trees.key.decide(key, 'write')),
    keyWritePrefix: (prefix: string) => fold(trees.key.writePrefix(prefix)),
    keyringRead: () => fold(single('keyring', 'read')),
    keyringWrite: () => fold(single('keyring', 'write')),
    meshRead: () => fold(mesh('read')),
    meshWrite: () => fold(mesh('write')),
    nodeRead: (node: string) => fold(trees.node.decide(node, 'read')),
    nodeReadAll: () => fold(trees.node.all('read')),
    nodeWrite: (node: string) => fold(trees.node.decide(node, 'write')),
    operatorRead: () => fold(single('operator', 'read')),
    operatorWrite: () => fold(single('operator', 'write')),
    preparedQueryRead: (name: string) => fold(trees.query.decide(name, 'read')),
    preparedQueryWrite: (name: string) => fold(trees.query.decide(name, 'write')),
    serviceRead: (service: string) => fold(trees.service.decide(service, 'read')),
    serviceReadAll: () => fold(trees.service.all('read')),
    serviceWrite: (service: string) => fold(trees.service.decide(service, 'write')),
    serviceWriteAny: () => fold(trees.service.any('write')),
    sessionRead: (node: string) => fold(trees.session.decide(node, 'read')),
    sessionWrite: (node: string) => fold(trees.session.decide(node, 'write')),
    // Snapshots need acl:write (policyAuthorizer.Snapshot).
    snapshot: () => fold(single('acl', 'write')),
  });
}

/**
 * Consul's ManageAll authorizer, which a token holding the builtin global-management policy resolves to: every
 * question granted. Intentions' default still follows the default policy (IntentionDefaultAllow goes up the chain).
 */
function managementAuthorizer(accessorId: string, defaultAllow: boolean): Authorizer {
  const yes = (): boolean => true;
  return Object.freeze({
    accessorId,
    aclRead: yes, aclWrite: yes, agentRead: yes, agentWrite: yes, eventRead: yes, eventWrite: yes,
    intentionDefaultAllow: () => defaultAllow, intentionRead: yes, intentionWrite: yes,
    keyList: yes, keyRead: yes, keyWrite: yes, keyWritePrefix: yes, keyringRead: yes, keyringWrite: yes,
    meshRead: yes, meshWrite: yes, nodeRead: yes, nodeReadAll: yes, nodeWrite: yes, operatorRead: yes, operatorWrite: yes,
    preparedQueryRead: yes, preparedQueryWrite: yes, serviceRead: yes, serviceReadAll: yes, serviceWrite: yes, serviceWriteAny: yes,
    sessionRead: yes, sessionWrite: yes, snapshot: yes,
  });
}
