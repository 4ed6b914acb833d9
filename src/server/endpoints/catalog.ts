/** /v1/catalog/* endpoints. (Being written; see the server README.) */
import type { ApiRouter } from '../http/router.ts';
import type { ServerDeps } from '../deps.ts';

export function registerCatalogEndpoints(_api: ApiRouter, _deps: ServerDeps): void | Promise<void> {}
