/**
 * Routes of Consul's community-edition HTTP API (its Go `api` package) that Meshgate does not serve yet, answered
 * on purpose instead of as unknown paths, so a client learns why:
 *
 * - ACL endpoints answer as a Consul agent with ACLs disabled does (agent/acl_endpoint.go aclDisabled):
 *   401 "ACL support disabled" — clients (Nomad, consul-template, the Go api) already know that answer;
 * - every other one answers 501 with MG_NOT_SUPPORTED's text naming the route and the reason.
 *
 * They are registered after every real endpoint; the router keeps the first registration of a method and pattern,
 * so a family implemented later takes its routes over without touching this list (and test/server/routes.test.ts
 * then tells to mark them served). Enterprise-only routes (namespaces, partitions, license, areas, segments…) are
 * not listed: Consul CE does not register them either, and answers them as unknown paths (404).
 */
import type { ApiRouter } from '../http/router.ts';
import { defineError } from '../../lib/errors.ts';

export const ErrNotSupported = defineError('MG_NOT_SUPPORTED', 501, (method: string, route: string, reason: string) =>
  `${method} ${route} is not supported by Meshgate: ${reason}`);
export const ErrAclDisabled = defineError('MG_ACL_DISABLED', 401, () => 'ACL support disabled');

const ACL = 'ACL support disabled';
const CONNECT_CA = 'the Connect CA is not implemented yet';
const PEERING = 'cluster peering is not implemented';
const GOSSIP = 'there is no gossip pool, so no gossip encryption keyring';
const RAFT = 'Meshgate has no Raft peers: replicas share their store through etcd';
const MESH = 'service-mesh gateways are not implemented yet';

/** [method, pattern, reason]; the reason ACL means Consul's ACLs-disabled answer. */
export const UNSUPPORTED_ROUTES: ReadonlyArray<readonly [string, string, string]> = [
  // The ACL routes served by endpoints/acl.ts (tokens, policies, roles, bootstrap, translate) answer 401 themselves
  // when ACLs are off; these are the rest.
  ...(['GET:/v1/acl/replication',
    'PUT:/v1/acl/auth-method', 'GET:/v1/acl/auth-methods', 'GET:/v1/acl/auth-method/:name', 'PUT:/v1/acl/auth-method/:name',
    'DELETE:/v1/acl/auth-method/:name',
    'PUT:/v1/acl/binding-rule', 'GET:/v1/acl/binding-rules', 'GET:/v1/acl/binding-rule/:id', 'PUT:/v1/acl/binding-rule/:id',
    'DELETE:/v1/acl/binding-rule/:id',
    'POST:/v1/acl/login', 'POST:/v1/acl/logout', 'POST:/v1/acl/oidc/auth-url', 'POST:/v1/acl/oidc/callback',
    'GET:/v1/acl/templated-policies', 'GET:/v1/acl/templated-policy/name/:name', 'POST:/v1/acl/templated-policy/preview/:name',
    'PUT:/v1/agent/token/:type',
  ] as const).map((r) => [r.slice(0, r.indexOf(':')), r.slice(r.indexOf(':') + 1), ACL] as const),
  ['GET', '/v1/connect/ca/roots', CONNECT_CA],
  ['GET', '/v1/connect/ca/configuration', CONNECT_CA],
  ['PUT', '/v1/connect/ca/configuration', CONNECT_CA],
  ['GET', '/v1/agent/connect/ca/roots', CONNECT_CA],
  ['GET', '/v1/agent/connect/ca/leaf/*service', CONNECT_CA],
  ['POST', '/v1/peering/token', PEERING],
  ['POST', '/v1/peering/establish', PEERING],
  ['GET', '/v1/peering/:name', PEERING],
  ['DELETE', '/v1/peering/:name', PEERING],
  ['GET', '/v1/peerings', PEERING],
  ['GET', '/v1/exported-services', PEERING],
  ['GET', '/v1/imported-services', PEERING],
  ['GET', '/v1/operator/keyring', GOSSIP],
  ['POST', '/v1/operator/keyring', GOSSIP],
  ['PUT', '/v1/operator/keyring', GOSSIP],
  ['DELETE', '/v1/operator/keyring', GOSSIP],
  ['DELETE', '/v1/operator/raft/peer', RAFT],
  ['POST', '/v1/operator/raft/transfer-leader', RAFT],
  ['GET', '/v1/catalog/gateway-services/*gateway', MESH],
  ['GET', '/v1/health/ingress/*service', MESH],
  ['PUT', '/v1/internal/service-virtual-ip', 'virtual IPs belong to transparent proxying, which is not implemented yet'],
  ['GET', '/v1/agent/metrics/stream', 'metrics are served by GET /v1/agent/metrics (Prometheus or JSON); the streamed form is not'],
  ['GET', '/v1/operator/features', 'feature gates are not part of Meshgate'],
  ['GET', '/v1/operator/feature/:name', 'feature gates are not part of Meshgate'],
  ['PUT', '/v1/operator/feature/:name', 'feature gates are not part of Meshgate'],
];

export function registerUnsupportedEndpoints(api: ApiRouter): void {
  for (const [method, pattern, reason] of UNSUPPORTED_ROUTES) {
    api.add(method, pattern, () => {
      if (reason === ACL) throw ErrAclDisabled();
      throw ErrNotSupported(method, pattern, reason);
    });
  }
}
