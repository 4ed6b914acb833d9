/** Errors of the ACME certificate resolvers; each names the resolver, and the domains when an order is about them. */
import { defineError } from '../../lib/errors.ts';

export const AcmeErrors = {
  /** The CA refused or failed an order (challenge invalid, rate limit, CA unreachable); retried at the next check. */
  order: defineError('MG_GATEWAY_ACME_ORDER', 502, (resolver: string, domains: string, detail: string) => `certificatesResolvers.${resolver}: unable to obtain a certificate for ${domains}: ${detail}`),
  /** A domain this resolver cannot order (a wildcard needs dnsChallenge, which Meshgate does not support). */
  domain: defineError('MG_GATEWAY_ACME_DOMAIN', 400, (resolver: string, domain: string, detail: string) => `certificatesResolvers.${resolver}: domain "${domain}": ${detail}`),
  /** The storage (acme.json or the KV prefix) cannot be read or written. */
  storage: defineError('MG_GATEWAY_ACME_STORAGE', 500, (resolver: string, storage: string, detail: string) => `certificatesResolvers.${resolver}.acme.storage (${storage}): ${detail}`),
} as const;
