/**
 * Where the app runs. The same build is served by the server at /ui/ and by the gateway at /dashboard/; the serving
 * process writes a <base href> into index.html, and everything here derives from it: the app's own path prefix,
 * which process served it, and the API origins it reads (the served process's own API is same-origin; the other's
 * can be set in the settings, stored in localStorage).
 */
export type ServedBy = 'server' | 'gateway';

/** The mount path with a trailing slash: `/ui/`, `/dashboard/`, `/prefix/dashboard/`. */
export const MOUNT: string = new URL(document.baseURI).pathname.replace(/\/?$/, '/');

export const SERVED_BY: ServedBy = /\/dashboard\/$/.test(MOUNT) ? 'gateway' : 'server';

const CONSUL_URL_KEY = 'meshgate.consulUrl';
const GATEWAY_URL_KEY = 'meshgate.gatewayUrl';

function stored(key: string): string | undefined {
  try {
    const value = localStorage.getItem(key);
    return value ? value.replace(/\/+$/, '') : undefined;
  } catch {
    // Storage can be disabled (privacy settings); the defaults below still work.
    return undefined;
  }
}

/**
 * The Consul API's origin+prefix, '' for same-origin. Served by the gateway, `/v1` is expected to be routed to the
 * server on the same entry point (a file-provider router), so same-origin is the default there too.
 */
export function consulBase(): string {
  return stored(CONSUL_URL_KEY) ?? '';
}

/** The gateway API's prefix: the dashboard's parent path when the gateway serves the app (Traefik's api.basePath). */
export function gatewayBase(): string | undefined {
  const configured = stored(GATEWAY_URL_KEY);
  if (configured !== undefined) return configured;
  if (SERVED_BY === 'gateway') return MOUNT.replace(/dashboard\/$/, '').replace(/\/$/, '');
  return undefined;
}

export function setBackendUrl(which: 'consul' | 'gateway', url: string): void {
  const key = which === 'consul' ? CONSUL_URL_KEY : GATEWAY_URL_KEY;
  try {
    if (url.trim() === '') localStorage.removeItem(key);
    else localStorage.setItem(key, url.trim());
  } catch {
    // Nothing to keep it in; the caller shows the value it set for this page view only.
  }
}
