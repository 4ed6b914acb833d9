/**
 * `/v1/acl` auth methods, binding rules, login and logout — Consul's api.ACL AuthMethod*, BindingRule*, Login and
 * Logout, with their wire types (api/acl.go ACLAuthMethod, ACLAuthMethodListEntry, ACLBindingRule,
 * ACLLoginParams). Built on a client's transport: `new AclAuthEndpoint(client.transport)`.
 */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type { ACLToken, QueryOptions, QueryResult, WriteOptions } from './types.ts';

export interface ACLAuthMethod {
  Name: string;
  Type: string;
  DisplayName?: string;
  Description?: string;
  /** A Go duration ("10m0s"). */
  MaxTokenTTL?: string;
  /** "local" (default) or "global". */
  TokenLocality?: string;
  Config?: Record<string, unknown>;
  CreateIndex?: number;
  ModifyIndex?: number;
}

export type ACLAuthMethodListEntry = Omit<ACLAuthMethod, 'Config'>;

export interface ACLBindingRule {
  ID?: string;
  Description?: string;
  AuthMethod: string;
  Selector?: string;
  /** service, node, role or policy. */
  BindType: string;
  BindName: string;
  CreateIndex?: number;
  ModifyIndex?: number;
}

export interface ACLLoginParams {
  AuthMethod: string;
  BearerToken: string;
  Meta?: Record<string, string>;
}

export class AclAuthEndpoint {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  async authMethodCreate(method: ACLAuthMethod, opts: WriteOptions = {}): Promise<ACLAuthMethod> {
    return this.t.write<ACLAuthMethod>({ method: 'PUT', path: '/v1/acl/auth-method', json: method, write: opts });
  }

  async authMethodUpdate(method: ACLAuthMethod, opts: WriteOptions = {}): Promise<ACLAuthMethod> {
    return this.t.write<ACLAuthMethod>({ method: 'PUT', path: `/v1/acl/auth-method/${escapePath(method.Name)}`, json: method, write: opts });
  }

  async authMethodDelete(name: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write<unknown>({ method: 'DELETE', path: `/v1/acl/auth-method/${escapePath(name)}`, write: opts });
  }

  /** null when there is no such method. */
  async authMethodRead(name: string, opts: QueryOptions = {}): Promise<QueryResult<ACLAuthMethod | null>> {
    return this.t.query<ACLAuthMethod | null>({ method: 'GET', path: `/v1/acl/auth-method/${escapePath(name)}`, query: opts }, { value: null });
  }

  async authMethodList(opts: QueryOptions = {}): Promise<QueryResult<ACLAuthMethodListEntry[]>> {
    const res = await this.t.query<ACLAuthMethodListEntry[] | null>({ method: 'GET', path: '/v1/acl/auth-methods', query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }

  async bindingRuleCreate(rule: ACLBindingRule, opts: WriteOptions = {}): Promise<ACLBindingRule> {
    return this.t.write<ACLBindingRule>({ method: 'PUT', path: '/v1/acl/binding-rule', json: rule, write: opts });
  }

  async bindingRuleUpdate(rule: ACLBindingRule & { ID: string }, opts: WriteOptions = {}): Promise<ACLBindingRule> {
    return this.t.write<ACLBindingRule>({ method: 'PUT', path: `/v1/acl/binding-rule/${escapePath(rule.ID)}`, json: rule, write: opts });
  }

  async bindingRuleDelete(id: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write<unknown>({ method: 'DELETE', path: `/v1/acl/binding-rule/${escapePath(id)}`, write: opts });
  }

  async bindingRuleRead(id: string, opts: QueryOptions = {}): Promise<QueryResult<ACLBindingRule | null>> {
    return this.t.query<ACLBindingRule | null>({ method: 'GET', path: `/v1/acl/binding-rule/${escapePath(id)}`, query: opts }, { value: null });
  }

  async bindingRuleList(authMethod?: string, opts: QueryOptions = {}): Promise<QueryResult<ACLBindingRule[]>> {
    const res = await this.t.query<ACLBindingRule[] | null>({ method: 'GET', path: '/v1/acl/binding-rules', params: { authmethod: authMethod }, query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }

  /** `POST /v1/acl/login` — must be sent without a token (the server refuses one). */
  async login(params: ACLLoginParams, opts: WriteOptions = {}): Promise<ACLToken> {
    return this.t.write<ACLToken>({ method: 'POST', path: '/v1/acl/login', json: params, write: opts });
  }

  /** `POST /v1/acl/logout` — destroys the token the request carries, which must come from a login. */
  async logout(opts: WriteOptions = {}): Promise<void> {
    await this.t.write<unknown>({ method: 'POST', path: '/v1/acl/logout', write: opts });
  }
}
