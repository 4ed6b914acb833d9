/** `/v1/session`: create, destroy, renew and the reads. */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type { QueryOptions, QueryResult, SessionCreateRequest, SessionCreateResponse, SessionEntry, WriteOptions } from './types.ts';

export class SessionEndpoint {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  /** `PUT /v1/session/create` — the new session's ID. */
  async create(request: SessionCreateRequest = {}, opts: WriteOptions = {}): Promise<string> {
    const res = await this.t.write<SessionCreateResponse>({ method: 'PUT', path: '/v1/session/create', json: request, write: opts });
    return res.ID;
  }

  /** `PUT /v1/session/destroy/:id`. */
  async destroy(id: string, opts: WriteOptions = {}): Promise<boolean> {
    return (await this.t.write<boolean | null>({ method: 'PUT', path: `/v1/session/destroy/${escapePath(id)}`, write: opts })) !== false;
  }

  /** `PUT /v1/session/renew/:id` — the renewed entry, or null when the session no longer exists (404). */
  async renew(id: string, opts: WriteOptions = {}): Promise<SessionEntry | null> {
    const res = await this.t.send({ method: 'PUT', path: `/v1/session/renew/${escapePath(id)}`, write: opts, acceptStatus: [404] });
    if (res.status === 404 || res.text.trim() === '') return null;
    return (JSON.parse(res.text) as SessionEntry[] | null)?.[0] ?? null;
  }

  /** `GET /v1/session/info/:id` — null when unknown. */
  async info(id: string, opts: QueryOptions = {}): Promise<QueryResult<SessionEntry | null>> {
    const res = await this.t.query<SessionEntry[] | null>({ method: 'GET', path: `/v1/session/info/${escapePath(id)}`, query: opts }, { value: null });
    return { value: res.value?.[0] ?? null, meta: res.meta };
  }

  async list(opts: QueryOptions = {}): Promise<QueryResult<SessionEntry[]>> {
    const res = await this.t.query<SessionEntry[] | null>({ method: 'GET', path: '/v1/session/list', query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }

  /** `GET /v1/session/node/:node`. */
  async node(node: string, opts: QueryOptions = {}): Promise<QueryResult<SessionEntry[]>> {
    const res = await this.t.query<SessionEntry[] | null>({ method: 'GET', path: `/v1/session/node/${escapePath(node)}`, query: opts });
    return { value: res.value ?? [], meta: res.meta };
  }
}
