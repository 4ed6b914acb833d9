/**
 * A body relayed between HTTP/2 streams (or an HTTP/1.1 message and a stream) so that its end leaves in the same write
 * as its last bytes — responses and request bodies (a gRPC unary call's one message and its half-close) alike.
 * `pipe` writes each chunk as it comes and ends the destination a tick later, when the source's 'end' is emitted:
 * Node's HTTP/2 then sends the last DATA frame in one send cycle and an empty DATA frame carrying END_STREAM in
 * another — two TLS records, two syscalls and, on the peer, two reads and a second wake-up after the answer was
 * already relayed — on every request (an HTTP/1.1 chunked response likewise writes its `0\r\n\r\n` separately).
 * Here the latest chunk is held for one turn of the event loop: when the upstream's END_STREAM came with it (the
 * usual small answer, one DATA frame), `end(chunk)` sends both at once; otherwise it is written at the end of the
 * turn, so a streaming body (server-sent events, gRPC streams) is never held back longer than that.
 */
import type { Readable, Writable } from 'node:stream';

/** Relays `from` into `to` with backpressure, ending `to` with the last chunk; `counted` sees every chunk's size. */
export function relayBody(from: Readable, to: Writable, counted: (bytes: number) => void): void {
  let held: Buffer | undefined;
  let flush: NodeJS.Immediate | undefined;
  const resume = (): void => {
    from.resume();
  };
  const write = (chunk: Buffer): void => {
    if (to.destroyed || to.writableEnded) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', resume);
    }
  };
  const release = (): void => {
    flush = undefined;
    const chunk = held;
    held = undefined;
    if (chunk) write(chunk);
  };
  from.on('data', (chunk: Buffer) => {
    counted(chunk.length);
    if (held) write(held);
    held = chunk;
    flush ??= setImmediate(release);
  });
  from.once('end', () => {
    if (flush) clearImmediate(flush);
    flush = undefined;
    const chunk = held;
    held = undefined;
    if (to.destroyed || to.writableEnded) return;
    if (chunk) to.end(chunk);
    else to.end();
  });
  // A destination that went away (the caller reset or hung up) releases the source; the callers tear it down.
  to.once('close', () => {
    if (flush) clearImmediate(flush);
    flush = undefined;
    held = undefined;
    to.off('drain', resume);
  });
}
