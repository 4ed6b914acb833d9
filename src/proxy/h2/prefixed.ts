/**
 * A socket whose first bytes were already read (to tell h2c from HTTP/1.1) handed on as a stream that yields those
 * bytes first. Node's HTTP/2 server reads a net.Socket's handle directly and would miss data put back with
 * `unshift`; given a plain Duplex it reads through JavaScript instead, so the preface is not lost.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';

export function withPrefix(socket: Socket, first: Buffer): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(data: Buffer, _encoding, callback) {
      socket.write(data, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  stream.push(first);
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.once('end', () => stream.push(null));
  socket.once('close', () => stream.destroy());
  socket.on('error', (err) => stream.destroy(err));
  return stream;
}
