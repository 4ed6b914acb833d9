/** `/v1/status`: the Raft leader's and peers' addresses (an empty leader means none is known). */
import type { Transport } from './transport.ts';
import type { QueryOptions, StatusLeader, StatusPeers } from './types.ts';

export class StatusEndpoint {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  async leader(opts: Pick<QueryOptions, 'token' | 'signal' | 'datacenter'> = {}): Promise<StatusLeader> {
    return (await this.t.query<StatusLeader | null>({ method: 'GET', path: '/v1/status/leader', query: opts })).value ?? '';
  }

  async peers(opts: Pick<QueryOptions, 'token' | 'signal' | 'datacenter'> = {}): Promise<StatusPeers> {
    return (await this.t.query<StatusPeers | null>({ method: 'GET', path: '/v1/status/peers', query: opts })).value ?? [];
  }
}
