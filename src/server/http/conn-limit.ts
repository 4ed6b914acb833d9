/**
 * Consul's limits.http_max_conns_per_client: how many connections one client IP may hold open to the HTTP(S) API
 * at once. A connection beyond it is answered `429 Too Many Requests` and closed, as Consul's connlimit handler
 * does (agent/agent.go: HTTPConnStateFuncWithDefault429Handler). Counting happens per listener's accepted sockets;
 * for HTTPS the answer goes out after the handshake, so the client can read it.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const TOO_MANY = 'HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

export function limitConnectionsPerClient(server: Server, max: number, tls: boolean): void {
  // Prototype-free: the key is a remote address, data from the network.
  const open: Record<string, number> = Object.create(null) as Record<string, number>;
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    const ip = socket.remoteAddress ?? '';
    const count = (open[ip] ?? 0) + 1;
    if (count > max) {
      socket.end(TOO_MANY);
      socket.destroySoon();
      return;
    }
    open[ip] = count;
    socket.once('close', () => {
      const left = (open[ip] ?? 1) - 1;
      if (left <= 0) delete open[ip];
      else open[ip] = left;
    });
  });
}
