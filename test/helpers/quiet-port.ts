/**
 * A free loopback port that no `listen(0)` or outgoing connection on this host will be handed while a test holds
 * it unbound. freePort() finds a port by binding port 0 and closing it, so the number comes from the kernel's
 * ephemeral range (ip_local_port_range) — where every other process's `listen(0)` picks at random. A test that
 * names a port in a registration and binds it only later (a proxy's upstream LocalBindPort, moved there by an edit
 * seconds after) can find another test's server on it: the bind waits, and a probe of the port talks to the
 * stranger. Ports below the ephemeral range are never picked by the kernel; only a fixed-port program could hold
 * one. Where the range starts too low to leave room, this is freePort().
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from './server.ts';

const LOWEST = 20_000;
/** Handed out in this process: each call names a port none of the others did (they are all still unbound). */
const given = new Set<number>();

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 0;
  } catch {
    return 0;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function portOutsideEphemeralRange(): Promise<number> {
  const high = ephemeralLow();
  if (high - LOWEST < 1000) return freePort();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if (given.has(port) || !(await canBind(port))) continue;
    given.add(port);
    return port;
  }
  return freePort();
}
