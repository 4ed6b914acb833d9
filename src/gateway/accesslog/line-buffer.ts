/**
 * The access log's pending lines, encoded into a reusable byte buffer as they are logged and handed to the stream
 * as one Buffer at flush. Concatenating the lines into a string and writing that (what it replaced) cost about
 * 2 µs per request in bench/gateway: the stream turned the 64 KiB rope into a fresh Buffer (flatten, then allocate
 * and encode), every 100 lines. Encoding each line into memory that is already there costs a few hundred ns.
 */
import type { Writable } from 'node:stream';

/** Bytes gathered before a write regardless of the line count. */
export const FLUSH_BYTES = 64 * 1024;
/** One buffer: FLUSH_BYTES plus room for the line that crosses it. */
const CHUNK_BYTES = 2 * FLUSH_BYTES;
/** Free buffers kept for reuse (one being written, one being filled is the usual state). */
const MAX_SPARE = 2;

export class LineBuffer {
  private chunk: Buffer | undefined = undefined;
  private used = 0;
  private readonly spare: Buffer[] = [];
  /**
   * Whether a buffer may be refilled once the stream's write callback ran. True only for a file stream we made: its
   * callback runs after the bytes reached the file. A stream given to us (stdout, a test's PassThrough) may still
   * hold the Buffer after its callback, so each flush there hands over a buffer of its own.
   */
  private readonly recycle: boolean;

  constructor(recycle: boolean) {
    this.recycle = recycle;
  }

  /** Pending bytes. */
  get size(): number {
    return this.used;
  }

  /** Appends `line`; writes what is pending first (to `out`) when the line might not fit. */
  append(line: string, out: Writable): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: reserving that much means utf8Write never truncates.
    const worst = line.length * 3;
    if (this.used + worst > CHUNK_BYTES) {
      this.write(out);
      if (worst > CHUNK_BYTES) {
        out.write(line);
        return;
      }
    }
    const chunk = (this.chunk ??= this.spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES));
    this.used += chunk.write(line, this.used, 'utf8');
  }

  /** Hands the pending bytes to `out`. */
  write(out: Writable): void {
    const chunk = this.chunk;
    if (chunk === undefined || this.used === 0) return;
    const bytes = chunk.subarray(0, this.used);
    this.chunk = undefined;
    this.used = 0;
    if (!this.recycle) {
      out.write(bytes);
      return;
    }
    out.write(bytes, () => {
      if (this.spare.length < MAX_SPARE) this.spare.push(chunk);
    });
  }
}
