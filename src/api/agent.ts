/** `/v1/agent`: the local agent's view (self, members), its services and checks, and TTL check updates. */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type {
  AgentCheck, AgentCheckRegistration, AgentCheckUpdate, AgentMember, AgentSelf, AgentService, AgentServiceChecksInfo,
  AgentServiceRegistration, MembersOptions, QueryOptions, ServiceRegisterOptions, WriteOptions,
} from './types.ts';

type ReadOpts = Pick<QueryOptions, 'token' | 'signal' | 'filter'>;

export class AgentEndpoint {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  async self(opts: ReadOpts = {}): Promise<AgentSelf> {
    return (await this.t.query<AgentSelf>({ method: 'GET', path: '/v1/agent/self', query: noDc(opts) })).value;
  }

  /** The agent's node name (Config.NodeName of /v1/agent/self). */
  async nodeName(opts: ReadOpts = {}): Promise<string> {
    return (await this.self(opts)).Config.NodeName;
  }

  /** `PUT /v1/agent/reload` — the agent re-reads its configuration files (Consul's `consul reload`). */
  async reload(opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'PUT', path: '/v1/agent/reload', write: noDcW(opts) });
  }

  async members(opts: MembersOptions & ReadOpts = {}): Promise<AgentMember[]> {
    const { wan, segment, ...query } = opts;
    const res = await this.t.query<AgentMember[] | null>({ method: 'GET', path: '/v1/agent/members', params: { wan: wan ? 1 : undefined, segment }, query: noDc(query) });
    return res.value ?? [];
  }

  /** `GET /v1/agent/services` — service ID → service. */
  async services(opts: ReadOpts = {}): Promise<Record<string, AgentService>> {
    return (await this.t.query<Record<string, AgentService> | null>({ method: 'GET', path: '/v1/agent/services', query: noDc(opts) })).value ?? {};
  }

  /** `GET /v1/agent/service/:id` — null when the agent does not know the service. */
  async service(id: string, opts: ReadOpts = {}): Promise<AgentService | null> {
    return (await this.t.query<AgentService | null>({ method: 'GET', path: `/v1/agent/service/${escapePath(id)}`, query: noDc(opts) }, { value: null })).value;
  }

  /**
   * `GET /v1/agent/service/:id?hash=…&wait=…` — Consul's blocking form of this endpoint (agentLocalBlockingQuery in
   * agent/agent_endpoint.go) waits until the definition's ContentHash differs from `hash`; without a hash it answers
   * at once. null when the agent does not know the service.
   */
  async serviceBlocking(id: string, opts: ReadOpts & { hash?: string; waitMs?: number; signal?: AbortSignal } = {}): Promise<AgentService | null> {
    const { hash, waitMs, ...rest } = opts;
    // `index` only sizes the client's deadline (wait + jitter) and adds `wait`; the server blocks on the hash.
    const blocking = hash ? { index: 1, waitMs: waitMs ?? 300_000 } : {};
    const res = await this.t.query<AgentService | null>({ method: 'GET', path: `/v1/agent/service/${escapePath(id)}`, params: { hash: hash || undefined }, query: noDc({ ...rest, ...blocking }) }, { value: null });
    return res.value;
  }

  /** `GET /v1/agent/checks` — check ID → check. */
  async checks(opts: ReadOpts = {}): Promise<Record<string, AgentCheck>> {
    return (await this.t.query<Record<string, AgentCheck> | null>({ method: 'GET', path: '/v1/agent/checks', query: noDc(opts) })).value ?? {};
  }

  /**
   * `GET /v1/agent/health/service/id/:id` — Consul encodes the aggregated status in the HTTP status
   * (200 passing, 429 warning, 503 critical, 404 unknown); null when unknown.
   */
  async healthServiceById(id: string, opts: ReadOpts = {}): Promise<AgentServiceChecksInfo | null> {
    const res = await this.t.send({ method: 'GET', path: `/v1/agent/health/service/id/${escapePath(id)}`, params: { format: 'json' }, query: noDc(opts), acceptStatus: [404, 429, 503] });
    if (res.status === 404) return null;
    return JSON.parse(res.text) as AgentServiceChecksInfo;
  }

  /** `GET /v1/agent/health/service/name/:name` — one entry per local instance ([] when none). */
  async healthServiceByName(name: string, opts: ReadOpts = {}): Promise<AgentServiceChecksInfo[]> {
    const res = await this.t.send({ method: 'GET', path: `/v1/agent/health/service/name/${escapePath(name)}`, params: { format: 'json' }, query: noDc(opts), acceptStatus: [404, 429, 503] });
    if (res.status === 404 || res.text.trim() === '') return [];
    return JSON.parse(res.text) as AgentServiceChecksInfo[];
  }

  async serviceRegister(service: AgentServiceRegistration, opts: ServiceRegisterOptions & WriteOptions = {}): Promise<void> {
    const { replaceExistingChecks, ...write } = opts;
    await this.t.write({ method: 'PUT', path: '/v1/agent/service/register', params: { 'replace-existing-checks': replaceExistingChecks }, json: service, write: noDcW(write) });
  }

  async serviceDeregister(id: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'PUT', path: `/v1/agent/service/deregister/${escapePath(id)}`, write: noDcW(opts) });
  }

  /** `PUT /v1/agent/service/maintenance/:id?enable=&reason=`. */
  async serviceMaintenance(id: string, enable: boolean, reason?: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'PUT', path: `/v1/agent/service/maintenance/${escapePath(id)}`, params: { enable: String(enable), reason }, write: noDcW(opts) });
  }

  /** `PUT /v1/agent/maintenance?enable=&reason=` (the whole node). */
  async nodeMaintenance(enable: boolean, reason?: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'PUT', path: '/v1/agent/maintenance', params: { enable: String(enable), reason }, write: noDcW(opts) });
  }

  async checkRegister(check: AgentCheckRegistration, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'PUT', path: '/v1/agent/check/register', json: check, write: noDcW(opts) });
  }

  async checkDeregister(id: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'PUT', path: `/v1/agent/check/deregister/${escapePath(id)}`, write: noDcW(opts) });
  }

  /** `PUT /v1/agent/check/update/:id` — set a TTL check's status and output. */
  async checkUpdate(id: string, update: AgentCheckUpdate, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'PUT', path: `/v1/agent/check/update/${escapePath(id)}`, json: update, write: noDcW(opts) });
  }

  /** `PUT /v1/agent/check/pass|warn|fail/:id?note=` — the older TTL verbs. */
  async passTTL(id: string, note?: string, opts: WriteOptions = {}): Promise<void> {
    await this.ttl('pass', id, note, opts);
  }
  async warnTTL(id: string, note?: string, opts: WriteOptions = {}): Promise<void> {
    await this.ttl('warn', id, note, opts);
  }
  async failTTL(id: string, note?: string, opts: WriteOptions = {}): Promise<void> {
    await this.ttl('fail', id, note, opts);
  }

  private async ttl(verb: 'pass' | 'warn' | 'fail', id: string, note: string | undefined, opts: WriteOptions): Promise<void> {
    await this.t.write({ method: 'PUT', path: `/v1/agent/check/${verb}/${escapePath(id)}`, params: { note }, write: noDcW(opts) });
  }
}

// Agent endpoints are local to the agent: Consul ignores ?dc there, so the client's default dc is not sent.
function noDc<T extends QueryOptions>(opts: T): T & QueryOptions {
  return { ...opts, datacenter: '' };
}
function noDcW(opts: WriteOptions): WriteOptions {
  return { ...opts, datacenter: '' };
}
