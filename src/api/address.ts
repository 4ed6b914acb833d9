/**
 * Where the client connects and with which token, resolved the way Consul's CLI does: explicit option, then the
 * environment (MESHGATE_* before CONSUL_*), then http://127.0.0.1:8500.
 */
import { ApiErrors } from './errors.ts';

export const DEFAULT_HTTP_ADDR = '127.0.0.1:8500';

type Env = Record<string, string | undefined>;

export function addressFromEnv(env: Env = process.env): string | undefined {
  return nonEmpty(env.MESHGATE_HTTP_ADDR) ?? nonEmpty(env.CONSUL_HTTP_ADDR);
}

export function tokenFromEnv(env: Env = process.env): string | undefined {
  return nonEmpty(env.MESHGATE_HTTP_TOKEN) ?? nonEmpty(env.CONSUL_HTTP_TOKEN);
}

/**
 * Turns `host:port`, `http://host:port` or `https://host:port[/prefix]` into a base URL without a trailing slash.
 * `CONSUL_HTTP_SSL=true` picks https for a scheme-less address, as Consul's CLI does.
 */
export function normalizeAddress(address: string, env: Env = process.env): string {
  const input = address.trim();
  if (!input) throw ApiErrors.address(address, 'empty');
  if (input.startsWith('unix://')) throw ApiErrors.address(address, 'unix sockets are not supported');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? '' : env.CONSUL_HTTP_SSL === 'true' ? 'https://' : 'http://';
  let url: URL;
  try {
    url = new URL(scheme + input);
  } catch {
    throw ApiErrors.address(address, 'not a URL or HOST:PORT');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw ApiErrors.address(address, `unsupported scheme ${url.protocol}`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
