/** Traefik's static `entryPoints.<name>` block (defined in config/schema/entrypoint.ts) and its address syntax. */
// One definition, in the configuration layer (config/schema/entrypoint.ts); the entry points read it from there.
export { ENTRYPOINT_DEFAULTS, entryPointSchema, type EntryPointConfig } from '../config/schema/entrypoint.ts';

/** The protocol suffix of an address (Traefik's GetProtocol): ":53/udp" is UDP, ":80" and ":80/tcp" TCP. */
export function addressProtocol(address: string): 'tcp' | 'udp' {
  const slash = address.indexOf('/');
  if (slash === -1) return 'tcp';
  const protocol = address.slice(slash + 1).toLowerCase();
  if (protocol === 'tcp' || protocol === 'udp') return protocol;
  throw new Error(`entry point address "${address}": invalid protocol: ${address.slice(slash + 1)}`);
}

/** ":8000" → all interfaces; "127.0.0.1:8000"; "[::1]:8000"; a "/tcp" or "/udp" suffix is the protocol's. */
export function parseAddress(withProtocol: string): { host: string | undefined; port: number } {
  const slash = withProtocol.indexOf('/');
  const address = slash === -1 ? withProtocol : withProtocol.slice(0, slash);
  const colon = address.lastIndexOf(':');
  if (colon === -1) throw new Error(`entry point address "${address}" needs a port`);
  let host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`entry point address "${address}": bad port`);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? undefined : host, port };
}
