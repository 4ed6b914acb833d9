/** Traefik's static `entryPoints.<name>` block (defined in config/schema/entrypoint.ts) and its address syntax. */
// One definition, in the configuration layer (config/schema/entrypoint.ts); the entry points read it from there.
export { ENTRYPOINT_DEFAULTS, entryPointSchema, type EntryPointConfig } from '../config/schema/entrypoint.ts';

/** ":8000" → all interfaces; "127.0.0.1:8000"; "[::1]:8000". */
export function parseAddress(address: string): { host: string | undefined; port: number } {
  const colon = address.lastIndexOf(':');
  if (colon === -1) throw new Error(`entry point address "${address}" needs a port`);
  let host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`entry point address "${address}": bad port`);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? undefined : host, port };
}
