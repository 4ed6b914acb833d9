/**
 * The ACL system of one server, put together at start (Consul's leader routine initializeACLs, agent/consul/
 * leader.go): the builtin global-management policy, the anonymous token (AccessorID …0002, secret "anonymous"),
 * the `acl.tokens.initial_management` token (which counts as the bootstrap), the resolver, and the leader's reaper
 * of expired tokens. Bootstrap (`/v1/acl/bootstrap`) works once; afterwards it answers Consul's 403 with the reset
 * index, and works once more when the data dir's `acl-bootstrap-reset` file holds exactly that index (the file is
 * removed when used) — Consul's reset procedure.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defineError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { AclOptions } from '../options.ts';
import type { StateStore } from '../store/state-store.ts';
import { ANONYMOUS_TOKEN_ID, GLOBAL_MANAGEMENT_POLICY_ID } from './authorizer.ts';
import { ErrAclInvalid, UUID, ensureGlobalManagement } from './policies.ts';
import { TokenResolver } from './resolver.ts';
import { secretBoxFromDataDir } from './secrets.ts';
import { ACL_META_TABLE, BOOTSTRAP_KEY, TOKENS_TABLE, type BootstrapRow } from './tables.ts';
import { ANONYMOUS_SECRET, AclTokens, tokenRowBySecret, type CreatedToken, type TokenLimits } from './tokens.ts';

export const BOOTSTRAP_RESET_FILE = 'acl-bootstrap-reset';

/** Consul's structs.ACLBootstrapNotAllowedErr as its HTTP layer words it (acl.PermissionDeniedError with a cause). */
export const ErrBootstrapNotAllowed = defineError('MG_ACL_BOOTSTRAP_NOT_ALLOWED', 403, (resetIndex: number) =>
  `Permission denied: ACL bootstrap no longer allowed (reset index: ${resetIndex})`);

export interface AclSystemOptions {
  readonly store: StateStore;
  readonly acl: AclOptions;
  readonly datacenter: string;
  /** Holds the secrets' sealing key and the bootstrap reset file. */
  readonly dataDir: string;
  readonly logger: Logger;
  /** Token expiry bounds (Consul's ACLTokenMinExpirationTTL / MaxExpirationTTL); tests lower the minimum. */
  readonly tokenLimits?: Partial<TokenLimits>;
}

const REAP_INTERVAL_MS = 1_000;

export class AclSystem {
  readonly tokens: AclTokens;
  readonly resolver: TokenResolver;
  private readonly options: AclSystemOptions;
  private reaper: NodeJS.Timeout | undefined;

  private constructor(options: AclSystemOptions) {
    this.options = options;
    this.tokens = new AclTokens(options.store, secretBoxFromDataDir(options.dataDir), options.tokenLimits);
    this.resolver = new TokenResolver({
      store: options.store,
      datacenter: options.datacenter,
      defaultPolicy: options.acl.defaultPolicy,
      defaultToken: options.acl.tokens?.default,
      logger: options.logger,
    });
  }

  static async start(options: AclSystemOptions): Promise<AclSystem> {
    const system = new AclSystem(options);
    await system.initialize();
    system.startReaper();
    return system;
  }

  close(): void {
    clearInterval(this.reaper);
    this.resolver.close();
  }

  get defaultPolicy(): 'allow' | 'deny' {
    return this.options.acl.defaultPolicy;
  }

  /** Whether bootstrap happened, and its reset index (the bootstrap mark's ModifyIndex). */
  bootstrapState(): { done: boolean; resetIndex: number } {
    const row = this.options.store.get<BootstrapRow>(ACL_META_TABLE, BOOTSTRAP_KEY);
    return { done: row !== undefined, resetIndex: row?.modifyIndex ?? 0 };
  }

  /** Consul's ACL.BootstrapTokens: a global-management token, once (or once more after a reset). */
  async bootstrap(bootstrapSecret?: string): Promise<CreatedToken> {
    if (bootstrapSecret !== undefined && bootstrapSecret !== '' && !UUID.test(bootstrapSecret)) {
      throw ErrAclInvalid('Invalid Token: SecretID is not a valid UUID');
    }
    const { done, resetIndex } = this.bootstrapState();
    const resetFile = join(this.options.dataDir, BOOTSTRAP_RESET_FILE);
    let usedReset = false;
    if (done) {
      const wanted = existsSync(resetFile) ? readFileSync(resetFile, 'utf8').trim() : '';
      if (wanted === '' || Number(wanted) !== resetIndex) throw ErrBootstrapNotAllowed(resetIndex);
      usedReset = true;
    }
    const created = await this.tokens.createToken(
      {
        Description: 'Bootstrap Token (Global Management)',
        Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID }],
        ...(bootstrapSecret ? { SecretID: bootstrapSecret } : {}),
      },
      {
        also: (tx) => {
          // Two bootstraps racing (or two replicas): only the one that saw the current mark may write it.
          const mark = tx.get(ACL_META_TABLE, BOOTSTRAP_KEY);
          if ((mark?.modifyIndex ?? 0) !== (done ? resetIndex : 0)) throw ErrBootstrapNotAllowed(mark?.modifyIndex ?? 0);
          tx.put<BootstrapRow>(ACL_META_TABLE, BOOTSTRAP_KEY, { Bootstrapped: true });
        },
      },
    );
    if (usedReset) rmSync(resetFile, { force: true });
    this.options.logger.info({ accessorId: created.accessorId }, 'acl: bootstrapped a global-management token');
    return created;
  }

  private async initialize(): Promise<void> {
    const { store, acl, logger } = this.options;
    await ensureGlobalManagement((fn) => store.write(fn));
    if (!store.get(TOKENS_TABLE, ANONYMOUS_TOKEN_ID)) {
      await this.createIfAbsent(() => store.get(TOKENS_TABLE, ANONYMOUS_TOKEN_ID) !== undefined, () =>
        this.tokens.createToken({ AccessorID: ANONYMOUS_TOKEN_ID, SecretID: ANONYMOUS_SECRET, Description: 'Anonymous Token' }, { builtin: true }));
    }
    const initial = acl.tokens?.initialManagement;
    if (initial && !tokenRowBySecret(store, initial)) {
      await this.createIfAbsent(() => tokenRowBySecret(store, initial) !== undefined, () =>
        this.tokens.createToken(
          { SecretID: initial, Description: 'Initial Management Token', Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID }] },
          {
            builtin: true,
            // The initial management token is the cluster's bootstrap, as in Consul's initializeACLs.
            also: (tx) => {
              if (!tx.get(ACL_META_TABLE, BOOTSTRAP_KEY)) tx.put<BootstrapRow>(ACL_META_TABLE, BOOTSTRAP_KEY, { Bootstrapped: true });
            },
          },
        ));
      logger.info('acl: created the initial management token');
    }
  }

  /** Replicas start together on etcd: a lost race to create a builtin token is fine once the token exists. */
  private async createIfAbsent(exists: () => boolean, create: () => Promise<unknown>): Promise<void> {
    try {
      await create();
    } catch (err) {
      if (!exists()) throw err;
    }
  }

  private startReaper(): void {
    const { store, logger } = this.options;
    let running = false;
    this.reaper = setInterval(() => {
      if (running || !store.isLeader) return;
      const next = this.tokens.nextExpiry();
      if (next === undefined || next > Date.now()) return;
      running = true;
      this.tokens.reapExpired()
        .then((n) => { if (n > 0) logger.debug({ reaped: n }, 'acl: reaped expired tokens'); })
        .catch((err: unknown) => logger.warn({ err }, 'acl: reaping expired tokens failed'))
        .finally(() => { running = false; });
    }, REAP_INTERVAL_MS);
    this.reaper.unref();
  }
}
