/** `/v1/config` (configuration entries) and `/v1/discovery-chain` — Consul's api.ConfigEntries and DiscoveryChain. */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type {
  CompiledDiscoveryChain, ConfigEntry, DiscoveryChainOverrides, QueryOptions, QueryResult, WriteOptions,
} from './types.ts';

export class ConfigEntries {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  /** `GET /v1/config/:kind/:name` — null when there is no such entry. */
  async get(kind: string, name: string, opts: QueryOptions = {}): Promise<QueryResult<ConfigEntry | null>> {
    return this.t.query<ConfigEntry | null>({ method: 'GET', path: `/v1/config/${escapePath(kind)}/${escapePath(name)}`, query: opts }, { value: null });
  }

  /** `GET /v1/config/:kind` — every entry of a kind (blocking-capable). */
  async list(kind: string, opts: QueryOptions = {}): Promise<QueryResult<ConfigEntry[]>> {
    const res = await this.t.query<ConfigEntry[] | null>({ method: 'GET', path: `/v1/config/${escapePath(kind)}`, query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }

  /** `PUT /v1/config` — creates or replaces; false when a `cas` lost. */
  async set(entry: ConfigEntry | Record<string, unknown>, opts: WriteOptions & { cas?: number } = {}): Promise<boolean> {
    const { cas, ...write } = opts;
    const params = cas === undefined ? {} : { cas: String(cas) };
    return (await this.t.write<boolean | null>({ method: 'PUT', path: '/v1/config', params, json: entry, write })) === true;
  }

  /** `DELETE /v1/config/:kind/:name` — with `cas`, false when it lost. */
  async delete(kind: string, name: string, opts: WriteOptions & { cas?: number } = {}): Promise<boolean> {
    const { cas, ...write } = opts;
    const params = cas === undefined ? {} : { cas: String(cas) };
    const res = await this.t.write<unknown>({ method: 'DELETE', path: `/v1/config/${escapePath(kind)}/${escapePath(name)}`, params, write });
    return cas === undefined ? true : res === true;
  }

  /** `GET /v1/discovery-chain/:service`, or `POST` with overrides. */
  async discoveryChain(
    service: string,
    opts: QueryOptions & { overrides?: DiscoveryChainOverrides; compileDc?: string } = {},
  ): Promise<QueryResult<{ Chain: CompiledDiscoveryChain }>> {
    const { overrides, compileDc, ...query } = opts;
    return this.t.query<{ Chain: CompiledDiscoveryChain }>({
      method: overrides ? 'POST' : 'GET',
      path: `/v1/discovery-chain/${escapePath(service)}`,
      params: compileDc ? { 'compile-dc': compileDc } : {},
      ...(overrides ? { json: overrides } : {}),
      query,
    });
  }
}
