/**
 * Which names a Tailscale resolver asks tailscaled for (Traefik's pkg/provider/tailscale findDomains and
 * sanitizeDomains): for each router naming the resolver, the `main` of every `tls.domains` entry (a Tailscale
 * certificate has one name, so SANs are ignored), else every `Host` (HTTP) or `HostSNI` (TCP) name of its rule — each
 * its own certificate. Only `<machine>.<tailnet>.ts.net` names are kept (isTailscaleDomain: four labels ending in
 * `ts.net`); the others are returned apart so the resolver can say so once.
 */
import type { DynamicConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import { resolverRequests } from '../acme/domains.ts';

/** Traefik's isTailscaleDomain: `machine-name.domains-alias.ts.net`. */
export function isTailscaleDomain(domain: string): boolean {
  const labels = domain.split('.');
  return labels.length === 4 && labels[2] === 'ts' && labels[3] === 'net' && labels[0] !== '' && labels[1] !== '';
}

export interface TailscaleDomains {
  /** Distinct Tailscale names, in the order routers asked for them. */
  readonly domains: string[];
  /** Names the routers asked for that tailscaled cannot have a certificate for. */
  readonly refused: string[];
}

export function tailscaleDomains(config: DynamicConfig, staticConfig: StaticConfig, resolver: string): TailscaleDomains {
  const domains = new Set<string>();
  const refused = new Set<string>();
  for (const request of resolverRequests(config, staticConfig, resolver)) {
    const names = request.domains ? request.domains.map((d) => d.main) : request.ruleNames;
    for (const raw of names) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      (isTailscaleDomain(name) ? domains : refused).add(name);
    }
  }
  return { domains: [...domains], refused: [...refused] };
}
