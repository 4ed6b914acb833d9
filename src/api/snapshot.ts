/**
 * `/v1/snapshot`: save streams the server's archive of its whole state, restore sends one back, as Consul's
 * `api/snapshot.go` (`Save` returns the body as a stream with its QueryMeta, `Restore` takes a reader). The archive
 * is opaque here: it is written to and read from files byte for byte.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import type { Transport } from './transport.ts';
import type { QueryMeta, QueryOptions, WriteOptions } from './types.ts';

export class SnapshotEndpoint {
  private readonly t: Transport;
  constructor(transport: Transport) {
    this.t = transport;
  }

  /** The archive as a stream, and the index it was taken at (`meta.LastIndex`). `stale` lets any server answer. */
  async save(opts: Pick<QueryOptions, 'token' | 'signal' | 'datacenter' | 'stale'> = {}): Promise<{ value: Readable; meta: QueryMeta }> {
    const { body, meta } = await this.t.stream({ method: 'GET', path: '/v1/snapshot', query: opts });
    const value = body ? Readable.fromWeb(body as NodeWebStream<Uint8Array>) : Readable.from([]);
    return { value, meta };
  }

  /** Replaces the server's whole state by the archive's. */
  async restore(archive: AsyncIterable<Uint8Array> | Uint8Array, opts: WriteOptions = {}): Promise<void> {
    const upload = archive instanceof Uint8Array ? Readable.from([archive]) : archive;
    const { body } = await this.t.stream({ method: 'PUT', path: '/v1/snapshot', write: opts }, upload);
    await body?.cancel();
  }
}
