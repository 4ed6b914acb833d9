/**
 * /v1/status/leader and /v1/status/peers. A single embedded server is its own leader; the address is the
 * server RPC address Consul would print (host:8300), which clients only display.
 */
import type { ApiRouter } from '../http/router.ts';
import type { ServerDeps } from '../deps.ts';

export function registerStatusEndpoints(api: ApiRouter, deps: ServerDeps): void {
  const self = `${deps.identity.address}:8300`;
  api.get('/v1/status/leader', () => ({ body: self }));
  api.get('/v1/status/peers', () => ({ body: [self] }));
}
