/**
 * A small ACL resolver for enforcement tests, independent of the real rules engine: each token is a table of
 * prefix rules per resource (longest prefix wins, `deny` beats nothing, no rule = the default policy), and a token
 * can be revoked (deleted) to watch blocking queries end. It answers the `Authorizer` contract of
 * src/server/acl/authorizer.ts the way the real engine must, for the few rule shapes the tests need.
 */
import {
  ANONYMOUS_TOKEN_ID, AclNotFoundError, type AclResolver, type Authorizer,
} from '../../src/server/acl/authorizer.ts';

type Level = 'read' | 'list' | 'write' | 'deny';
type Named = 'agent' | 'event' | 'intention' | 'key' | 'node' | 'query' | 'service' | 'session';

/** `{ key: { 'app/': 'write' }, service: { '': 'read' }, operator: 'read' }` — prefix rules, `''` matches everything. */
export interface TestRules {
  agent?: Record<string, Level>;
  event?: Record<string, Level>;
  intention?: Record<string, Level>;
  key?: Record<string, Level>;
  node?: Record<string, Level>;
  query?: Record<string, Level>;
  service?: Record<string, Level>;
  session?: Record<string, Level>;
  acl?: Level;
  operator?: Level;
  mesh?: Level;
  keyring?: Level;
}

const RANK: Record<Level, number> = { deny: 0, read: 1, list: 2, write: 3 };

export function rulesAuthorizer(accessorId: string, rules: TestRules, defaultAllow = false): Authorizer {
  const lookup = (resource: Named, name: string): Level | undefined => {
    let best: string | undefined;
    for (const prefix of Object.keys(rules[resource] ?? {})) {
      if (name.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
    }
    return best === undefined ? undefined : rules[resource]![best];
  };
  const at = (level: Level | undefined, need: Level): boolean => (level === undefined ? defaultAllow : RANK[level] >= RANK[need] && level !== 'deny');
  const named = (resource: Named, need: Level) => (name: string) => at(lookup(resource, name), need);
  const unnamed = (resource: 'acl' | 'operator' | 'mesh' | 'keyring', need: Level) => () => at(rules[resource], need);
  const keyWrite = named('key', 'write');
  return {
    accessorId,
    aclRead: unnamed('acl', 'read'), aclWrite: unnamed('acl', 'write'),
    agentRead: named('agent', 'read'), agentWrite: named('agent', 'write'),
    eventRead: named('event', 'read'), eventWrite: named('event', 'write'),
    intentionDefaultAllow: () => defaultAllow,
    intentionRead: named('intention', 'read'), intentionWrite: named('intention', 'write'),
    keyList: named('key', 'list'), keyRead: named('key', 'read'), keyWrite,
    // Write on the prefix and no rule below it that denies a write.
    keyWritePrefix: (prefix) => keyWrite(prefix)
      && Object.entries(rules.key ?? {}).every(([p, l]) => !(p.startsWith(prefix) && p.length > prefix.length) || l === 'write'),
    keyringRead: unnamed('keyring', 'read'), keyringWrite: unnamed('keyring', 'write'),
    meshRead: () => at(rules.mesh ?? rules.operator, 'read'), meshWrite: () => at(rules.mesh ?? rules.operator, 'write'),
    nodeRead: named('node', 'read'), nodeReadAll: () => at(lookup('node', ''), 'read'), nodeWrite: named('node', 'write'),
    operatorRead: unnamed('operator', 'read'), operatorWrite: unnamed('operator', 'write'),
    preparedQueryRead: named('query', 'read'), preparedQueryWrite: named('query', 'write'),
    serviceRead: named('service', 'read'), serviceReadAll: () => at(lookup('service', ''), 'read'),
    serviceWrite: named('service', 'write'), serviceWriteAny: () => Object.values(rules.service ?? {}).includes('write'),
    sessionRead: named('session', 'read'), sessionWrite: named('session', 'write'),
    snapshot: unnamed('acl', 'write'),
  };
}

export const MANAGEMENT: TestRules = {
  acl: 'write', operator: 'write', mesh: 'write', keyring: 'write',
  agent: { '': 'write' }, event: { '': 'write' }, intention: { '': 'write' }, key: { '': 'write' }, node: { '': 'write' },
  query: { '': 'write' }, service: { '': 'write' }, session: { '': 'write' },
};

/** A resolver over a token table, default deny; `revoke(secret)` deletes a token and tells its watchers. */
export class TestAclResolver implements AclResolver {
  readonly enabled = true;
  private readonly tokens = new Map<string, Authorizer>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly anonymous: Authorizer;

  constructor(anonymousRules: TestRules = {}) {
    this.anonymous = rulesAuthorizer(ANONYMOUS_TOKEN_ID, anonymousRules);
  }

  add(secret: string, accessorId: string, rules: TestRules): void {
    this.tokens.set(secret, rulesAuthorizer(accessorId, rules));
  }

  revoke(secret: string): void {
    this.tokens.delete(secret);
    const set = this.watchers.get(secret);
    this.watchers.delete(secret);
    for (const fn of set ?? []) fn();
  }

  resolve(secret: string | undefined): Authorizer {
    if (secret === undefined || secret === '') return this.anonymous;
    const authz = this.tokens.get(secret);
    if (!authz) throw new AclNotFoundError();
    return authz;
  }

  watchRevocation(secret: string | undefined, onRevoked: () => void): () => void {
    if (secret === undefined || secret === '') return () => {};
    let set = this.watchers.get(secret);
    if (!set) this.watchers.set(secret, (set = new Set()));
    set.add(onRevoked);
    return () => set.delete(onRevoked);
  }
}
