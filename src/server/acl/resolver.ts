/**
 * The AclResolver (authorizer.ts's contract) of a server with ACLs on: a request's secret → its token → the merged
 * rules of its policies, its roles' policies and every service and node identity (Consul's ACLResolver,
 * agent/consul/acl.go), folded through the default policy. Authorizers are cached by the secret's hash and the
 * cache is dropped whenever a token, policy or role changes (a store listener, so a change made on another etcd
 * replica counts too); a token's expiry is checked on every resolution. `watchRevocation` fires when a token is
 * deleted (seen by the same listener) or its expiry passes (a timer), so a blocking query ends within a second.
 */
import type { Logger } from '../../lib/logger.ts';
import type { StateStore } from '../store/state-store.ts';
import type { Change, StoreReader } from '../store/types.ts';
import { ANONYMOUS_TOKEN_ID, AclNotFoundError, GLOBAL_MANAGEMENT_POLICY_ID, type AclResolver, type Authorizer } from './authorizer.ts';
import { appliesIn, nodeIdentityRules, serviceIdentityRules } from './identities.ts';
import { mergeRules, policyAuthorizer } from './policy-authorizer.ts';
import { getPolicy } from './policies.ts';
import { getRole } from './roles.ts';
import type { PolicyRules } from './rules.ts';
import { hashSecret, secretsEqual } from './secrets.ts';
import { ACL_TABLES, SECRET_INDEX, TOKENS_TABLE, type TokenRow } from './tables.ts';
import { ANONYMOUS_SECRET, isExpired } from './tokens.ts';

export interface TokenResolverOptions {
  readonly store: StateStore;
  readonly datacenter: string;
  readonly defaultPolicy: 'allow' | 'deny';
  /** Consul's acl.tokens.default: the secret used by requests that carry none (else the anonymous token). */
  readonly defaultToken?: string | undefined;
  readonly logger: Logger;
}

interface Cached {
  readonly authz: Authorizer;
  /** Epoch ms after which the token no longer resolves (Infinity: never expires). */
  readonly expiresAt: number;
}

interface Watcher {
  readonly hash: string;
  readonly onRevoked: () => void;
  timer: NodeJS.Timeout | undefined;
}

/** Largest delay setTimeout takes; a longer expiry is re-armed when the timer fires. */
const MAX_TIMER_MS = 2_147_483_647;

export class TokenResolver implements AclResolver {
  readonly enabled = true;
  private readonly options: TokenResolverOptions;
  private readonly cache = new Map<string, Cached>();
  private readonly watchers = new Set<Watcher>();
  private readonly unsubscribe: () => void;

  constructor(options: TokenResolverOptions) {
    this.options = options;
    this.unsubscribe = options.store.onChange((change) => this.changed(change));
  }

  close(): void {
    this.unsubscribe();
    for (const w of this.watchers) clearTimeout(w.timer);
    this.watchers.clear();
  }

  resolve(secretId: string | undefined): Authorizer {
    const secret = this.effectiveSecret(secretId);
    const hash = hashSecret(secret);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.expiresAt > now) return hit.authz;
    const row = this.rowByHash(hash);
    if (!row || isExpired(row, now)) {
      this.cache.delete(hash);
      throw new AclNotFoundError();
    }
    const authz = this.authorizerFor(row);
    this.cache.set(hash, { authz, expiresAt: row.ExpirationTime ? Date.parse(row.ExpirationTime) : Infinity });
    return authz;
  }

  watchRevocation(secretId: string | undefined, onRevoked: () => void): () => void {
    const hash = hashSecret(this.effectiveSecret(secretId));
    let fired = false;
    const watcher: Watcher = {
      hash,
      onRevoked: () => {
        if (fired) return;
        fired = true;
        this.drop(watcher);
        onRevoked();
      },
      timer: undefined,
    };
    this.watchers.add(watcher);
    const row = this.rowByHash(hash);
    if (row && !isExpired(row, Date.now())) this.arm(watcher);
    // Already gone: still asynchronously, so the caller holds its unsubscribe before the callback runs.
    else setImmediate(() => this.watchers.has(watcher) && watcher.onRevoked());
    return () => this.drop(watcher);
  }

  /** The rules a token grants, merged (for tests and `token read -expanded`-like views). */
  rulesOf(row: TokenRow, reader: StoreReader = this.options.store): PolicyRules | 'management' {
    const { datacenter } = this.options;
    const policyIds = new Set(row.Policies.map((p) => p.ID));
    const identities: PolicyRules[] = [];
    const addIdentities = (services: TokenRow['ServiceIdentities'], nodes: TokenRow['NodeIdentities']): void => {
      for (const s of services) if (appliesIn(s.Datacenters, datacenter)) identities.push(serviceIdentityRules(s.ServiceName));
      for (const n of nodes) if (n.Datacenter === datacenter) identities.push(nodeIdentityRules(n.NodeName));
    };
    addIdentities(row.ServiceIdentities, row.NodeIdentities);
    for (const link of row.Roles) {
      const role = getRole(reader, link.ID)?.value;
      if (!role) continue;
      for (const p of role.Policies) policyIds.add(p.ID);
      addIdentities(role.ServiceIdentities, role.NodeIdentities);
    }
    const rules: PolicyRules[] = [];
    for (const id of policyIds) {
      const policy = getPolicy(reader, id)?.value;
      if (!policy || !appliesIn(policy.Datacenters, datacenter)) continue;
      if (id === GLOBAL_MANAGEMENT_POLICY_ID) return 'management';
      rules.push(policy.Decoded);
    }
    rules.push(...identities);
    return mergeRules(rules);
  }

  private authorizerFor(row: TokenRow): Authorizer {
    return policyAuthorizer({ accessorId: row.AccessorID, defaultPolicy: this.options.defaultPolicy, rules: this.rulesOf(row) });
  }

  /** No secret: the configured default token, else the anonymous token (whose secret is "anonymous"). */
  private effectiveSecret(secretId: string | undefined): string {
    if (secretId !== undefined && secretId !== '') return secretId;
    return this.options.defaultToken || ANONYMOUS_SECRET;
  }

  private rowByHash(hash: string): TokenRow | undefined {
    const row = this.options.store.listBy<TokenRow>(TOKENS_TABLE, SECRET_INDEX, hash)[0];
    return row && secretsEqual(row.value.SecretHash, hash) ? row.value : undefined;
  }

  private changed(change: Change): void {
    if (!change.restored && !change.mutations.some((m) => ACL_TABLES.includes(m.table))) return;
    this.cache.clear();
    for (const w of [...this.watchers]) this.check(w);
  }

  /** Fires the watcher when its token no longer resolves; returns whether it fired. */
  private check(w: Watcher): boolean {
    const row = this.rowByHash(w.hash);
    if (row && !isExpired(row, Date.now())) return false;
    if (row?.AccessorID === ANONYMOUS_TOKEN_ID) return false;
    w.onRevoked();
    return true;
  }

  /** A timer at the token's expiry, so a blocking query ends when it passes even with no write to the store. */
  private arm(w: Watcher): void {
    clearTimeout(w.timer);
    const row = this.rowByHash(w.hash);
    if (!row?.ExpirationTime) return;
    const delay = Math.min(Math.max(0, Date.parse(row.ExpirationTime) - Date.now()) + 5, MAX_TIMER_MS);
    w.timer = setTimeout(() => {
      if (!this.watchers.has(w)) return;
      if (!this.check(w)) this.arm(w);
    }, delay);
    w.timer.unref();
  }

  private drop(w: Watcher): void {
    clearTimeout(w.timer);
    this.watchers.delete(w);
  }
}
