/**
 * Merging the configurations of several providers into one, as Traefik's aggregator does: every router, service,
 * middleware and servers transport is renamed `name@provider`, so two providers never collide, and a reference
 * without `@` resolves within the provider of the element that makes it.
 */
import { NameRecorder, namesSliced, nearTableGrowth, NEVER_YIELD, type Slicer } from '../../lib/slices.ts';
import { emptyDynamicConfig, type DynamicConfig } from './dynamic.ts';

export function qualifyName(name: string, provider: string): string {
  return name.includes('@') ? name : `${name}@${provider}`;
}

/** A reference made by element `owner` (`name@provider`): without `@`, it resolves in the owner's provider. */
export function qualifyIn(name: string, owner: string): string {
  if (name.includes('@')) return name;
  const at = owner.lastIndexOf('@');
  return at === -1 ? name : `${name}${owner.slice(at)}`;
}

/** `api@internal` → `internal`; an unqualified name has no provider. */
export function providerOf(qualifiedName: string): string {
  const at = qualifiedName.lastIndexOf('@');
  return at === -1 ? '' : qualifiedName.slice(at + 1);
}

/** `mergeConfigurationsSliced` in one step (small configurations, tests). */
export function mergeConfigurations(byProvider: ReadonlyMap<string, DynamicConfig>): DynamicConfig {
  const merged = emptyDynamicConfig();
  for (const provider of [...byProvider.keys()].sort()) {
    const config = byProvider.get(provider)!;
    mergeSection(merged.http.routers, config.http.routers, provider);
    mergeSection(merged.http.services, config.http.services, provider);
    mergeSection(merged.http.middlewares, config.http.middlewares, provider);
    mergeSection(merged.http.serversTransports, config.http.serversTransports, provider);
    mergeTls(merged, config, provider);
    mergeTcpUdp(merged, config, provider);
  }
  return merged;
}

/**
 * Merges the providers' configurations, giving the event loop way between slices. `counts.routers` receives the
 * merged HTTP routers' number, counted on the way (counting afterwards would enumerate the section once more).
 */
export async function mergeConfigurationsSliced(
  byProvider: ReadonlyMap<string, DynamicConfig>,
  slicer: Slicer = NEVER_YIELD,
  counts?: { routers: number },
): Promise<DynamicConfig> {
  const merged = emptyDynamicConfig();
  // The merged sections' names, recorded for the build and whoever walks them next (no enumeration of 50,000 names).
  const sections = ['routers', 'services', 'middlewares', 'serversTransports'] as const;
  const recorders = sections.map(() => new NameRecorder());
  for (const provider of [...byProvider.keys()].sort()) {
    const config = byProvider.get(provider)!;
    for (let i = 0; i < sections.length; i++) {
      const section = sections[i]!;
      await mergeSectionSliced(merged.http[section] as Record<string, unknown>, config.http[section] as Record<string, unknown>, provider, recorders[i]!, slicer);
    }
    mergeTls(merged, config, provider);
    mergeTcpUdp(merged, config, provider);
  }
  sections.forEach((section, i) => recorders[i]!.record(merged.http[section]));
  if (counts) counts.routers = recorders[0]!.names.length;
  return merged;
}

/** `tcp` and `udp` are merged like `http`; they are small, so in one step. */
function mergeTcpUdp(merged: DynamicConfig, config: DynamicConfig, provider: string): void {
  if (config.tcp !== undefined) {
    const tcp = (merged.tcp ??= { routers: {}, services: {}, middlewares: {}, serversTransports: {} });
    mergeSection(tcp.routers, config.tcp.routers, provider);
    mergeSection(tcp.services, config.tcp.services, provider);
    mergeSection(tcp.middlewares, config.tcp.middlewares, provider);
    mergeSection(tcp.serversTransports, config.tcp.serversTransports, provider);
  }
  if (config.udp !== undefined) {
    const udp = (merged.udp ??= { routers: {}, services: {} });
    mergeSection(udp.routers, config.udp.routers, provider);
    mergeSection(udp.services, config.udp.services, provider);
  }
}

function mergeSection<T>(into: Record<string, T>, from: Record<string, T>, provider: string): void {
  for (const name in from) into[qualifyName(name, provider)] = from[name]!;
}

/** Adds `from`'s elements to `into` under qualified names; `recorder` gets the names `into` gains. */
async function mergeSectionSliced<T>(into: Record<string, T>, from: Record<string, T>, provider: string, recorder: NameRecorder, slicer: Slicer): Promise<void> {
  // The reader recorded a large section's names; otherwise collecting them is one step, on a turn of its own.
  const names = await namesSliced(from, slicer);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const qualified = qualifyName(name, provider);
    if (!Object.hasOwn(into, qualified)) {
      // Growing a large section is one step: on a turn of its own.
      if (nearTableGrowth(recorder.names.length)) await slicer.fresh();
      recorder.add(qualified);
    }
    into[qualified] = from[name]!;
    const pending = slicer.tick();
    if (pending) await pending;
  }
}

function mergeTls(merged: DynamicConfig, config: DynamicConfig, provider: string): void {
  merged.tls.certificates.push(...config.tls.certificates);
  // TLS options keep Traefik's special unqualified `default`; the rest are qualified like everything else.
  for (const [name, options] of Object.entries(config.tls.options)) merged.tls.options[name === 'default' ? name : qualifyName(name, provider)] = options;
  // Stores are not qualified: defined, not assigned, so a store named `__proto__` is an entry, never the prototype.
  for (const [name, store] of Object.entries(config.tls.stores)) {
    Object.defineProperty(merged.tls.stores, name, { value: store, enumerable: true, writable: true, configurable: true });
  }
}
