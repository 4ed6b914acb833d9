/** `/v1/catalog`: registration writes and the node/service reads (all blocking-capable). */
import type { Transport } from './transport.ts';
import { escapePath } from './transport.ts';
import type {
  CatalogDeregistration, CatalogNode, CatalogNodeServiceList, CatalogRegistration, CatalogService, CatalogServices,
  Node, QueryOptions, QueryResult, WriteOptions,
} from './types.ts';

export class Catalog {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  async register(reg: CatalogRegistration, opts: WriteOptions = {}): Promise<boolean> {
    return (await this.t.write<boolean | null>({ method: 'PUT', path: '/v1/catalog/register', json: reg, write: opts })) !== false;
  }

  async deregister(dereg: CatalogDeregistration, opts: WriteOptions = {}): Promise<boolean> {
    return (await this.t.write<boolean | null>({ method: 'PUT', path: '/v1/catalog/deregister', json: dereg, write: opts })) !== false;
  }

  async datacenters(opts: Pick<QueryOptions, 'token' | 'signal'> = {}): Promise<string[]> {
    return (await this.t.query<string[] | null>({ method: 'GET', path: '/v1/catalog/datacenters', query: opts })).value ?? [];
  }

  async nodes(opts: QueryOptions = {}): Promise<QueryResult<Node[]>> {
    return orEmpty(await this.t.query<Node[] | null>({ method: 'GET', path: '/v1/catalog/nodes', query: opts }));
  }

  /** `GET /v1/catalog/services` — name → tags. */
  async services(opts: QueryOptions = {}): Promise<QueryResult<CatalogServices>> {
    const res = await this.t.query<CatalogServices | null>({ method: 'GET', path: '/v1/catalog/services', query: opts });
    return { value: res.value ?? {}, meta: res.meta };
  }

  /** `GET /v1/catalog/service/:name[?tag=…]` — instances of a service, healthy or not. */
  async service(name: string, opts: QueryOptions & { tag?: string | string[] } = {}): Promise<QueryResult<CatalogService[]>> {
    const { tag, ...query } = opts;
    return orEmpty(await this.t.query<CatalogService[] | null>({
      method: 'GET', path: `/v1/catalog/service/${escapePath(name)}`, params: { tag: tags(tag) }, query,
    }));
  }

  /** `GET /v1/catalog/connect/:name` — Connect-capable instances (proxies and native). */
  async connect(name: string, opts: QueryOptions & { tag?: string | string[] } = {}): Promise<QueryResult<CatalogService[]>> {
    const { tag, ...query } = opts;
    return orEmpty(await this.t.query<CatalogService[] | null>({
      method: 'GET', path: `/v1/catalog/connect/${escapePath(name)}`, params: { tag: tags(tag) }, query,
    }));
  }

  /** `GET /v1/catalog/node/:node` — null when the node is unknown (Consul answers `null` or 404 depending on version). */
  async node(name: string, opts: QueryOptions = {}): Promise<QueryResult<CatalogNode | null>> {
    return this.t.query<CatalogNode | null>({ method: 'GET', path: `/v1/catalog/node/${escapePath(name)}`, query: opts }, { value: null });
  }

  /** `GET /v1/catalog/node-services/:node` — null when the node is unknown. */
  async nodeServices(name: string, opts: QueryOptions = {}): Promise<QueryResult<CatalogNodeServiceList | null>> {
    return this.t.query<CatalogNodeServiceList | null>(
      { method: 'GET', path: `/v1/catalog/node-services/${escapePath(name)}`, query: opts },
      { value: null },
    );
  }
}

export function tags(tag: string | readonly string[] | undefined): readonly string[] | undefined {
  if (tag === undefined) return undefined;
  return typeof tag === 'string' ? [tag] : tag;
}

function orEmpty<T>(res: QueryResult<T[] | null>): QueryResult<T[]> {
  return { value: res.value ?? [], meta: res.meta };
}
