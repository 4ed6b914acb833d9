/**
 * A connect timeout that a held-up event loop cannot fake. When the loop was held up past the timeout (a GC pause, a
 * process starved of CPU on a loaded host), Node runs the expired timers of the next turn before it polls the I/O that
 * completed meanwhile, so a plain socket timer called a connect that finished long ago pending and cut it. The timer's
 * verdict is checked once more from setImmediate, which runs after that turn's poll: only a socket still connecting
 * then has timed out.
 */
import type { Socket } from 'node:net';

export function armConnectTimeout(socket: Socket, ms: number, onTimeout: () => void): void {
  if (!socket.connecting) return;
  const timer = setTimeout(() => setImmediate(() => {
    if (socket.connecting && !socket.destroyed) onTimeout();
  }), ms);
  // The timeout is no reason for the process to stay up (a socket's own timeout is not either).
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  socket.once('connect', clear);
  socket.once('close', clear);
}
