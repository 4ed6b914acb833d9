/**
 * Which certificates a resolver must hold for a configuration (Traefik's ACME provider watchNewDomains): every HTTP
 * router whose `tls.certResolver` names it — its own `tls` block, else its entry point's `http.tls` (Traefik applies
 * the entry point's TLS model to routers without one) — asks for each of its `tls.domains` (main + SANs), or, without
 * domains, for one certificate whose main name is the first `Host` of its rule and whose SANs are the others
 * (Traefik's ParseDomains; HostRegexp names nothing).
 */
import type { DynamicConfig, RouterTlsConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import { defaultEntryPoints } from '../runtime/router-manager.ts';
import { ruleHosts } from '../runtime/tls-manager.ts';
import type { AcmeDomain } from './stored.ts';

export function requestedDomains(config: DynamicConfig, staticConfig: StaticConfig, resolver: string): AcmeDomain[] {
  const out = new Map<string, AcmeDomain>();
  const add = (domain: AcmeDomain) => {
    const main = domain.main.trim().toLowerCase().replace(/\.$/, '');
    if (main === '') return;
    const sans = [...new Set((domain.sans ?? []).map((s) => s.trim().toLowerCase().replace(/\.$/, '')).filter((s) => s !== '' && s !== main))];
    const key = [main, ...sans].join(',');
    if (!out.has(key)) out.set(key, sans.length > 0 ? { main, sans } : { main });
  };
  const defaults = defaultEntryPoints(staticConfig);
  for (const router of Object.values(config.http.routers)) {
    const entryPoints = router.entryPoints && router.entryPoints.length > 0 ? router.entryPoints : defaults;
    const tls: RouterTlsConfig | undefined = router.tls ?? entryPoints.map((ep) => staticConfig.entryPoints[ep]?.http?.tls).find((t) => t !== undefined);
    if (tls?.certResolver !== resolver) continue;
    if (tls.domains && tls.domains.length > 0) {
      for (const d of tls.domains) if (d.main) add({ main: d.main, ...(d.sans ? { sans: d.sans } : {}) });
      continue;
    }
    const hosts = ruleHosts(router.rule ?? '');
    if (hosts.length > 0) add({ main: hosts[0]!, sans: hosts.slice(1) });
  }
  return [...out.values()];
}
