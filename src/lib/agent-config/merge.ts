/**
 * Merging configuration files in the order read, as Consul's config Merge does (agent/config/merge.go): blocks
 * merge key by key, a later file's value wins, lists append (`services`, `checks`, `retry_join` collect from every
 * file), and a user-keyed map (MAP_KEYS) is replaced whole by a later non-empty one.
 */
import { MAP_KEYS, type AgentConfig } from './schema.ts';

export function mergeConfigs(files: readonly AgentConfig[]): AgentConfig {
  let out: Record<string, unknown> = {};
  for (const file of files) out = mergeValue(out, file as Record<string, unknown>, '') as Record<string, unknown>;
  return out as AgentConfig;
}

function mergeValue(a: unknown, b: unknown, path: string): unknown {
  if (b === undefined) return a;
  if (a === undefined) return b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (isBlock(a) && isBlock(b)) {
    if (MAP_KEYS.has(path)) return Object.keys(b).length > 0 ? b : a;
    const out: Record<string, unknown> = { ...a };
    for (const [key, value] of Object.entries(b)) out[key] = mergeValue(a[key], value, path === '' ? key : `${path}.${key}`);
    return out;
  }
  return b;
}

function isBlock(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
