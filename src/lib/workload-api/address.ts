/**
 * A SPIFFE Workload API address as go-spiffe reads it (workloadapi/addr_posix.go parseTargetFromURLAddr, which
 * Traefik's `spiffe.workloadAPIAddr` goes through when it starts): `unix:///absolute/path` (also `unix:/path`) or
 * `tcp://<IP>:<port>` — a host name is refused, as are user info, queries, fragments and a path on tcp. Anything
 * else, a bare `localhost` included, has no tcp:// or unix:// scheme and is refused with go-spiffe's words.
 */
import { isIP } from 'node:net';
import { WorkloadApiErrors } from './errors.ts';

export type WorkloadApiAddress =
  | { readonly kind: 'unix'; readonly path: string; readonly target: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly target: string };

/** Scheme, then either `//authority` + path or an opaque rest, then `?query` and `#fragment` (Go's url.Parse split). */
const URI = /^([A-Za-z][A-Za-z0-9+.-]*):(\/\/([^/?#]*))?([^?#]*)(\?[^#]*)?(#.*)?$/;

export function parseWorkloadApiAddress(addr: string, field = 'workloadAPIAddr'): WorkloadApiAddress {
  const fail = (why: string) => WorkloadApiErrors.address(field, addr, why);
  const m = URI.exec(addr);
  const scheme = m?.[1]?.toLowerCase();
  if (!m || (scheme !== 'unix' && scheme !== 'tcp')) throw fail('workload endpoint socket URI must have a tcp:// or unix:// scheme');
  const authority = m[3] ?? '';
  const path = m[4] ?? '';
  const opaque = m[2] === undefined && path !== '' && !path.startsWith('/');
  const user = authority.includes('@');
  const host = user ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const what = `workload endpoint ${scheme} socket URI`;
  if (opaque) throw fail(`${what} must not be opaque`);
  if (user) throw fail(`${what} must not include user info`);
  if (scheme === 'unix') {
    if (host === '' && path === '') throw fail(`${what} must include a path`);
    // go-spiffe passes a host on to gRPC, whose unix resolver then refuses the non-empty authority: said here at once.
    if (host !== '') throw fail(`${what} must not include a host (unix:///absolute/path)`);
  } else {
    if (host === '') throw fail(`${what} must include a host`);
    if (path !== '') throw fail(`${what} must not include a path`);
  }
  if (m[5] !== undefined) throw fail(`${what} must not include query values`);
  if (m[6] !== undefined) throw fail(`${what} must not include a fragment`);
  if (scheme === 'unix') return { kind: 'unix', path, target: `unix://${path}` };
  const hostPort = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d*))?$/.exec(host);
  const ip = hostPort?.[1] ?? hostPort?.[2] ?? '';
  if (!hostPort || isIP(ip) === 0) throw fail(`${what} host component must be an IP:port`);
  const port = hostPort[3] ?? '';
  if (port === '') throw fail(`${what} host component must include a port`);
  const n = Number(port);
  if (n > 65535) throw fail(`${what} port must be at most 65535`);
  const bracketed = isIP(ip) === 6 ? `[${ip}]` : ip;
  return { kind: 'tcp', host: ip, port: n, target: `${bracketed}:${n}` };
}
