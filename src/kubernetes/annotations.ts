/**
 * The annotations Meshgate reads on Kubernetes objects: consul-k8s's `consul.hashicorp.com/*` keys, so existing
 * manifests work unchanged, and the same keys under `meshgate.io/*` (which win when both are set).
 */
export const CONSUL_PREFIX = 'consul.hashicorp.com/';
export const MESHGATE_PREFIX = 'meshgate.io/';

/** The value of `key` (without prefix) from either prefix; `meshgate.io/` wins. */
export function annotation(annotations: Record<string, string> | undefined, key: string): string | undefined {
  if (!annotations) return undefined;
  return annotations[`${MESHGATE_PREFIX}${key}`] ?? annotations[`${CONSUL_PREFIX}${key}`];
}

/** Every `<prefix><keyPrefix><rest>` annotation as rest → value (e.g. service-meta-<key>), meshgate.io winning. */
export function annotationsWithPrefix(annotations: Record<string, string> | undefined, keyPrefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const prefix of [CONSUL_PREFIX, MESHGATE_PREFIX]) {
    for (const [k, v] of Object.entries(annotations ?? {})) {
      if (k.startsWith(`${prefix}${keyPrefix}`)) out[k.slice(prefix.length + keyPrefix.length)] = v;
    }
  }
  return out;
}

/** consul-k8s's parsetags.ParseTags: comma-separated, trimmed, empty entries dropped, `\,` keeps a literal comma. */
export function parseTags(raw: string): string[] {
  const tags: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\\' && raw[i + 1] === ',') {
      current += ',';
      i++;
    } else if (ch === ',') {
      tags.push(current.trim());
      current = '';
    } else current += ch;
  }
  tags.push(current.trim());
  return tags.filter((t) => t !== '');
}

/** Go's strconv.ParseBool, which consul-k8s uses for boolean annotations. */
export function parseBool(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}
