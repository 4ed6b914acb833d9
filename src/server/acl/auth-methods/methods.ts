/**
 * Auth methods and binding rules as Consul stores and checks them (agent/consul/acl_endpoint.go AuthMethodSet,
 * AuthMethodDelete, BindingRuleSet, BindingRuleDelete), login and logout (ACL.Login, ACL.Logout with
 * agent/consul/auth/login.go). A method's Config is checked by building its type's validator (registry.ts); built
 * validators are cached per method and rebuilt when the method changes. Deleting a method deletes its binding
 * rules and every token it created, in one transaction (Consul's aclAuthMethodDeleteTxn).
 */
import { randomUUID } from 'node:crypto';
import { decodeDuration, formatDuration } from '../../../lib/duration.ts';
import type { StateStore } from '../../store/state-store.ts';
import type { StoredRow } from '../../store/types.ts';
import { AclNotFoundError, PermissionDeniedError } from '../authorizer.ts';
import { UUID } from '../policies.ts';
import { AUTH_METHOD_INDEX, TOKENS_TABLE, type TokenRow } from '../tables.ts';
import { tokenRowBySecret, type AclTokens, type CreatedToken, type TokenLimits } from '../tokens.ts';
import { BindNameError, checkBindName } from './bind-name.ts';
import { SELECTABLE_FIELDS, bind, noBindings } from './binder.ts';
import { ErrAuthMethodInvalid } from './errors.ts';
import { authMethodFactory, authMethodTypes } from './registry.ts';
import { AUTH_METHODS_TABLE, BINDING_RULES_TABLE, RULE_METHOD_INDEX } from './tables.ts';
import type { AuthMethodRow, AuthMethodValidator, BindType, BindingRuleRow } from './types.ts';
import { compileFilter } from '../../filter/index.ts';

/** Consul's acl.IsValidAuthMethodName. */
const METHOD_NAME = /^[A-Za-z0-9\-_]{1,128}$/;
const BIND_TYPES: readonly BindType[] = ['service', 'node', 'role', 'policy'];

export interface AuthMethodInput {
  Name?: string;
  Type?: string;
  DisplayName?: string;
  Description?: string;
  MaxTokenTTL?: string | number;
  TokenLocality?: string;
  Config?: Record<string, unknown>;
}

export interface BindingRuleInput {
  ID?: string;
  Description?: string;
  AuthMethod?: string;
  Selector?: string;
  BindType?: string;
  BindName?: string;
}

export interface LoginInput {
  AuthMethod: string;
  BearerToken: string;
  Meta?: Record<string, string>;
}

export class AuthMethods {
  private readonly store: StateStore;
  private readonly tokens: AclTokens;
  private readonly datacenter: string;
  private readonly limits: TokenLimits;
  private readonly validators = new Map<string, { modifyIndex: number; validator: AuthMethodValidator }>();

  constructor(options: { store: StateStore; tokens: AclTokens; datacenter: string; limits: TokenLimits }) {
    this.store = options.store;
    this.tokens = options.tokens;
    this.datacenter = options.datacenter;
    this.limits = options.limits;
  }

  close(): void {
    for (const { validator } of this.validators.values()) validator.close?.();
    this.validators.clear();
  }

  // ---- auth methods ----

  getMethod(name: string): StoredRow<AuthMethodRow> | undefined {
    return this.store.get<AuthMethodRow>(AUTH_METHODS_TABLE, name);
  }

  listMethods(): StoredRow<AuthMethodRow>[] {
    return this.store.list<AuthMethodRow>(AUTH_METHODS_TABLE);
  }

  /** AuthMethodSet: `create` for PUT /v1/acl/auth-method, else the update of an existing or new name. */
  async upsertMethod(input: AuthMethodInput): Promise<StoredRow<AuthMethodRow>> {
    const name = input.Name ?? '';
    if (name === '') throw ErrAuthMethodInvalid('Invalid Auth Method: no Name is set');
    if (!METHOD_NAME.test(name)) throw ErrAuthMethodInvalid("Invalid Auth Method: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
    const existing = this.getMethod(name);
    let type = input.Type ?? '';
    if (existing) {
      if (type === '') type = existing.value.Type;
      else if (type !== existing.value.Type) throw ErrAuthMethodInvalid('the Type field of an Auth Method is immutable');
    }
    if (!authMethodFactory(type)) throw ErrAuthMethodInvalid(`Invalid Auth Method: Type should be one of: [${authMethodTypes().join(' ')}]`);
    const maxTtlMs = input.MaxTokenTTL === undefined || input.MaxTokenTTL === '' ? 0 : this.duration(input.MaxTokenTTL);
    if (maxTtlMs !== 0) {
      if (maxTtlMs > this.limits.maxExpirationTtlMs) throw ErrAuthMethodInvalid(`MaxTokenTTL ${formatDuration(maxTtlMs)} cannot be more than ${formatDuration(this.limits.maxExpirationTtlMs)}`);
      if (maxTtlMs < this.limits.minExpirationTtlMs) throw ErrAuthMethodInvalid(`MaxTokenTTL ${formatDuration(maxTtlMs)} cannot be less than ${formatDuration(this.limits.minExpirationTtlMs)}`);
    }
    const locality = input.TokenLocality ?? '';
    if (locality !== '' && locality !== 'local' && locality !== 'global') throw ErrAuthMethodInvalid("Invalid Auth Method: TokenLocality should be one of 'local' or 'global'");
    const row: AuthMethodRow = {
      Name: name,
      Type: type,
      DisplayName: input.DisplayName ?? '',
      Description: input.Description ?? '',
      ...(maxTtlMs !== 0 ? { MaxTokenTTL: formatDuration(maxTtlMs) } : {}),
      TokenLocality: locality,
      Config: input.Config ?? {},
    };
    // Building the validator checks the Config (and, for jwt with JWKSURL, that the keys can be fetched).
    const validator = await authMethodFactory(type)!(row);
    validator.close?.();
    await this.store.write((tx) => {
      tx.put(AUTH_METHODS_TABLE, name, row);
    });
    return this.getMethod(name)!;
  }

  /** AuthMethodDelete: the method, its binding rules and its tokens; deleting a missing method is not an error. */
  async deleteMethod(name: string): Promise<void> {
    await this.store.write((tx) => {
      if (!tx.get(AUTH_METHODS_TABLE, name)) return;
      for (const rule of tx.listBy<BindingRuleRow>(BINDING_RULES_TABLE, RULE_METHOD_INDEX, name)) tx.delete(BINDING_RULES_TABLE, rule.key);
      for (const token of tx.listBy<TokenRow>(TOKENS_TABLE, AUTH_METHOD_INDEX, name)) tx.delete(TOKENS_TABLE, token.key);
      tx.delete(AUTH_METHODS_TABLE, name);
    });
    this.dropValidator(name);
  }

  // ---- binding rules ----

  getRule(id: string): StoredRow<BindingRuleRow> | undefined {
    return this.store.get<BindingRuleRow>(BINDING_RULES_TABLE, id);
  }

  listRules(authMethod?: string): StoredRow<BindingRuleRow>[] {
    return authMethod
      ? this.store.listBy<BindingRuleRow>(BINDING_RULES_TABLE, RULE_METHOD_INDEX, authMethod)
      : this.store.list<BindingRuleRow>(BINDING_RULES_TABLE);
  }

  /** BindingRuleSet; `create` assigns the ID (an ID given on create is refused, as Consul does). */
  async upsertRule(input: BindingRuleInput, create: boolean): Promise<StoredRow<BindingRuleRow>> {
    let id = input.ID ?? '';
    let existing: StoredRow<BindingRuleRow> | undefined;
    if (create) {
      if (id !== '') throw ErrAuthMethodInvalid('Binding Rule ID should not be specified when creating a new Binding Rule');
      id = randomUUID();
    } else {
      if (!UUID.test(id)) throw ErrAuthMethodInvalid('Binding Rule ID invalid UUID');
      existing = this.getRule(id);
      if (!existing) throw ErrAuthMethodInvalid(`cannot find binding rule ${id}`);
    }
    const authMethod = input.AuthMethod ?? existing?.value.AuthMethod ?? '';
    if (existing && authMethod !== existing.value.AuthMethod) throw ErrAuthMethodInvalid('the AuthMethod field of an Binding Rule is immutable');
    if (authMethod === '') throw ErrAuthMethodInvalid('Invalid Binding Rule: no AuthMethod is set');
    const method = this.getMethod(authMethod);
    if (!method) throw ErrAuthMethodInvalid(`cannot find auth method with name ${JSON.stringify(authMethod)}`);
    const validator = await this.validatorFor(method);
    const blank = validator.newIdentity();
    const selector = input.Selector ?? '';
    if (selector !== '') {
      try {
        compileFilter(selector, validator.selectableFields ?? SELECTABLE_FIELDS);
      } catch (err) {
        throw ErrAuthMethodInvalid(`invalid Binding Rule: Selector is invalid: ${(err as Error).message}`);
      }
    }
    const bindType = input.BindType ?? '';
    const bindName = input.BindName ?? '';
    if (bindType === '') throw ErrAuthMethodInvalid('Invalid Binding Rule: no BindType is set');
    if (bindName === '') throw ErrAuthMethodInvalid('Invalid Binding Rule: no BindName is set');
    if (!(BIND_TYPES as readonly string[]).includes(bindType)) throw ErrAuthMethodInvalid(`Invalid Binding Rule: unknown BindType ${JSON.stringify(bindType)}`);
    try {
      checkBindName(bindType as BindType, bindName, Object.keys(blank.projected));
    } catch (err) {
      if (err instanceof BindNameError) throw ErrAuthMethodInvalid(`Invalid Binding Rule: invalid BindName: ${err.message}`);
      throw err;
    }
    const row: BindingRuleRow = { ID: id, Description: input.Description ?? '', AuthMethod: authMethod, Selector: selector, BindType: bindType as BindType, BindName: bindName };
    await this.store.write((tx) => {
      if (!tx.get(AUTH_METHODS_TABLE, authMethod)) throw ErrAuthMethodInvalid(`cannot find auth method with name ${JSON.stringify(authMethod)}`);
      tx.put(BINDING_RULES_TABLE, id, row);
    });
    return this.getRule(id)!;
  }

  async deleteRule(id: string): Promise<void> {
    await this.store.write((tx) => {
      tx.delete(BINDING_RULES_TABLE, id);
    });
  }

  // ---- login / logout ----

  /** ACL.Login: verify the bearer token, bind, and create a token carrying the bound identities, roles and policies. */
  async login(input: LoginInput): Promise<CreatedToken> {
    const method = this.getMethod(input.AuthMethod);
    if (!method) throw new AclNotFoundError();
    const validator = await this.validatorFor(method);
    const identity = await validator.validateLogin(input.BearerToken);
    const rules = this.listRules(method.value.Name).map((r) => r.value);
    const bindings = bind(this.store, rules, identity, this.datacenter, validator.selectableFields);
    // Consul's TokenForVerifiedIdentity: no useful token is created when nothing binds.
    if (noBindings(bindings)) throw new PermissionDeniedError('Permission denied');
    const meta = input.Meta && Object.keys(input.Meta).length > 0 ? input.Meta : undefined;
    return this.tokens.createToken({
      Description: meta ? `token created via login: ${JSON.stringify(meta)}` : 'token created via login',
      Local: method.value.TokenLocality !== 'global',
      AuthMethod: method.value.Name,
      ...(method.value.MaxTokenTTL ? { ExpirationTTL: method.value.MaxTokenTTL } : {}),
      ServiceIdentities: bindings.ServiceIdentities,
      NodeIdentities: bindings.NodeIdentities,
      Roles: bindings.Roles,
      Policies: bindings.Policies,
    });
  }

  /** ACL.Logout: only a token created by a login can be logged out; its secret is the request's token. */
  async logout(secret: string | undefined): Promise<void> {
    if (!secret) throw new AclNotFoundError();
    const row = tokenRowBySecret(this.store, secret);
    if (!row) throw new AclNotFoundError();
    if (!row.value.AuthMethod) throw new PermissionDeniedError('Permission denied');
    await this.tokens.deleteToken(row.value.AccessorID);
  }

  private async validatorFor(method: StoredRow<AuthMethodRow>): Promise<AuthMethodValidator> {
    const cached = this.validators.get(method.value.Name);
    if (cached && cached.modifyIndex === method.modifyIndex) return cached.validator;
    cached?.validator.close?.();
    const validator = await authMethodFactory(method.value.Type)!(method.value);
    this.validators.set(method.value.Name, { modifyIndex: method.modifyIndex, validator });
    return validator;
  }

  private dropValidator(name: string): void {
    this.validators.get(name)?.validator.close?.();
    this.validators.delete(name);
  }

  private duration(value: string | number): number {
    try {
      return decodeDuration(value, 'MaxTokenTTL');
    } catch (err) {
      throw ErrAuthMethodInvalid((err as Error).message);
    }
  }
}
