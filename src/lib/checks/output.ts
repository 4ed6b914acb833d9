/**
 * Output capture and error text shared by the probes. Consul keeps check output in a 4 KiB circular buffer
 * (the *last* bytes survive) and reports Go's error strings; we keep the same tail and translate Node's socket
 * errors into Go's wording where the meaning is the same, so operators see what Consul would have shown.
 */

/** Consul's checks.DefaultBufSize. */
export const DEFAULT_OUTPUT_MAX_SIZE = 4 * 1024;

/** A circular byte buffer: remembers the last `size` bytes written and how many were written in total. */
export class TailBuffer {
  readonly size: number;
  #chunks: Buffer[] = [];
  #held = 0;
  totalWritten = 0;

  constructor(size: number) {
    this.size = size;
  }

  write(chunk: Buffer): void {
    this.totalWritten += chunk.length;
    this.#chunks.push(chunk);
    this.#held += chunk.length;
    while (this.#held - this.#chunks[0]!.length >= this.size) this.#held -= this.#chunks.shift()!.length;
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.#chunks);
    return all.length > this.size ? all.subarray(all.length - this.size) : all;
  }

  toString(): string {
    return this.bytes().toString('utf8');
  }
}

/** Node's errno codes → Go's syscall error text ("connect: connection refused"). */
const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  ECONNRESET: 'connection reset by peer',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
  EADDRNOTAVAIL: 'connect: cannot assign requested address',
};

/** Go's `dial tcp <addr>: …` error for a failed connect. */
export function dialErrorText(address: string, err: unknown): string {
  const code = errorCode(err);
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || isTimeout(err)) return `dial tcp ${address}: i/o timeout`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dial tcp: lookup ${hostOf(address)}: no such host`;
  if (code && ERRNO_TEXT[code]) return `dial tcp ${address}: ${ERRNO_TEXT[code]}`;
  return `dial tcp ${address}: ${errorMessage(err)}`;
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown };
  if (typeof e.code === 'string') return e.code;
  return e.cause !== undefined ? errorCode(e.cause) : undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isTimeout(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'TimeoutError';
}

/** Splits Go's `host:port` / `[v6]:port` address form. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]*):(\d+)$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1] === '' ? 'localhost' : m[1]!, port };
}

function hostOf(address: string): string {
  return splitHostPort(address)?.host ?? address;
}
