/**
 * ACL tokens (Consul's ACL.TokenSet / TokenClone / TokenDelete / TokenRead, agent/consul/acl_endpoint.go): create,
 * update, clone, delete and read, with Consul's validation and words. This is also the internal API the auth
 * methods (`auth-methods/`, /v1/acl/login) create tokens through: `createToken(input)` → `{ accessorId, secretId,
 * token }`. The secret is stored only hashed and sealed (secrets.ts); expiry is checked on every resolution and
 * expired rows are reaped by the leader.
 */
import { randomUUID } from 'node:crypto';
import { decodeDuration, formatDuration } from '../../lib/duration.ts';
import type { StoredRow, StoreReader, WriteTxn } from '../store/types.ts';
import type { StateStore } from '../store/state-store.ts';
import { ANONYMOUS_TOKEN_ID } from './authorizer.ts';
import { contentHash } from './hash.ts';
import type { NodeIdentity, ServiceIdentity } from './identities.ts';
import { ErrAclInvalid, ErrAclResourceNotFound, UUID, policyLinksToWire, resolvePolicyLinks } from './policies.ts';
import { resolveRoleLinks, roleLinksToWire, validateIdentities } from './roles.ts';
import { hashSecret, secretsEqual, type SecretBox } from './secrets.ts';
import { AUTH_METHOD_INDEX, EXPIRES_INDEX, SECRET_INDEX, TOKENS_TABLE, type TokenRow } from './tables.ts';

/** What Consul shows in place of a secret to a reader without acl:write (structs redactedToken). */
export const HIDDEN_SECRET = '<hidden>';
/** The anonymous token's SecretID (structs.ACLTokenAnonymousID's secret): "anonymous". */
export const ANONYMOUS_SECRET = 'anonymous';
/** Consul reserves AccessorIDs and SecretIDs 00000000-0000-0000-0000-0000000000xx for builtin tokens (structs.ACLIDReserved). */
const RESERVED_ID = /^00000000-0000-0000-0000-0000000000[0-9a-f]{2}$/i;

export interface TokenInput {
  AccessorID?: string;
  SecretID?: string;
  Description?: string;
  Policies?: Array<{ ID?: string; Name?: string }>;
  Roles?: Array<{ ID?: string; Name?: string }>;
  ServiceIdentities?: ServiceIdentity[];
  NodeIdentities?: NodeIdentity[];
  Local?: boolean;
  /** Only through login (auth-methods/); the HTTP create refuses it, as Consul does outside ACL.Login. */
  AuthMethod?: string;
  /** RFC 3339. */
  ExpirationTime?: string;
  /** A Go duration string, or nanoseconds (Go's JSON form of time.Duration). */
  ExpirationTTL?: string | number;
}

export interface CreatedToken {
  readonly accessorId: string;
  readonly secretId: string;
  /** The wire form (structs.ACLToken), secret included. */
  readonly token: Record<string, unknown>;
}

export interface TokenLimits {
  /** Consul's ACLTokenMinExpirationTTL (1m) and ACLTokenMaxExpirationTTL (24h). */
  readonly minExpirationTtlMs: number;
  readonly maxExpirationTtlMs: number;
}

/** Expired tokens removed per transaction by the reaper. */
const REAP_BATCH = 100;

export const DEFAULT_TOKEN_LIMITS: TokenLimits = { minExpirationTtlMs: 60_000, maxExpirationTtlMs: 24 * 3_600_000 };

export function isExpired(token: TokenRow, now: number): boolean {
  return token.ExpirationTime !== undefined && Date.parse(token.ExpirationTime) <= now;
}

/** The row a secret names (hash lookup, then a constant-time check of the hash), expired or not. */
export function tokenRowBySecret(reader: StoreReader, secret: string): StoredRow<TokenRow> | undefined {
  const hash = hashSecret(secret);
  const row = reader.listBy<TokenRow>(TOKENS_TABLE, SECRET_INDEX, hash)[0];
  return row && secretsEqual(row.value.SecretHash, hash) ? row : undefined;
}

export class AclTokens {
  private readonly store: StateStore;
  private readonly box: SecretBox;
  private readonly limits: TokenLimits;

  constructor(store: StateStore, box: SecretBox, limits: Partial<TokenLimits> = {}) {
    this.store = store;
    this.box = box;
    this.limits = { ...DEFAULT_TOKEN_LIMITS, ...limits };
  }

  /** A live (unexpired) token by AccessorID. */
  get(accessorId: string, reader: StoreReader = this.store): StoredRow<TokenRow> | undefined {
    const row = reader.get<TokenRow>(TOKENS_TABLE, accessorId);
    return row && !isExpired(row.value, Date.now()) ? row : undefined;
  }

  /** A live token by SecretID. */
  bySecret(secret: string, reader: StoreReader = this.store): StoredRow<TokenRow> | undefined {
    const row = tokenRowBySecret(reader, secret);
    return row && !isExpired(row.value, Date.now()) ? row : undefined;
  }

  /** The wire form; the secret in clear only when `showSecret` (acl:write) and this server's key sealed it. */
  toWire(row: StoredRow<TokenRow>, showSecret: boolean, reader: StoreReader = this.store): Record<string, unknown> {
    const t = row.value;
    const policies = policyLinksToWire(reader, t.Policies);
    const roles = roleLinksToWire(reader, t.Roles);
    return {
      AccessorID: t.AccessorID,
      SecretID: showSecret ? (this.box.open(t.SealedSecret) ?? HIDDEN_SECRET) : HIDDEN_SECRET,
      Description: t.Description,
      ...(policies.length > 0 ? { Policies: policies } : {}),
      ...(roles.length > 0 ? { Roles: roles } : {}),
      ...(t.ServiceIdentities.length > 0 ? { ServiceIdentities: t.ServiceIdentities } : {}),
      ...(t.NodeIdentities.length > 0 ? { NodeIdentities: t.NodeIdentities } : {}),
      Local: t.Local,
      ...(t.AuthMethod ? { AuthMethod: t.AuthMethod } : {}),
      ...(t.ExpirationTime ? { ExpirationTime: t.ExpirationTime } : {}),
      CreateTime: t.CreateTime,
      Hash: t.Hash,
      CreateIndex: row.createIndex,
      ModifyIndex: row.modifyIndex,
    };
  }

  /** Live tokens, with Consul's list filters (`policy`, `role`, `authmethod`, `servicename`). */
  list(filters: { policy?: string; role?: string; authMethod?: string; serviceName?: string } = {}): StoredRow<TokenRow>[] {
    const now = Date.now();
    const rows = filters.authMethod
      ? this.store.listBy<TokenRow>(TOKENS_TABLE, AUTH_METHOD_INDEX, filters.authMethod)
      : this.store.list<TokenRow>(TOKENS_TABLE);
    return rows.filter((r) => {
      const t = r.value;
      if (isExpired(t, now)) return false;
      if (filters.policy && !t.Policies.some((p) => p.ID === filters.policy)) return false;
      if (filters.role && !t.Roles.some((p) => p.ID === filters.role)) return false;
      if (filters.serviceName && !t.ServiceIdentities.some((s) => s.ServiceName === filters.serviceName)) return false;
      return true;
    });
  }

  /**
   * Creates a token (Consul's TokenSet with Create). Fails with a coded 400 naming the field; nothing is written
   * then. `options.also` runs inside the same transaction (bootstrap marks itself there); `options.builtin` lets
   * the server create its own tokens (anonymous, initial management) with reserved or non-UUID IDs.
   */
  async createToken(input: TokenInput, options: { also?: (tx: WriteTxn) => void; builtin?: boolean } = {}): Promise<CreatedToken> {
    const now = Date.now();
    const secretId = input.SecretID || randomUUID();
    if (!options.builtin) {
      if (input.SecretID) validateGivenId('SecretID', input.SecretID);
      if (input.AccessorID) validateGivenId('AccessorID', input.AccessorID);
    }
    const also = options.also;
    const expiration = this.expiration(input, now);
    const sealed = this.box.seal(secretId);
    const secretHash = hashSecret(secretId);
    const { result } = await this.store.write((tx) => {
      const accessorId = input.AccessorID || randomUUID();
      if (tx.get(TOKENS_TABLE, accessorId)) throw ErrAclInvalid('Invalid Token: AccessorID is already in use');
      if (tx.listBy(TOKENS_TABLE, SECRET_INDEX, secretHash).length > 0) throw ErrAclInvalid('Invalid Token: SecretID is already in use');
      const row = this.buildRow(tx, input, { accessorId, secretHash, sealed, createTime: new Date(now).toISOString(), expiration, local: input.Local === true });
      tx.put(TOKENS_TABLE, accessorId, row);
      also?.(tx);
      return accessorId;
    });
    const row = this.store.get<TokenRow>(TOKENS_TABLE, result)!;
    return { accessorId: result, secretId, token: { ...this.toWire(row, false), SecretID: secretId } };
  }

  /** Updates a token (TokenSet without Create): its secret, locality, auth method and expiry cannot change. */
  async updateToken(accessorId: string, input: TokenInput): Promise<StoredRow<TokenRow>> {
    if (!UUID.test(accessorId)) throw ErrAclInvalid('Invalid Token: AccessorID is not a valid UUID');
    const now = Date.now();
    await this.store.write((tx) => {
      const existing = tx.get<TokenRow>(TOKENS_TABLE, accessorId);
      if (!existing || isExpired(existing.value, now)) throw ErrAclInvalid(`Cannot find token ${JSON.stringify(accessorId)}`);
      const t = existing.value;
      if (input.SecretID && !secretsEqual(hashSecret(input.SecretID), t.SecretHash)) throw ErrAclInvalid('Changing a tokens SecretID is not permitted');
      if (input.Local !== undefined && input.Local !== t.Local) throw ErrAclInvalid(`Cannot toggle local mode of ${accessorId}`);
      if (input.AuthMethod !== undefined && input.AuthMethod !== (t.AuthMethod ?? '')) throw ErrAclInvalid(`Cannot change AuthMethod of ${accessorId}`);
      if (input.ExpirationTTL !== undefined && input.ExpirationTTL !== 0 && input.ExpirationTTL !== '' && input.ExpirationTTL !== '0s') {
        throw ErrAclInvalid(`Cannot change expiration time of ${accessorId}`);
      }
      if (input.ExpirationTime !== undefined && input.ExpirationTime !== null && Date.parse(input.ExpirationTime) !== Date.parse(t.ExpirationTime ?? '')) {
        throw ErrAclInvalid(`Cannot change expiration time of ${accessorId}`);
      }
      const row = this.buildRow(tx, input, {
        accessorId, secretHash: t.SecretHash, sealed: t.SealedSecret, createTime: t.CreateTime, expiration: t.ExpirationTime, local: t.Local, authMethod: t.AuthMethod,
      });
      tx.put(TOKENS_TABLE, accessorId, row);
    });
    return this.store.get<TokenRow>(TOKENS_TABLE, accessorId)!;
  }

  /** Consul's TokenClone: same links and identities, a new AccessorID and SecretID; the description may be replaced. */
  async cloneToken(accessorId: string, description?: string): Promise<CreatedToken> {
    const source = this.get(accessorId);
    if (!source) throw ErrAclResourceNotFound('Cannot find token to clone');
    const t = source.value;
    if (t.AuthMethod) throw ErrAclInvalid('Cannot clone a token created from an auth method');
    return this.createToken({
      Description: description || t.Description,
      Policies: t.Policies, Roles: t.Roles, ServiceIdentities: t.ServiceIdentities, NodeIdentities: t.NodeIdentities, Local: t.Local,
      ...(t.ExpirationTime ? { ExpirationTime: t.ExpirationTime } : {}),
    });
  }

  /** Consul's TokenDelete; `requesterSecret` is the request's own token, which may not delete itself. */
  async deleteToken(accessorId: string, requesterSecret?: string): Promise<void> {
    if (accessorId === ANONYMOUS_TOKEN_ID) throw ErrAclInvalid('Delete operation not permitted on the anonymous token');
    await this.store.write((tx) => {
      const existing = tx.get<TokenRow>(TOKENS_TABLE, accessorId);
      if (!existing) throw ErrAclResourceNotFound('Cannot find token to delete');
      if (requesterSecret !== undefined && secretsEqual(hashSecret(requesterSecret), existing.value.SecretHash)) {
        throw ErrAclInvalid("Deletion of the request's authorization token is not permitted");
      }
      tx.delete(TOKENS_TABLE, accessorId);
    });
  }

  /** Removes expired tokens (the leader's reaper); returns how many. */
  async reapExpired(): Promise<number> {
    const now = Date.now();
    // At most REAP_BATCH per transaction: etcd refuses a transaction past --max-txn-ops (128 by default); the
    // reaper's next round takes the rest.
    const expired = this.store.listBy<TokenRow>(TOKENS_TABLE, EXPIRES_INDEX, 'yes').filter((r) => isExpired(r.value, now)).slice(0, REAP_BATCH);
    if (expired.length === 0) return 0;
    const { result } = await this.store.write((tx) => {
      let n = 0;
      for (const r of expired) {
        const cur = tx.get<TokenRow>(TOKENS_TABLE, r.key);
        if (cur && isExpired(cur.value, now)) n += tx.delete(TOKENS_TABLE, r.key) ? 1 : 0;
      }
      return n;
    });
    return result;
  }

  /** The earliest expiry among live tokens (epoch ms), for the reaper's timer. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const r of this.store.listBy<TokenRow>(TOKENS_TABLE, EXPIRES_INDEX, 'yes')) {
      const at = Date.parse(r.value.ExpirationTime!);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  private expiration(input: TokenInput, now: number): string | undefined {
    const ttlGiven = input.ExpirationTTL !== undefined && input.ExpirationTTL !== 0 && input.ExpirationTTL !== '';
    const timeGiven = input.ExpirationTime !== undefined && input.ExpirationTime !== null && input.ExpirationTime !== '';
    if (ttlGiven && timeGiven) throw ErrAclInvalid('Expiration TTL and Expiration Time cannot both be set');
    if (!ttlGiven && !timeGiven) return undefined;
    let ttlMs: number;
    if (ttlGiven) {
      ttlMs = decodeDuration(input.ExpirationTTL, 'ExpirationTTL');
      if (ttlMs < 0) throw ErrAclInvalid(`Token Expiration TTL '${formatDuration(ttlMs)}' should be > 0`);
    } else {
      const at = Date.parse(input.ExpirationTime!);
      if (Number.isNaN(at)) throw ErrAclInvalid(`ExpirationTime: ${JSON.stringify(input.ExpirationTime)} is not an RFC 3339 time`);
      ttlMs = at - now;
      if (ttlMs <= 0) throw ErrAclInvalid('ExpirationTime cannot be in the past');
    }
    if (ttlMs < this.limits.minExpirationTtlMs || ttlMs > this.limits.maxExpirationTtlMs) {
      throw ErrAclInvalid(`Expiration TTL should be between ${formatDuration(this.limits.minExpirationTtlMs)} and ${formatDuration(this.limits.maxExpirationTtlMs)}`);
    }
    return new Date(now + ttlMs).toISOString();
  }

  private buildRow(
    tx: StoreReader,
    input: TokenInput,
    fixed: { accessorId: string; secretHash: string; sealed: string; createTime: string; expiration: string | undefined; local: boolean; authMethod?: string | undefined },
  ): TokenRow {
    const policies = resolvePolicyLinks(tx, input.Policies, 'Invalid Token');
    const roles = resolveRoleLinks(tx, input.Roles, 'Invalid Token');
    const { services, nodes } = validateIdentities('Token', input.ServiceIdentities, input.NodeIdentities);
    const authMethod = fixed.authMethod ?? (input.AuthMethod || undefined);
    return {
      AccessorID: fixed.accessorId,
      SecretHash: fixed.secretHash,
      SealedSecret: fixed.sealed,
      Description: input.Description ?? '',
      Policies: policies,
      Roles: roles,
      ServiceIdentities: services,
      NodeIdentities: nodes,
      Local: fixed.local,
      ...(authMethod ? { AuthMethod: authMethod } : {}),
      ...(fixed.expiration ? { ExpirationTime: fixed.expiration } : {}),
      CreateTime: fixed.createTime,
      Hash: contentHash([policies, roles, services, nodes, fixed.local]),
    };
  }
}

function validateGivenId(field: 'AccessorID' | 'SecretID', value: string): void {
  if (!UUID.test(value)) throw ErrAclInvalid(`Invalid Token: ${field} is not a valid UUID`);
  if (RESERVED_ID.test(value)) throw ErrAclInvalid(`Invalid Token: ${field} is reserved`);
}
