/**
 * TCP middlewares (Traefik's pkg/middlewares/tcp): `ipAllowList` closes connections whose client address is not in
 * `sourceRange`; `inFlightConn` closes a connection beyond `amount` open at once from one client IP. Each returned
 * middleware keeps its own state (one per middleware, shared by the routers that use it, as in Traefik).
 */
import { IpSet } from '../../lib/ip/checker.ts';
import { tcpMiddlewareSchema } from '../config/schema/tcp.ts';
import type { TcpMiddleware } from './types.ts';

export function buildTcpMiddleware(name: string, raw: unknown): TcpMiddleware {
  const config = tcpMiddlewareSchema.parse(raw);
  if (config.ipAllowList !== undefined) {
    const allowed = new IpSet(config.ipAllowList.sourceRange, `tcp.middlewares.${name}.ipAllowList.sourceRange`);
    return (next) => (conn) => {
      if (allowed.contains(conn.remoteAddress)) next(conn);
      else conn.socket.destroy();
    };
  }
  const amount = config.inFlightConn!.amount;
  const open = new Map<string, number>();
  return (next) => (conn) => {
    const ip = conn.remoteAddress;
    const count = open.get(ip) ?? 0;
    if (count >= amount) {
      conn.socket.destroy();
      return;
    }
    open.set(ip, count + 1);
    conn.socket.once('close', () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left <= 0) open.delete(ip);
      else open.set(ip, left);
    });
    next(conn);
  };
}
