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

/** A router (HTTP or TCP) whose TLS names a resolver: its `tls.domains` when it has some, else the names of its rule. */
export interface ResolverRequest {
  readonly domains?: readonly AcmeDomain[];
  /** `Host` names of an HTTP rule, `HostSNI` names of a TCP rule, lower-case, in rule order (when no `domains`). */
  readonly ruleNames: readonly string[];
}

/** The routers of `config` that ask `resolver` for certificates (gateway/acme and gateway/tailscale share this). */
export function resolverRequests(config: DynamicConfig, staticConfig: StaticConfig, resolver: string): ResolverRequest[] {
  const out: ResolverRequest[] = [];
  const fromTls = (tls: { domains?: Array<{ main?: string; sans?: string[] }> }, ruleNames: () => string[]) => {
    if (tls.domains && tls.domains.length > 0) {
      out.push({ domains: tls.domains.flatMap((d) => (d.main ? [{ main: d.main, ...(d.sans ? { sans: d.sans } : {}) }] : [])), ruleNames: [] });
    } else {
      out.push({ ruleNames: ruleNames() });
    }
  };
  const defaults = defaultEntryPoints(staticConfig);
  for (const router of Object.values(config.http.routers)) {
    const entryPoints = router.entryPoints && router.entryPoints.length > 0 ? router.entryPoints : defaults;
    const tls: RouterTlsConfig | undefined = router.tls ?? entryPoints.map((ep) => staticConfig.entryPoints[ep]?.http?.tls).find((t) => t !== undefined);
    if (tls?.certResolver === resolver) fromTls(tls, () => ruleHosts(router.rule ?? ''));
  }
  for (const raw of Object.values(config.tcp?.routers ?? {})) {
    // Validated when it was loaded; only the rule and tls block matter here.
    const router = raw as { rule?: string; tls?: { certResolver?: string; domains?: Array<{ main?: string; sans?: string[] }> } };
    if (router.tls?.certResolver === resolver) fromTls(router.tls, () => hostSniNames(router.rule ?? ''));
  }
  return out;
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
  for (const request of resolverRequests(config, staticConfig, resolver)) {
    if (request.domains) for (const d of request.domains) add(d);
    else if (request.ruleNames.length > 0) add({ main: request.ruleNames[0]!, sans: request.ruleNames.slice(1) });
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
