/** `/v1/health`: service entries with their checks, and check lists by service, node or state. */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import { tags } from './catalog.ts';
import type { HealthCheck, HealthServiceOptions, HealthStatus, QueryOptions, QueryResult, ServiceEntry } from './types.ts';

export class Health {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  /** `GET /v1/health/service/:name[?passing][&tag=…]`. */
  async service(name: string, opts: QueryOptions & HealthServiceOptions = {}): Promise<QueryResult<ServiceEntry[]>> {
    return this.entries(`/v1/health/service/${escapePath(name)}`, opts);
  }

  /** `GET /v1/health/connect/:name` — the Connect-capable instances (sidecars) of a service. */
  async connect(name: string, opts: QueryOptions & HealthServiceOptions = {}): Promise<QueryResult<ServiceEntry[]>> {
    return this.entries(`/v1/health/connect/${escapePath(name)}`, opts);
  }

  async checks(service: string, opts: QueryOptions = {}): Promise<QueryResult<HealthCheck[]>> {
    return this.checkList(`/v1/health/checks/${escapePath(service)}`, opts);
  }

  async node(node: string, opts: QueryOptions = {}): Promise<QueryResult<HealthCheck[]>> {
    return this.checkList(`/v1/health/node/${escapePath(node)}`, opts);
  }

  /** `GET /v1/health/state/:state` — `any`, `passing`, `warning` or `critical`. */
  async state(state: Exclude<HealthStatus, 'maintenance'>, opts: QueryOptions = {}): Promise<QueryResult<HealthCheck[]>> {
    return this.checkList(`/v1/health/state/${state}`, opts);
  }

  private async entries(path: string, opts: QueryOptions & HealthServiceOptions): Promise<QueryResult<ServiceEntry[]>> {
    const { passing, tag, ...query } = opts;
    const res = await this.t.query<ServiceEntry[] | null>({ method: 'GET', path, params: { passing, tag: tags(tag) }, query });
    return { value: res.value ?? [], meta: res.meta };
  }

  private async checkList(path: string, query: QueryOptions): Promise<QueryResult<HealthCheck[]>> {
    const res = await this.t.query<HealthCheck[] | null>({ method: 'GET', path, query });
    return { value: res.value ?? [], meta: res.meta };
  }
}
