/**
 * Merging the configurations of several providers into one, as Traefik's aggregator does: every router, service,
 * middleware and servers transport is renamed `name@provider`, so two providers never collide, and a reference
 * without `@` resolves within the provider of the element that makes it.
 */
import { emptyDynamicConfig, type DynamicConfig } from './dynamic.ts';

export function qualifyName(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

/** `api@internal` → `internal`; an unqualified name has no provider. */
export function providerOf(qualifiedName: string): string {
  const at = qualifiedName.lastIndexOf('@');
  return at === -1 ? '' : qualifiedName.slice(at + 1);
}

export function mergeConfigurations(byProvider: ReadonlyMap<string, DynamicConfig>): DynamicConfig {
  const merged = emptyDynamicConfig();
  const providers = [...byProvider.keys()].sort();
  for (const provider of providers) {
    const config = byProvider.get(provider)!;
    for (const [name, router] of Object.entries(config.http.routers)) merged.http.routers[qualifyName(name, provider)] = router;
    for (const [name, service] of Object.entries(config.http.services)) merged.http.services[qualifyName(name, provider)] = service;
    for (const [name, middleware] of Object.entries(config.http.middlewares)) merged.http.middlewares[qualifyName(name, provider)] = middleware;
    for (const [name, transport] of Object.entries(config.http.serversTransports)) {
      merged.http.serversTransports[qualifyName(name, provider)] = transport;
    }
    merged.tls.certificates.push(...config.tls.certificates);
    // TLS options keep Traefik's special unqualified `default`; the rest are qualified like everything else.
    for (const [name, options] of Object.entries(config.tls.options)) merged.tls.options[name === 'default' ? name : qualifyName(name, provider)] = options;
    for (const [name, store] of Object.entries(config.tls.stores)) merged.tls.stores[name] = store;
  }
  return merged;
}
