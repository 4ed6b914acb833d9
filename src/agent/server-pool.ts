/**
 * The servers the agent talks to (`-retry-join`, repeatable): one is current; a transport failure moves to the next,
 * the way a Consul client agent's router rotates to another server when an RPC fails. Each caller gets a client for
 * the current server with the token it asks for.
 */
import { ConsulClient } from '../api/client.ts';
import { isTransportError } from '../api/errors.ts';
import { AgentErrors } from './errors.ts';

export class ServerPool {
  readonly #addresses: readonly string[];
  readonly #clients: ConsulClient[];
  #current = 0;

  constructor(addresses: readonly string[], datacenter?: string) {
    if (addresses.length === 0) throw AgentErrors.invalid('-retry-join: at least one server address is required');
    this.#addresses = addresses;
    this.#clients = addresses.map((address) => new ConsulClient({ address, env: {}, ...(datacenter ? { datacenter } : {}) }));
  }

  /** The client of the current server (tokens are passed per call). */
  client(): ConsulClient {
    return this.#clients[this.#current]!;
  }

  /** Base URL of the current server, e.g. `http://127.0.0.1:8500`. */
  address(): string {
    return this.client().address;
  }

  /** Runs `fn` against the current server, moving to the next one on a transport failure, each at most once. */
  async run<T>(fn: (client: ConsulClient) => Promise<T>): Promise<T> {
    let lastErr: Error | undefined;
    for (let attempt = 0; attempt < this.#clients.length; attempt++) {
      const client = this.client();
      try {
        return await fn(client);
      } catch (err) {
        if (!isTransportError(err)) throw err;
        lastErr = err;
        this.rotate(client);
      }
    }
    throw lastErr ?? AgentErrors.noServer(this.#addresses.join(', '));
  }

  /** Moves on from `failed` (unless another caller already did). */
  rotate(failed?: ConsulClient): void {
    if (failed && this.client() !== failed) return;
    this.#current = (this.#current + 1) % this.#clients.length;
  }
}
