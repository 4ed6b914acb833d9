/**
 * `/v1/connect/intentions`, `/v1/agent/connect/authorize` and the Connect CA's agent endpoints — Consul's api.Connect
 * intention methods plus Agent.ConnectCARoots / ConnectCALeaf. The proxy fetches intentions through `match` (by
 * destination, blocking) and decides with src/lib/intentions; it follows its leaf and the roots with blocking reads.
 */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type {
  CARootList, LeafCert, ConnectAuthorizeRequest, ConnectAuthorizeResponse, Intention, IntentionInput, QueryOptions, QueryResult, WriteOptions,
} from './types.ts';

export class ConnectEndpoint {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  /** `GET /v1/connect/intentions` — every intention, highest precedence first. */
  async intentions(opts: QueryOptions = {}): Promise<QueryResult<Intention[]>> {
    const res = await this.t.query<Intention[] | null>({ method: 'GET', path: '/v1/connect/intentions', query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }

  /** `GET /v1/connect/intentions/match?by=&name=` — name → the intentions that apply, in precedence order. */
  async intentionMatch(by: 'source' | 'destination', names: readonly string[], opts: QueryOptions = {}): Promise<QueryResult<Record<string, Intention[]>>> {
    const res = await this.t.query<Record<string, Intention[]> | null>({ method: 'GET', path: '/v1/connect/intentions/match', params: { by, name: names }, query: opts });
    return { value: res.value ?? {}, meta: res.meta };
  }

  /** `GET /v1/connect/intentions/check` — whether source may connect to destination. */
  async intentionCheck(source: string, destination: string, opts: QueryOptions = {}): Promise<boolean> {
    const res = await this.t.query<{ Allowed: boolean }>({ method: 'GET', path: '/v1/connect/intentions/check', params: { source, destination }, query: opts });
    return res.value.Allowed === true;
  }

  /** `GET /v1/connect/intentions/exact` — null when there is none. */
  async intentionGetExact(source: string, destination: string, opts: QueryOptions = {}): Promise<QueryResult<Intention | null>> {
    return this.t.query<Intention | null>({ method: 'GET', path: '/v1/connect/intentions/exact', params: { source, destination }, query: opts }, { value: null });
  }

  /** `PUT /v1/connect/intentions/exact` — creates or replaces the intention for the pair. */
  async intentionUpsert(intention: IntentionInput, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({
      method: 'PUT', path: '/v1/connect/intentions/exact', params: { source: intention.SourceName, destination: intention.DestinationName }, json: intention, write: opts,
    });
  }

  /** `DELETE /v1/connect/intentions/exact`. */
  async intentionDeleteExact(source: string, destination: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'DELETE', path: '/v1/connect/intentions/exact', params: { source, destination }, write: opts });
  }

  /** `POST /v1/connect/intentions` (legacy) — returns the new intention's ID. */
  async intentionCreate(intention: IntentionInput, opts: WriteOptions = {}): Promise<string> {
    const res = await this.t.write<{ ID: string }>({ method: 'POST', path: '/v1/connect/intentions', json: intention, write: opts });
    return res.ID;
  }

  /** `GET /v1/connect/intentions/:id` — null when unknown. */
  async intentionGet(id: string, opts: QueryOptions = {}): Promise<QueryResult<Intention | null>> {
    return this.t.query<Intention | null>({ method: 'GET', path: `/v1/connect/intentions/${escapePath(id)}`, query: opts }, { value: null });
  }

  /** `DELETE /v1/connect/intentions/:id`. */
  async intentionDelete(id: string, opts: WriteOptions = {}): Promise<void> {
    await this.t.write({ method: 'DELETE', path: `/v1/connect/intentions/${escapePath(id)}`, write: opts });
  }

  /** `POST /v1/agent/connect/authorize`. */
  async authorize(req: ConnectAuthorizeRequest, opts: WriteOptions = {}): Promise<ConnectAuthorizeResponse> {
    return this.t.write<ConnectAuthorizeResponse>({ method: 'POST', path: '/v1/agent/connect/authorize', json: req, write: opts });
  }

  /** `GET /v1/agent/connect/ca/roots` — blocking; wakes when a root is added, rotated or pruned. */
  async caRoots(opts: QueryOptions = {}): Promise<QueryResult<CARootList>> {
    return this.t.query<CARootList>({ method: 'GET', path: '/v1/agent/connect/ca/roots', query: { ...opts, datacenter: '' } });
  }

  /** `GET /v1/agent/connect/ca/leaf/:service` — blocking; wakes with the renewed (or, after a rotation, reissued) leaf. */
  async caLeaf(service: string, opts: QueryOptions = {}): Promise<QueryResult<LeafCert>> {
    return this.t.query<LeafCert>({ method: 'GET', path: `/v1/agent/connect/ca/leaf/${escapePath(service)}`, query: { ...opts, datacenter: '' } });
  }
}
