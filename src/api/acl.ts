/** `/v1/acl` — Consul's api.ACL: bootstrap, tokens, policies, roles and the legacy rules translation. */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type {
  ACLPolicy, ACLPolicyListEntry, ACLPolicyWrite, ACLRole, ACLRoleWrite, ACLToken, ACLTokenFilter, ACLTokenWrite,
  QueryOptions, QueryResult, WriteOptions,
} from './types.ts';

export class AclEndpoint {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  /** `PUT /v1/acl/bootstrap` — the first management token (403 once bootstrapped). */
  async bootstrap(opts: WriteOptions & { bootstrapSecret?: string } = {}): Promise<ACLToken> {
    const { bootstrapSecret, ...write } = opts;
    return this.t.write<ACLToken>({ method: 'PUT', path: '/v1/acl/bootstrap', ...(bootstrapSecret ? { json: { BootstrapSecret: bootstrapSecret } } : {}), write });
  }

  async tokenCreate(token: ACLTokenWrite, opts: WriteOptions = {}): Promise<ACLToken> {
    return this.t.write<ACLToken>({ method: 'PUT', path: '/v1/acl/token', json: token, write: opts });
  }

  async tokenUpdate(token: ACLTokenWrite & { AccessorID: string }, opts: WriteOptions = {}): Promise<ACLToken> {
    return this.t.write<ACLToken>({ method: 'PUT', path: `/v1/acl/token/${escapePath(token.AccessorID)}`, json: token, write: opts });
  }

  async tokenClone(accessorId: string, description = '', opts: WriteOptions = {}): Promise<ACLToken> {
    return this.t.write<ACLToken>({ method: 'PUT', path: `/v1/acl/token/${escapePath(accessorId)}/clone`, json: { Description: description }, write: opts });
  }

  async tokenDelete(accessorId: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write<unknown>({ method: 'DELETE', path: `/v1/acl/token/${escapePath(accessorId)}`, write: opts });
  }

  /** `GET /v1/acl/token/:accessor` — null when there is no such token. */
  async tokenRead(accessorId: string, opts: QueryOptions = {}): Promise<QueryResult<ACLToken | null>> {
    return this.t.query<ACLToken | null>({ method: 'GET', path: `/v1/acl/token/${escapePath(accessorId)}`, query: opts }, { value: null });
  }

  /** `GET /v1/acl/token/self` — the token the client sends. */
  async tokenReadSelf(opts: QueryOptions = {}): Promise<QueryResult<ACLToken>> {
    return this.t.query<ACLToken>({ method: 'GET', path: '/v1/acl/token/self', query: opts });
  }

  async tokenList(filter: ACLTokenFilter = {}, opts: QueryOptions = {}): Promise<QueryResult<ACLToken[]>> {
    const params = { policy: filter.policy, role: filter.role, authmethod: filter.authMethod, servicename: filter.serviceName };
    const res = await this.t.query<ACLToken[] | null>({ method: 'GET', path: '/v1/acl/tokens', params, query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }

  async policyCreate(policy: ACLPolicyWrite, opts: WriteOptions = {}): Promise<ACLPolicy> {
    return this.t.write<ACLPolicy>({ method: 'PUT', path: '/v1/acl/policy', json: policy, write: opts });
  }

  async policyUpdate(policy: ACLPolicyWrite & { ID: string }, opts: WriteOptions = {}): Promise<ACLPolicy> {
    return this.t.write<ACLPolicy>({ method: 'PUT', path: `/v1/acl/policy/${escapePath(policy.ID)}`, json: policy, write: opts });
  }

  async policyDelete(id: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write<unknown>({ method: 'DELETE', path: `/v1/acl/policy/${escapePath(id)}`, write: opts });
  }

  async policyRead(id: string, opts: QueryOptions = {}): Promise<QueryResult<ACLPolicy | null>> {
    return this.t.query<ACLPolicy | null>({ method: 'GET', path: `/v1/acl/policy/${escapePath(id)}`, query: opts }, { value: null });
  }

  async policyReadByName(name: string, opts: QueryOptions = {}): Promise<QueryResult<ACLPolicy | null>> {
    return this.t.query<ACLPolicy | null>({ method: 'GET', path: `/v1/acl/policy/name/${escapePath(name)}`, query: opts }, { value: null });
  }

  async policyList(opts: QueryOptions = {}): Promise<QueryResult<ACLPolicyListEntry[]>> {
    const res = await this.t.query<ACLPolicyListEntry[] | null>({ method: 'GET', path: '/v1/acl/policies', query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }

  async roleCreate(role: ACLRoleWrite, opts: WriteOptions = {}): Promise<ACLRole> {
    return this.t.write<ACLRole>({ method: 'PUT', path: '/v1/acl/role', json: role, write: opts });
  }

  async roleUpdate(role: ACLRoleWrite & { ID: string }, opts: WriteOptions = {}): Promise<ACLRole> {
    return this.t.write<ACLRole>({ method: 'PUT', path: `/v1/acl/role/${escapePath(role.ID)}`, json: role, write: opts });
  }

  async roleDelete(id: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write<unknown>({ method: 'DELETE', path: `/v1/acl/role/${escapePath(id)}`, write: opts });
  }

  async roleRead(id: string, opts: QueryOptions = {}): Promise<QueryResult<ACLRole | null>> {
    return this.t.query<ACLRole | null>({ method: 'GET', path: `/v1/acl/role/${escapePath(id)}`, query: opts }, { value: null });
  }

  async roleReadByName(name: string, opts: QueryOptions = {}): Promise<QueryResult<ACLRole | null>> {
    return this.t.query<ACLRole | null>({ method: 'GET', path: `/v1/acl/role/name/${escapePath(name)}`, query: opts }, { value: null });
  }

  async roleList(opts: QueryOptions & { policy?: string } = {}): Promise<QueryResult<ACLRole[]>> {
    const { policy, ...query } = opts;
    const res = await this.t.query<ACLRole[] | null>({ method: 'GET', path: '/v1/acl/roles', params: { policy }, query });
    return { value: res.value ?? [], meta: res.meta };
  }

  /** `POST /v1/acl/rules/translate` — legacy rules in the current syntax. */
  async rulesTranslate(rules: string, opts: WriteOptions = {}): Promise<string> {
    const res = await this.t.send({ method: 'POST', path: '/v1/acl/rules/translate', raw: new TextEncoder().encode(rules), write: opts });
    return res.text;
  }
}
