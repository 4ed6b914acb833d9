/**
 * The address a redirected connection was originally sent to. An iptables REDIRECT rewrites the destination to the
 * proxy's listener; the kernel remembers the original in its connection-tracking entry. Envoy asks for it with
 * `getsockopt(SO_ORIGINAL_DST)`, which Node does not expose. Meshgate reads the same conntrack entry instead, with
 * no native code: `/proc/net/nf_conntrack` (per network namespace, as /proc/net follows the reader's namespace) when
 * the kernel provides it, else the `conntrack` tool (netlink; Debian package `conntrack`).
 *
 * The entry of a redirected connection looks like
 *   ipv4 2 tcp 6 431999 ESTABLISHED src=A dst=B sport=X dport=80 src=L dst=A sport=15001 dport=X [ASSURED] …
 * — the first tuple is the original (A:X → B:80), the second the reply as the proxy sees it (L:15001 → A:X). The
 * accepted socket's (local, remote) pair is the reply tuple's (src, dst), so the match is exact.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, read as readCallback } from 'node:fs';
import { promisify } from 'node:util';
import { unmapIpv4 } from '../../lib/ip/address.ts';

const run = promisify(execFile);
const read = promisify(readCallback);
export const CONNTRACK_PROC_FILE = '/proc/net/nf_conntrack';

export interface SocketEndpoints {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

export interface OriginalDestination {
  address: string;
  port: number;
}

interface Tuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** The original and reply tuples of one conntrack line (proc or `conntrack -L` format); undefined for non-TCP. */
export function parseConntrackLine(line: string): { original: Tuple; reply: Tuple } | undefined {
  if (!/\btcp\b/.test(line)) return undefined;
  const fields: Array<Record<string, string>> = [{}];
  for (const token of line.split(/\s+/)) {
    const eq = token.indexOf('=');
    if (eq <= 0) continue;
    const key = token.slice(0, eq);
    let current = fields[fields.length - 1]!;
    // A repeated key starts the next tuple (src= appears once per direction).
    if (key in current && (key === 'src' || key === 'dst' || key === 'sport' || key === 'dport')) {
      current = {};
      fields.push(current);
    }
    current[key] = token.slice(eq + 1);
  }
  const tuple = (f: Record<string, string> | undefined): Tuple | undefined =>
    f && f['src'] && f['dst'] && f['sport'] && f['dport'] ? { src: f['src'], dst: f['dst'], sport: Number(f['sport']), dport: Number(f['dport']) } : undefined;
  const original = tuple(fields[0]);
  const reply = tuple(fields[1]);
  return original && reply ? { original, reply } : undefined;
}

/** Finds the original destination for `socket` in conntrack text (many lines). */
export function findOriginalDestination(text: string, socket: SocketEndpoints): OriginalDestination | undefined {
  const local = unmapIpv4(socket.localAddress);
  const remote = unmapIpv4(socket.remoteAddress);
  const needle = `sport=${socket.localPort} dport=${socket.remotePort}`;
  for (const line of text.split('\n')) {
    if (!line.includes(needle)) continue;
    const entry = parseConntrackLine(line);
    if (!entry) continue;
    const { reply, original } = entry;
    if (reply.src === local && reply.sport === socket.localPort && reply.dst === remote && reply.dport === socket.remotePort) {
      return { address: original.dst, port: original.dport };
    }
  }
  return undefined;
}

export interface ConntrackOptions {
  /** Override the proc file (tests). */
  procFile?: string;
  /** Override the conntrack binary (tests); default `conntrack` from PATH. */
  conntrack?: string;
}

/**
 * A handle on the kernel's connection-tracking table. `/proc/net/nf_conntrack` is readable by root only, while the
 * sidecar must run as its own unprivileged UID (the capture rules exclude that UID). So the proxy opens the table
 * while it is still root and keeps the descriptor after dropping to the proxy UID (`dropPrivileges`), the way a
 * server binds port 80 before setuid: the permission check happens at open, and a seq_file read from offset 0
 * restarts the table's walk every time. Without the proc file (kernel built without it) or without root, lookups
 * use the `conntrack` tool, which needs CAP_NET_ADMIN.
 */
export class ConntrackTable {
  readonly source: 'proc' | 'tool';
  readonly #fd: number | undefined;
  readonly #tool: string;

  private constructor(fd: number | undefined, tool: string) {
    this.#fd = fd;
    this.#tool = tool;
    this.source = fd === undefined ? 'tool' : 'proc';
  }

  static open(options: ConntrackOptions = {}): ConntrackTable {
    const tool = options.conntrack ?? 'conntrack';
    try {
      return new ConntrackTable(openSync(options.procFile ?? CONNTRACK_PROC_FILE, 'r'), tool);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EPERM') throw err;
      return new ConntrackTable(undefined, tool);
    }
  }

  /** The whole table as text (proc format or `conntrack -L` format; the parser takes both). */
  async #entries(socket: SocketEndpoints): Promise<string> {
    if (this.#fd === undefined) {
      // Filtered to this reply tuple in the kernel, so the answer is a line or two whatever the table's size.
      const { stdout } = await run(this.#tool, [
        '-L', '-p', 'tcp', '--reply-port-src', String(socket.localPort), '--reply-port-dst', String(socket.remotePort),
      ], { timeout: 5_000 });
      return stdout;
    }
    const chunks: Buffer[] = [];
    let position = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await read(this.#fd, buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    return Buffer.concat(chunks).toString('latin1');
  }

  /**
   * The original destination of an accepted, redirected connection; undefined when no conntrack entry matches (the
   * connection was not redirected — someone dialled the listener directly).
   */
  async lookup(socket: SocketEndpoints): Promise<OriginalDestination | undefined> {
    return findOriginalDestination(await this.#entries(socket), socket);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
  }
}

/** setgid/setuid to the proxy's user once everything privileged (conntrack, low ports) is open. */
export function dropPrivileges(uid: number, gid: number = uid): void {
  if (process.getuid?.() !== 0) return;
  process.setgroups?.([gid]);
  process.setgid?.(gid);
  process.setuid?.(uid);
}
