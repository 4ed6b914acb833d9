/**
 * Joining two sockets for an L4 connection: bytes flow both ways with backpressure (stream.pipe), a half-close is
 * passed on (allowHalfOpen), and an error or close on either side tears both down. Counts bytes for the metrics.
 */
import type { Socket } from 'node:net';

export interface PipeResult {
  /** Bytes read from `a` (and written to `b`). */
  readonly aToB: number;
  readonly bToA: number;
}

export function joinSockets(a: Socket, b: Socket): Promise<PipeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      a.destroy();
      b.destroy();
      resolve({ aToB: a.bytesRead, bToA: b.bytesRead });
    };
    a.on('error', finish);
    b.on('error', finish);
    a.on('close', finish);
    b.on('close', finish);
    a.pipe(b);
    b.pipe(a);
  });
}
