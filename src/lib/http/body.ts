/**
 * Reading a request body into memory with a byte limit, for the few places that must hold a whole body (gateway
 * buffering, retry, forwardAuth's forwardBody). Past the limit reading stops and the rest is drained, so the
 * caller can answer 413 on a connection that stays usable; nothing past the limit is kept.
 */
import type { Readable } from 'node:stream';

export interface LimitedBody {
  /** The bytes read (at most `limit` when it overflowed). */
  body: Buffer;
  /** The body was longer than `limit`. */
  overflow: boolean;
}

/** Reads `stream` to its end; `limit` ≤ 0 means no limit. */
export async function readBodyLimited(stream: Readable, limit = 0): Promise<LimitedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn false: leaving the loop early must not destroy the request (and with it the connection the
  // caller still has to answer 413 on).
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    if (limit > 0 && size + buf.length > limit) {
      stream.resume();
      return { body: Buffer.concat(chunks, size), overflow: true };
    }
    size += buf.length;
    chunks.push(buf);
  }
  return { body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), overflow: false };
}
