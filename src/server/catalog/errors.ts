/**
 * The catalog's coded errors, in Consul's words (agent/consul/catalog_endpoint.go, agent/consul/state/catalog.go,
 * agent/agent_endpoint.go). Consul answers the state-store refusals ("Missing node registration") with a 500
 * because its RPC errors are untyped; they are client errors, so Meshgate answers 400 with the same text.
 */
import { defineError } from '../../lib/errors.ts';

export const CatalogErrors = {
  invalid: defineError('MG_CATALOG_INVALID', 400, (message: string) => message),
  missingNode: defineError('MG_CATALOG_MISSING_NODE', 400, (what: 'service' | 'check') => `failed inserting ${what}: Missing node registration`),
  missingService: defineError('MG_CATALOG_MISSING_SERVICE', 400, () => 'failed inserting check: Missing service registration'),
  unknownService: defineError(
    'MG_AGENT_UNKNOWN_SERVICE',
    404,
    (id: string) => `Unknown service ID ${JSON.stringify(id)}. Ensure that the service ID is passed, not the service name.`,
  ),
  unknownCheck: defineError(
    'MG_AGENT_UNKNOWN_CHECK',
    404,
    (id: string) => `Unknown check ID ${JSON.stringify(id)}. Ensure that the check ID is passed, not the check name.`,
  ),
  serviceNotFound: defineError('MG_AGENT_SERVICE_NOT_FOUND', 404, (id: string) => `unknown service ID: ${id}`),
  noServiceForMaintenance: defineError('MG_AGENT_NO_SERVICE', 404, (id: string) => `No service registered with ID ${JSON.stringify(id)}`),
} as const;
