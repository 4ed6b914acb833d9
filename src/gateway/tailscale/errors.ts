/** Errors of the Tailscale certificate resolvers; each names the resolver and the domain it is about. */
import { defineError } from '../../lib/errors.ts';

export const TailscaleErrors = {
  /** tailscaled unreachable, refusing (403 without operator rights) or answering something that is not a key and certificate. */
  fetch: defineError('MG_GATEWAY_TAILSCALE_CERT', 502, (resolver: string, domain: string, socket: string, detail: string) =>
    `certificatesResolvers.${resolver}.tailscale: unable to fetch a certificate for "${domain}" from tailscaled (${socket}): ${detail}`),
  /** A router asks for a name that is not `<machine>.<tailnet>.ts.net`, the only names tailscaled has certificates for. */
  domain: defineError('MG_GATEWAY_TAILSCALE_DOMAIN', 400, (resolver: string, domain: string) =>
    `certificatesResolvers.${resolver}.tailscale: domain "${domain}" is not a valid Tailscale domain (<machine>.<tailnet>.ts.net); not asked for`),
} as const;
