/**
 * The local app's connect timeout, checked after the loop has polled I/O (lib/poll-timeout.ts): a loopback connect
 * that completed while the process was held up past the timeout is not cut.
 */
import type { Socket } from 'node:net';
import { timeoutAfterPoll } from '../lib/poll-timeout.ts';

export function armConnectTimeout(socket: Socket, ms: number, onTimeout: () => void): void {
  if (!socket.connecting) return;
  const timeout = timeoutAfterPoll(ms, () => {
    if (socket.connecting && !socket.destroyed) onTimeout();
  });
  socket.once('connect', timeout.clear);
  socket.once('close', timeout.clear);
}

/**
 * A dial deadline (TCP connect plus TLS handshake) that counts only time the event loop was running. A timer armed
 * before a long synchronous turn fires as soon as the turn ends, before the loop has polled the connect and the
 * peer's handshake answer that arrived meanwhile; and a TLS dial needs more than the one poll that
 * armConnectTimeout waits for (the ClientHello may only leave after the connect is seen, the peer's flight comes back
 * a round trip later). So when the timer fires late — the loop was held up past the deadline — the lateness is
 * credited back as a new window (at most `ms` in all, so a dial ends by about twice its timeout whatever the loop
 * does), and only a timer that fires on time, checked once more after that turn's poll, is a verdict.
 * Returns the function that disarms it.
 */
export function armDialDeadline(ms: number, onTimeout: () => void): () => void {
  let credit = ms;
  let done = false;
  let deadline = performance.now() + ms;
  const fire = (): void => {
    if (done) return;
    const now = performance.now();
    const late = Math.min(now - deadline, credit);
    if (late >= 1) {
      credit -= late;
      deadline = now + late;
      timer = setTimeout(fire, late);
      timer.unref();
      return;
    }
    setImmediate(() => {
      if (!done) onTimeout();
    });
  };
  let timer = setTimeout(fire, ms);
  // The deadline is no reason for the process to stay up (a socket's own timeout is not either).
  timer.unref();
  return () => {
    done = true;
    clearTimeout(timer);
  };
}
