/**
 * Free ports for the mesh benchmark's children that are told their port in advance (nginx, the sidecars).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const handedOut = new Set<number>();
const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

/**
 * A free port for a child that is told its port in advance. Not `listen(0)`: that hands out a port from the kernel's
 * ephemeral range, which the same kernel may give a moment later as the source port of any outgoing connection on
 * this busy host (wrk's, a proxy's) — the child then fails with EADDRINUSE. Ports below the ephemeral range are
 * only ever taken by listeners; each is probed by binding and never handed out twice by this process.
 */
export async function freeListenPort(): Promise<number> {
  const high = Math.min(ephemeralLow ?? 32768, 32768);
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * (high - 20000));
    if (handedOut.has(p)) continue;
    const free = await new Promise<boolean>((done) => {
      const s = createServer().once('error', () => done(false)).listen(p, '127.0.0.1', () => s.close(() => done(true)));
    });
    if (!free) continue;
    handedOut.add(p);
    return p;
  }
}
