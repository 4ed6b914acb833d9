/**
 * Which certificates a resolver must hold for a configuration (Traefik's ACME provider watchNewDomains): every HTTP
 * router whose `tls.certResolver` names it — its own `tls` block, else its entry point's `http.tls` (Traefik applies
 * the entry point's TLS model to routers without one) — asks for each of its `tls.domains` (main + SANs), or, without
 * domains, for one certificate whose main name is the first `Host` of its rule and whose SANs are the others
 * (Traefik's ParseDomains; HostRegexp names nothing). A TCP router with `tls.certResolver` asks the same way, from
 * its `HostSNI` names (Traefik's ParseHostSNI; `*` names nothing). A TLS store's `defaultGeneratedCert` naming the
 * resolver asks for its `domain`.
 */
import type { DynamicConfig, RouterTlsConfig } from '../config/dynamic.ts';
import type { StaticConfig } from '../config/static.ts';
import { defaultEntryPoints } from '../runtime/router-manager.ts';
import { ruleHosts } from '../runtime/tls-manager.ts';
import { matcherVocabulary, parseRuleSyntaxWith, type RuleNode } from '../rules/index.ts';
import { TCP_MATCHERS } from '../tcp/rules.ts';
import type { AcmeDomain } from './stored.ts';

const TCP_VOCABULARY = matcherVocabulary(TCP_MATCHERS, 'Traefik v3 TCP matchers');

/** The `HostSNI` names of a TCP rule (not under `!`, not `*`), lower-case; none when the rule does not parse. */
export function hostSniNames(rule: string): string[] {
  let tree: RuleNode;
  try {
    tree = parseRuleSyntaxWith(rule, TCP_VOCABULARY);
  } catch {
    // The TCP router reports its own rule error; it asks for no certificate.
    return [];
  }
  const names: string[] = [];
  const walk = (node: RuleNode): void => {
    if (node.kind === 'matcher') { if (node.name === ('HostSNI' as string)) names.push(...node.args.filter((a) => a !== '*').map((a) => a.toLowerCase())); }
    else if (node.kind !== 'not') { walk(node.left); walk(node.right); }
  };
  walk(tree);
  return names;
}

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
  for (const raw of Object.values(config.tcp?.routers ?? {})) {
    // Validated when it was loaded; only the rule and tls block matter here.
    const router = raw as { rule?: string; tls?: { certResolver?: string; domains?: Array<{ main?: string; sans?: string[] }> } };
    const tls = router.tls;
    if (tls?.certResolver !== resolver) continue;
    if (tls.domains && tls.domains.length > 0) {
      for (const d of tls.domains) if (d.main) add({ main: d.main, ...(d.sans ? { sans: d.sans } : {}) });
      continue;
    }
    const names = hostSniNames(router.rule ?? '');
    if (names.length > 0) add({ main: names[0]!, sans: names.slice(1) });
  }
  // A store's defaultGeneratedCert naming this resolver asks for its domain like a router's tls.domains — unless the
  // store has its own defaultCertificate, which takes precedence (Traefik's provider.go watchNewDomains).
  for (const raw of Object.values(config.tls.stores)) {
    // Validated when it was loaded (config/dynamic.ts).
    const store = raw as { defaultCertificate?: unknown; defaultGeneratedCert?: { resolver: string; domain: { main: string; sans?: string[] } } };
    const generated = store.defaultGeneratedCert;
    if (generated === undefined || store.defaultCertificate !== undefined || generated.resolver !== resolver) continue;
    add({ main: generated.domain.main, ...(generated.domain.sans ? { sans: generated.domain.sans } : {}) });
  }
  return [...out.values()];
}
