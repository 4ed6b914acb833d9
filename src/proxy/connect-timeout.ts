/**
 * The local app's connect timeout, checked after the loop has polled I/O (lib/poll-timeout.ts): a loopback connect
 * that completed while the process was held up past the timeout is not cut.
 */
import type { Socket } from 'node:net';
import { dialDeadline, timeoutAfterPoll } from '../lib/poll-timeout.ts';

export function armConnectTimeout(socket: Socket, ms: number, onTimeout: () => void): void {
  if (!socket.connecting) return;
  const timeout = timeoutAfterPoll(ms, () => {
    if (socket.connecting && !socket.destroyed) onTimeout();
  });
  socket.once('connect', timeout.clear);
  socket.once('close', timeout.clear);
}

/** The mTLS dial's deadline (lib/poll-timeout.ts dialDeadline); returns the function that disarms it. */
export function armDialDeadline(ms: number, onTimeout: () => void): () => void {
  return dialDeadline(ms, onTimeout).clear;
}
