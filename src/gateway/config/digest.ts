/**
 * A configuration's digest: what the file provider and the aggregator compare to skip a configuration equal to the
 * one applied, instead of keeping its whole JSON text (which kept a replaced 50 MB document alive) and stringifying
 * it in one step on the serving thread. Computed in slices, element by element, and remembered per configuration
 * object (weakly, so it goes with the object); a reader that hashed the document off-thread records its digest.
 */
import { createHash } from 'node:crypto';
import type { Slicer } from '../../lib/slices.ts';
import type { DynamicConfig } from './dynamic.ts';

const digests = new WeakMap<DynamicConfig, string>();

/** Records a digest computed elsewhere (the off-thread reader's); returns `config`. */
export function setConfigDigest(config: DynamicConfig, digest: string): DynamicConfig {
  digests.set(config, digest);
  return config;
}

/** The digest of `config`: equal configurations (same elements, same order) have equal digests. */
export async function configDigest(config: DynamicConfig, slicer: Slicer): Promise<string> {
  const known = digests.get(config);
  if (known !== undefined) return known;
  const hash = createHash('sha256');
  for (const section of ['routers', 'services', 'middlewares', 'serversTransports'] as const) {
    hash.update(`\u0000${section}`);
    const elements = config.http[section] as Record<string, unknown>;
    // Collecting the names of a large section is one step: it starts a turn of its own.
    await slicer.fresh();
    for (const name in elements) {
      // Length-prefixed so no two different element lists hash the same text.
      const text = JSON.stringify(elements[name]);
      hash.update(`${name.length}:${name}${text.length}:${text}`);
      const pending = slicer.tick();
      if (pending) await pending;
    }
  }
  hash.update(`\u0000tls${JSON.stringify(config.tls)}`);
  // A change of the TCP or UDP routing alone is a change too.
  if (config.tcp !== undefined) hash.update(`\u0000tcp${JSON.stringify(config.tcp)}`);
  if (config.udp !== undefined) hash.update(`\u0000udp${JSON.stringify(config.udp)}`);
  const digest = hash.digest('base64url');
  digests.set(config, digest);
  return digest;
}
