/**
 * The plain TCP listener of one upstream (`LocalBindAddress:LocalBindPort`): the app connects here and every accepted
 * socket goes to its Upstream. A transparent listener will do the same after mapping a connection's original
 * destination to an Upstream, which is why the Upstream itself knows nothing about listening.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Upstream } from './upstream.ts';

export class UpstreamListener {
  private readonly upstream: Upstream;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private readonly onError: (err: Error) => void;

  /** `onError`: a server error once listening (a failed accept, e.g. EMFILE) — reported, and the listener goes on. */
  constructor(upstream: Upstream, onError: (err: Error) => void) {
    this.upstream = upstream;
    this.onError = onError;
    this.server = createServer({ noDelay: true }, (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.upstream.handleConnection(socket);
    });
  }

  async listen(): Promise<AddressInfo> {
    const { localBindAddress, localBindPort } = this.upstream.spec;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(localBindPort, localBindAddress, () => {
        // The one-shot listener would take the first later error silently and leave the next one unhandled.
        this.server.off('error', reject);
        this.server.on('error', this.onError);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting and closes the app's open connections (close() alone would wait for them). */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    return closed;
  }
}
